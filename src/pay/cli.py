"""The `pay` command: run the whole system, or one service, and the operator's tools."""

import asyncio
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import psutil
import structlog
import typer
from rich.console import Console
from rich.table import Table

from pay.platform import auth
from pay.platform.infra import EmbeddedNats, EmbeddedPostgres
from pay.platform.migrations import upgrade
from pay.platform.provisioning import ensure_database, service_database_url
from pay.platform.serve import serve as serve_service
from pay.platform.settings import Settings
from pay.platform.supervisor import ServiceProcessSpec, ServiceStartError, StartupInterrupted, Supervisor

# Every service `pay up` runs, in start order, with the package that holds its `app.create_app`.
SERVICES: dict[str, str] = {
    "bank": "pay.bank",
    "membership": "pay.membership",
}
SERVICE_TOKEN_TTL = timedelta(days=30)

app = typer.Typer(help="Pay: a simple-payment platform as Python microservices.", no_args_is_help=True)
console = Console()

DataDir = Annotated[Path, typer.Option("--data-dir", help="Where keys, databases, broker state and logs live.")]
ServiceName = Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVICES)}")]


@contextmanager
def _infrastructure(data_dir: Path, database_url: str | None, broker_url: str | None) -> Iterator[tuple[str, str]]:
    """The PostgreSQL server URL and broker URL to use: external ones if given, else embedded ones."""
    with ExitStack() as stack:
        if database_url is None:
            postgres = EmbeddedPostgres(data_dir).start()
            stack.callback(postgres.stop)
            database_url = postgres.url("postgres")
        if broker_url is None:
            nats = EmbeddedNats(data_dir).start()
            stack.callback(nats.stop)
            broker_url = nats.url
        yield database_url, broker_url


def _prepare_databases(server_url: str, services: list[str]) -> dict[str, str]:
    urls = {}
    for service in services:
        database = f"pay_{service.replace('-', '_')}"
        asyncio.run(ensure_database(server_url, database))
        urls[service] = service_database_url(server_url, database)
        upgrade(SERVICES[service], urls[service])
    return urls


def _quiet_logs() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.getLogger("alembic").setLevel(logging.WARNING)


@app.command()
def up(
    data_dir: DataDir = Path(".pay"),
    database_url: Annotated[
        str | None, typer.Option(help="An external PostgreSQL server (any database on it); one database per service.")
    ] = None,
    broker_url: Annotated[str | None, typer.Option(help="An external NATS server with JetStream.")] = None,
    port_offset: Annotated[int, typer.Option(help="Added to every service's default port.")] = 0,
) -> None:
    """Start the whole system: PostgreSQL, NATS, every service. Ctrl-C stops it all."""
    _quiet_logs()
    started = time.monotonic()
    data_dir = data_dir.resolve()
    keys_dir = data_dir / "keys"
    auth.ensure_signing_keys(keys_dir)
    issuer = auth.TokenIssuer((keys_dir / auth.PRIVATE_KEY_FILE).read_text(), SERVICE_TOKEN_TTL)
    supervisor = Supervisor(data_dir / "logs")
    supervisor.install_signal_handlers()
    with _infrastructure(data_dir, database_url, broker_url) as (server_url, broker):
        console.print("[bold]Pay[/bold] infrastructure is up; migrating the databases…")
        database_urls = _prepare_databases(server_url, list(SERVICES))
        settings = Settings(data_dir=data_dir, port_offset=port_offset)
        specs = [
            ServiceProcessSpec(
                name=service,
                port=settings.port_of(service),
                command=[sys.executable, "-m", "pay.cli", "serve", service],
                env={
                    "PAY_SERVICE": service,
                    "PAY_DATA_DIR": str(data_dir),
                    "PAY_DATABASE_URL": database_urls[service],
                    "PAY_BROKER_URL": broker,
                    "PAY_PORT_OFFSET": str(port_offset),
                    "PAY_SERVICE_TOKEN": issuer.issue(service, auth.Role.SERVICE),
                },
            )
            for service in SERVICES
        ]
        try:
            supervisor.start_all(specs)
        except StartupInterrupted:
            return
        except ServiceStartError as error:
            console.print(f"[red]{error}[/red]")
            raise typer.Exit(1) from error
        _print_ready(specs, data_dir, time.monotonic() - started, supervisor.pids())
        died = supervisor.wait()
        if died is not None:
            console.print(f"[red]{died} stopped unexpectedly; see {data_dir / 'logs' / died}.log[/red]")
            raise typer.Exit(1)
    console.print("Pay stopped.")


def _print_ready(specs: list[ServiceProcessSpec], data_dir: Path, seconds: float, pids: dict[str, int]) -> None:
    table = Table(title=f"Pay is ready in {seconds:.1f} s")
    for column in ("service", "API", "Swagger", "RSS MiB"):
        table.add_column(column)
    for spec in specs:
        base = f"http://127.0.0.1:{spec.port}"
        rss = psutil.Process(pids[spec.name]).memory_info().rss / 2**20 if spec.name in pids else 0.0
        table.add_row(spec.name, base, f"{base}/docs", f"{rss:.0f}")
    console.print(table)
    console.print(f"Logs: {data_dir / 'logs'}. Press Ctrl-C to stop.")


@app.command()
def serve(
    service: ServiceName,
    port: Annotated[int | None, typer.Option(help="Defaults to the service's SPEC port plus PAY_PORT_OFFSET.")] = None,
) -> None:
    """Run one service (what a container runs). Settings come from PAY_* variables."""
    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}")
    settings = Settings(service=service)
    serve_service(SERVICES[service], settings, port or settings.port_of(service))


@app.command()
def migrate(service: ServiceName) -> None:
    """Bring one service's database (PAY_DATABASE_URL) to the newest schema."""
    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}")
    upgrade(SERVICES[service], Settings().database_url)


@app.command()
def token(
    subject: Annotated[str, typer.Argument(help="The service name or membership id the token speaks for.")],
    role: Annotated[auth.Role, typer.Option()] = auth.Role.SERVICE,
    days: Annotated[int, typer.Option(min=1, max=365)] = 30,
    data_dir: DataDir = Path(".pay"),
) -> None:
    """Print a signed access token, e.g. a service credential (PAY_SERVICE_TOKEN) for `pay serve`."""
    settings = Settings(data_dir=data_dir)
    private_key = settings.jwt_private_key.get_secret_value() if settings.jwt_private_key else None
    issuer = auth.TokenIssuer(auth.read_private_key(settings.keys_dir, private_key), timedelta(days=days))
    typer.echo(issuer.issue(subject, role))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
