"""The `pay` command: run the whole system, or one service, and the operator's tools."""

import asyncio
import base64
import logging
import os
import runpy
import secrets
import socket
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
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from pay.contracts.clients import MoneyClient, MoneyQueryClient
from pay.contracts.money import RebuildCheck
from pay.contracts.money_query import QueryRebuild
from pay.docs import documents
from pay.logs import Level, LogFilter, follow, pretty
from pay.platform import auth
from pay.platform.broker import BrokerUnreachable, redacted
from pay.platform.infra import EmbeddedNats, EmbeddedPostgres
from pay.platform.migrations import upgrade
from pay.platform.provisioning import ensure_database, service_database_url
from pay.platform.serve import serve as serve_service
from pay.platform.settings import Settings
from pay.platform.supervisor import ServiceProcessSpec, ServiceStartError, StartupInterrupted, Supervisor
from pay.reconcile import reconcile_platform

# Every service `pay up` runs, in start order, with the package that holds its `app.create_app`.
SERVICES: dict[str, str] = {
    "bank": "pay.bank",
    "membership": "pay.membership",
    "banking": "pay.banking",
    "money": "pay.money",
    "remittance": "pay.remittance",
    "franchise": "pay.franchise",
    "payment": "pay.payment",
    "settlement": "pay.settlement",
    "money-query": "pay.money_query",
    "money-aggregation": "pay.money_aggregation",
    "notification": "pay.notification",
}
# The one origin in front of the services: it keeps no data, so it has no database, and `pay up` starts it
# once every service it forwards to is ready.
GATEWAY = "gateway"
SERVED: dict[str, str] = {**SERVICES, GATEWAY: "pay.gateway"}
SERVICE_TOKEN_TTL = timedelta(days=30)
# The checkout this package runs from: its bench/ and docs/.
CHECKOUT = Path(__file__).resolve().parents[2]

app = typer.Typer(help="Pay: a simple-payment platform as Python microservices.", no_args_is_help=True)
console = Console()

DataDir = Annotated[Path, typer.Option("--data-dir", help="Where keys, databases, broker state and logs live.")]
ServiceName = Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVED)}")]


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
    broker_url: Annotated[
        str | None,
        typer.Option(
            envvar="PAY_BROKER_URL",
            help="An external broker: NATS with JetStream (nats://…), RabbitMQ (amqp://…) or Kafka (kafka://…). "
            "RabbitMQ and Kafka also need PAY_CACHE_URL=redis://….",
        ),
    ] = None,
    port_offset: Annotated[int, typer.Option(help="Added to every service's default port.")] = 0,
    workers: Annotated[
        list[str] | None, typer.Option(help="Processes for a service, as SERVICE=N, e.g. `--workers money=2`.")
    ] = None,
) -> None:
    """Start the whole system: PostgreSQL, NATS, every service. Ctrl-C stops it all.

    A service that dies is restarted; one that keeps crashing stops the system.
    """
    processes = parse_workers(workers or [])
    _quiet_logs()
    started = time.monotonic()
    try:
        settings = Settings(data_dir=data_dir.resolve(), port_offset=port_offset, broker_url=broker_url or "")
    except ValidationError as error:
        console.print(f"[red]{error.errors()[0]['msg'].removeprefix('Value error, ')}[/red]", soft_wrap=True)
        raise typer.Exit(1) from error
    if taken := [service for service in SERVED if _is_listened_on(settings.host, settings.port_of(service))]:
        port = settings.port_of(taken[0])
        console.print(
            f"[red]Port {port}, {taken[0]}'s, is taken: is another `pay up` running? Stop it, or move every "
            f"port with --port-offset.[/red]"
        )
        raise typer.Exit(1)
    data_dir = settings.data_dir
    auth.ensure_signing_keys(settings.keys_dir)
    issuer = auth.TokenIssuer(auth.read_private_key(settings.keys_dir, settings.jwt_private_key), SERVICE_TOKEN_TTL)
    # Log tails hold brackets that are not rich markup, and lines that read better unbroken.
    supervisor = Supervisor(
        data_dir / "logs", report=lambda message: console.print(message, markup=False, soft_wrap=True)
    )
    supervisor.install_signal_handlers()
    with _infrastructure(data_dir, database_url, broker_url) as (server_url, broker):
        console.print("[bold]Pay[/bold] infrastructure is up; migrating the databases…")
        database_urls = _prepare_databases(server_url, list(SERVICES))
        specs = [
            ServiceProcessSpec(
                name=service,
                port=settings.port_of(service),
                command=[sys.executable, "-m", "pay.cli", "serve", service],
                env={
                    "PAY_SERVICE": service,
                    "PAY_DATA_DIR": str(data_dir),
                    "PAY_DATABASE_URL": database_urls.get(service, ""),
                    "PAY_BROKER_URL": broker,
                    "PAY_PORT_OFFSET": str(port_offset),
                    "PAY_SERVICE_TOKEN": issuer.issue(service, auth.Role.SERVICE),
                    "PAY_WORKERS": str(processes.get(service, 1)),
                },
            )
            for service in SERVED
        ]
        try:
            supervisor.start_all([spec for spec in specs if spec.name != GATEWAY])
            supervisor.start_all([spec for spec in specs if spec.name == GATEWAY])
        except StartupInterrupted:
            return
        except ServiceStartError as error:
            console.print(f"[red]{error}[/red]")
            raise typer.Exit(1) from error
        _print_ready(specs, data_dir, time.monotonic() - started, supervisor.pids())
        crash_looped = supervisor.wait()
        if crash_looped is not None:
            console.print(f"[red]{crash_looped} kept crashing; see {data_dir / 'logs' / crash_looped}.log[/red]")
            raise typer.Exit(1)
    console.print("Pay stopped.")


def _is_listened_on(host: str, port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) == 0


def parse_workers(options: list[str]) -> dict[str, int]:
    counts = {}
    for option in options:
        service, _, count = option.partition("=")
        if service not in SERVED or not count.isdigit() or not 1 <= int(count) <= 16:
            raise typer.BadParameter(f"{option!r}: expected SERVICE=N with a known service and 1 <= N <= 16")
        counts[service] = int(count)
    return counts


def _print_ready(specs: list[ServiceProcessSpec], data_dir: Path, seconds: float, pids: dict[str, int]) -> None:
    table = Table(title=f"Pay is ready in {seconds:.1f} s")
    for column in ("service", "API", "Swagger", "RSS MiB"):
        table.add_column(column)
    for spec in specs:
        base = f"http://127.0.0.1:{spec.port}"
        rss = psutil.Process(pids[spec.name]).memory_info().rss / 2**20 if spec.name in pids else 0.0
        table.add_row(spec.name, base, "" if spec.name == GATEWAY else f"{base}/docs", f"{rss:.0f}")
    console.print(table)
    console.print(f"Logs: {data_dir / 'logs'}. Press Ctrl-C to stop.")


@app.command()
def serve(
    service: ServiceName,
    port: Annotated[int | None, typer.Option(help="Defaults to the service's SPEC port plus PAY_PORT_OFFSET.")] = None,
) -> None:
    """Run one service (what a container runs). Settings come from PAY_* variables."""
    if service not in SERVED:
        raise typer.BadParameter(f"unknown service {service!r}")
    settings = Settings(service=service)
    serve_service(SERVED[service], settings, port or settings.port_of(service))


@app.command()
def migrate(service: ServiceName) -> None:
    """Bring one service's database (PAY_DATABASE_URL) to the newest schema, creating it first if it is missing
    (from the server's `postgres` database), as `pay up` does for every service."""
    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}")
    url = Settings().database_url
    database = make_url(url).database
    if not database:
        raise typer.BadParameter(f"PAY_DATABASE_URL names no database for {service}")
    asyncio.run(ensure_database(service_database_url(url, "postgres"), database))
    upgrade(SERVICES[service], url)


@app.command()
def token(
    subject: Annotated[str, typer.Argument(help="The service name or membership id the token speaks for.")],
    role: Annotated[auth.Role, typer.Option()] = auth.Role.SERVICE,
    days: Annotated[int, typer.Option(min=1, max=365)] = 30,
    data_dir: DataDir = Path(".pay"),
) -> None:
    """Print a signed access token, e.g. a service credential (PAY_SERVICE_TOKEN) for `pay serve`."""
    settings = Settings(data_dir=data_dir)
    issuer = auth.TokenIssuer(auth.read_private_key(settings.keys_dir, settings.jwt_private_key), timedelta(days=days))
    typer.echo(issuer.issue(subject, role))


# What `pay keys` writes, each file the value of the setting named beside it (`PAY_<SETTING>_FILE`).
SEALING_KEY_FILES = ("email-encryption-key", "email-index-key", "webhook-secret-key")
ADMIN_PASSWORD_FILE = "admin-password"
# The Kubernetes CronJob that has the gateway reconcile (deploy/kubernetes) speaks for itself, with a token of its own.
RECONCILE_JOB = "reconcile"


@app.command()
def keys(
    directory: Annotated[Path, typer.Argument(help="Where to write them; created if missing.")],
    days: Annotated[int, typer.Option(min=1, max=365, help="How long the service tokens are good for.")] = 30,
) -> None:
    """Write the secrets a cluster's services read from files (`PAY_*_FILE`): the signing key pair, the keys that
    seal data at rest, an admin password, a service token per service, and one for the reconcile CronJob.

    Keys and password already there are kept (data sealed under them stays readable); the tokens are issued
    anew each time, so run it again before they expire.
    """
    auth.ensure_signing_keys(directory)
    for name in SEALING_KEY_FILES:
        auth.write_secret_file(directory / name, base64.b64encode(secrets.token_bytes(32)))
    auth.write_secret_file(directory / ADMIN_PASSWORD_FILE, secrets.token_urlsafe(24).encode())
    issuer = auth.TokenIssuer((directory / auth.PRIVATE_KEY_FILE).read_text(), timedelta(days=days))
    for subject in (*SERVED, RECONCILE_JOB):
        token_file = directory / f"{subject}.token"
        token_file.unlink(missing_ok=True)
        auth.write_secret_file(token_file, issuer.issue(subject, auth.Role.SERVICE).encode())
    typer.echo(f"Keys, admin password and service tokens good for {days} days are in {directory}.")


money_app = typer.Typer(help="Operator tools for the money service.", no_args_is_help=True)
app.add_typer(money_app, name="money")
PortOffset = Annotated[int, typer.Option(help="The --port-offset `pay up` was started with.")]


def _operator_settings(data_dir: Path, port_offset: int) -> tuple[Settings, str]:
    """Settings for talking to a running system, and a short-lived service credential for it."""
    settings = Settings(data_dir=data_dir.resolve(), port_offset=port_offset)
    issuer = auth.TokenIssuer(auth.read_private_key(settings.keys_dir, settings.jwt_private_key), timedelta(minutes=10))
    return settings, issuer.issue("operator", auth.Role.SERVICE)


@money_app.command("rebuild")
def money_rebuild(data_dir: DataDir = Path(".pay"), port_offset: PortOffset = 0) -> None:
    """Recompute every wallet from its journal and report any difference from the stored balance; check that
    every ledger transaction balances across wallets, payables, revenue and the bank."""
    settings, credential = _operator_settings(data_dir, port_offset)

    async def check() -> RebuildCheck:
        async with MoneyClient(settings.url_of("money"), token=credential, timeout=120) as money:
            return await money.rebuild_check()

    report = asyncio.run(check())
    for difference in report.differences:
        console.print(
            f"[red]{difference.membership_id}[/red]: stored balance {difference.stored_balance} held "
            f"{difference.stored_held} v{difference.stored_version}, journal gives {difference.rebuilt_balance} "
            f"held {difference.rebuilt_held} v{difference.rebuilt_version}"
        )
    console.print(f"{report.wallets_checked} wallets rebuilt from their journals, {len(report.differences)} differ.")
    for unbalanced in report.unbalanced:
        console.print(
            f"[red]{unbalanced.ledger_transaction_id}[/red]: puts {unbalanced.off_by} won into wallets, payables and "
            "revenue beyond what it moved at the bank"
        )
    console.print(
        f"{report.ledger_transactions_checked} ledger transactions checked across wallets, payables, revenue and "
        f"the bank: {report.unbalanced_count} do not balance."
    )
    if report.differences or report.unbalanced_count:
        raise typer.Exit(1)


query_app = typer.Typer(help="Operator tools for the money-query read model.", no_args_is_help=True)
app.add_typer(query_app, name="query")


@query_app.command("rebuild")
def query_rebuild(data_dir: DataDir = Path(".pay"), port_offset: PortOffset = 0) -> None:
    """Replay every event the stream holds into a model of its own and report how the live read model differs."""
    settings, credential = _operator_settings(data_dir, port_offset)

    async def rebuild() -> QueryRebuild:
        async with MoneyQueryClient(settings.url_of("money-query"), token=credential, timeout=300) as query:
            return await query.rebuild()

    report = asyncio.run(rebuild())
    for difference in report.differences:
        console.print(f"[red]{difference.membership_id}[/red]: live {difference.live}, rebuilt {difference.rebuilt}")
    console.print(
        f"{report.events_replayed} events replayed into {report.members_rebuilt} members: "
        + (
            "the rebuilt model equals the live one."
            if not report.differences
            else f"{len(report.differences)} members differ from the live model."
        )
    )
    if report.differences:
        raise typer.Exit(1)


@app.command("reconcile")
def reconcile_command(data_dir: DataDir = Path(".pay"), port_offset: PortOffset = 0) -> None:
    """Check Conservation: the corporate account's net intake equals what the ledger says the platform holds,
    and every transfer on it pairs with a ledger leg."""
    settings, credential = _operator_settings(data_dir, port_offset)

    result = asyncio.run(reconcile_platform(settings, credential))
    table = Table(title="Conservation")
    table.add_column("")
    table.add_column("won", justify="right")
    table.add_row("corporate account now", f"{result.corporate_balance:,}")
    table.add_row("  minus its opening balance", f"{result.corporate_opening_balance:,}")
    table.add_row("= received from members minus paid out", f"{result.corporate_net:,}")
    table.add_row(f"wallets ({result.wallet_count}), held amounts included", f"{result.wallets_total:,}")
    table.add_row("+ franchises' payables", f"{result.payables_total:,}")
    table.add_row("+ revenue (fees kept)", f"{result.revenue:,}")
    table.add_row("= what the ledger says the platform holds", f"{result.owed:,}")
    table.add_row("gap", f"{result.gap:,}")
    console.print(table)
    paired = result.bank_transfers - sum(unpaired.at_the_bank is not None for unpaired in result.unpaired_transfers)
    console.print(f"{paired:,} of {result.bank_transfers:,} transfers on the corporate account pair with a ledger leg.")
    if not result.at_rest:
        console.print(f"{result.requests_in_flight} requests or sagas are still in flight: run again when at rest.")
    for unpaired in result.unpaired_transfers:
        console.print(f"[red]{unpaired}[/red]")
    for difference in result.journal_differences:
        console.print(f"[red]wallet {difference.membership_id} differs from its journal[/red]")
    for refund in result.failed_refunds:
        console.print(
            f"[red]recharge {refund.money_changing_request_id}: {refund.amount:,} won owed to member "
            f"{refund.membership_id}, whose bank refused the refund ({refund.reason})[/red]"
        )
    if result.failed_refunds:
        console.print(
            f"{result.owed_by_failed_refunds:,} won of the gap is owed by failed refunds: settle them by hand."
        )
    if result.holds:
        console.print("[green]Conservation holds.[/green]")
        return
    if result.gap:
        console.print(
            f"[red]Conservation breaks: the corporate account and the ledger differ by {result.gap:,} won.[/red]"
        )
    raise typer.Exit(1)


@app.command("docs")
def docs_command(
    root: Annotated[Path, typer.Option(help="The checkout whose docs/ to write.")] = CHECKOUT,
) -> None:
    """Write the documents generated from the code: every service's OpenAPI document and their index in docs/api/,
    the AsyncAPI document of the events and commands, and the settings reference in docs/operations.md."""
    try:
        written = documents.write(root, SERVED)
    except documents.MissingSection as error:
        console.print(f"[red]{error}[/red]", soft_wrap=True)
        raise typer.Exit(1) from error
    for path in written:
        console.print(f"wrote {path}")
    console.print(f"{len(written)} documents changed." if written else "Every document is up to date.")


@app.command("logs")
def logs_command(
    service: Annotated[
        list[str] | None, typer.Option("--service", help="Only this service's events; repeat it for several.")
    ] = None,
    level: Annotated[Level, typer.Option(help="The least severe level shown.")] = Level.DEBUG,
    request_id: Annotated[str | None, typer.Option(help="Only the events of this request (its X-Request-ID).")] = None,
    json_lines: Annotated[bool, typer.Option("--json", help="Each event as its raw JSON line, e.g. for jq.")] = False,
    data_dir: DataDir = Path(".pay"),
    broker_url: Annotated[
        str | None,
        typer.Option(
            envvar="PAY_BROKER_URL", help="The broker `pay up --broker-url` was given; else the NATS server it runs."
        ),
    ] = None,
) -> None:
    """Follow the log events every service ships, live from now, until Ctrl-C."""
    if unknown := sorted(set(service or []) - set(SERVICES)):
        raise typer.BadParameter(f"unknown service {unknown[0]!r}; one of: {', '.join(SERVICES)}")
    url = broker_url or EmbeddedNats.running_url(data_dir)
    notes = Console(stderr=True, highlight=False)
    if url is None:
        notes.print(
            f"Pay is not running on {data_dir}: no broker there. Start it with `pay up`, or give --broker-url.",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    log_filter = LogFilter(frozenset(service or []), level, request_id)

    async def show() -> None:
        def on_following() -> None:
            notes.print(f"Following the logs on {redacted(url)}; Ctrl-C stops.")

        async for line, event in follow(url, log_filter, on_following):
            if json_lines:
                sys.stdout.buffer.write(line + b"\n")
                sys.stdout.flush()
            else:
                console.print(pretty(event), soft_wrap=True)

    try:
        asyncio.run(show())
    except KeyboardInterrupt:
        return
    except BrokerUnreachable as error:
        notes.print(f"Pay is not running: {error}.", soft_wrap=True)
        raise typer.Exit(1) from error
    notes.print(f"The broker at {redacted(url)} went away.")
    raise typer.Exit(1)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(
    context: typer.Context,
    name: Annotated[str, typer.Argument(help="A benchmark in bench/, e.g. `transfers`.")],
) -> None:
    """Run a benchmark from the checkout's bench/ folder against the running system; extra options go to it."""
    script = CHECKOUT / "bench" / f"{name}.py"
    if not script.exists():
        raise typer.BadParameter(f"no benchmark {script}")
    sys.argv = [str(script), *context.args]
    sys.path.insert(0, str(script.parent))
    runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
