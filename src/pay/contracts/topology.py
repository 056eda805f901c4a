"""Where each service listens by default (SPEC "Default ports")."""

DEFAULT_PORTS: dict[str, int] = {
    "gateway": 8080,
    "membership": 8081,
    "banking": 8082,
    "money": 8083,
    "remittance": 8084,
    "payment": 8085,
    "franchise": 8086,
    "money-query": 8087,
    "settlement": 8088,
    "money-aggregation": 8089,
    "bank": 8090,
    "notification": 8091,
}
