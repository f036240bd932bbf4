"""The `o2c` command line: run, serve, worker, db upgrade, catalog import/sync, doctor."""

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

import stripe
import uvicorn

from bot.app import Runtime, build_runtime
from bot.catalog_sync import fetch_stripe_catalog
from bot.db import make_engine, session_factory, upgrade
from bot.logging_setup import configure_logging
from bot.settings import ConfigError, Mode, Settings, load_settings
from bot.stripe_gateway import make_client
from models.catalog_import import read_catalog_csv, upsert_products
from models.clock import system_clock
from models.errors import InvalidInput

logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, check the settings the command needs, and run it."""
    parser = _parser()
    arguments = parser.parse_args(argv)
    if not hasattr(arguments, "handler"):
        parser.print_help()
        return 2

    try:
        settings = load_settings()
        mode: Mode = arguments.mode
        settings.require(mode)
        configure_logging(settings.log_level)
        return int(arguments.handler(settings, arguments))
    except ConfigError as error:
        print(f"o2c: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="o2c", description="Run the o2c-bot Slack app and its jobs."
    )
    commands = parser.add_subparsers(title="commands")

    run = commands.add_parser(
        "run", help="serve Slack, the webhooks and the scheduler in one process"
    )
    run.set_defaults(handler=_run, mode="run")
    serve = commands.add_parser("serve", help="serve Slack and the webhooks, without the scheduler")
    serve.set_defaults(handler=_serve, mode="serve")
    worker = commands.add_parser("worker", help="run the scheduler (outbox delivery and jobs) only")
    worker.set_defaults(handler=_worker, mode="worker")

    database = commands.add_parser("db", help="database maintenance").add_subparsers(
        title="db commands"
    )
    database.add_parser("upgrade", help="apply pending migrations").set_defaults(
        handler=_db_upgrade, mode="database"
    )

    catalog = commands.add_parser("catalog", help="load the product catalog").add_subparsers(
        title="catalog commands"
    )
    load = catalog.add_parser(
        "import",
        help="load products from a CSV file (sku,name,unit_price,currency[,interval,active])",
    )
    load.add_argument("path", type=Path, help="the CSV file")
    load.set_defaults(handler=_catalog_import, mode="database")
    catalog.add_parser("sync", help="load active Stripe products and prices").set_defaults(
        handler=_catalog_sync, mode="catalog"
    )

    doctor = commands.add_parser("doctor", help="check tokens, scopes, channels and the Stripe key")
    doctor.set_defaults(handler=_doctor, mode="doctor")
    return parser


def _run(settings: Settings, _arguments: argparse.Namespace) -> int:
    runtime = build_runtime(settings)
    if settings.socket_mode:
        _start_socket_mode(runtime)
    return _serve_http(runtime, run_scheduler=True)


def _serve(settings: Settings, _arguments: argparse.Namespace) -> int:
    runtime = build_runtime(settings)
    if settings.socket_mode:
        _start_socket_mode(runtime)
    return _serve_http(runtime, run_scheduler=False)


def _worker(settings: Settings, _arguments: argparse.Namespace) -> int:
    runtime = build_runtime(settings)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    runtime.leader.start()
    logger.info("worker running; waiting for jobs")
    stop.wait()
    runtime.leader.stop()
    return 0


def _serve_http(runtime: Runtime, *, run_scheduler: bool) -> int:
    from bot.server import create_web_app

    settings = runtime.settings
    web_app = create_web_app(runtime, run_scheduler=run_scheduler)
    logger.info(
        "listening",
        extra={"host": settings.host, "port": settings.port, "socket_mode": settings.socket_mode},
    )
    uvicorn.run(
        web_app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    return 0


def _start_socket_mode(runtime: Runtime) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    assert runtime.settings.slack_app_token is not None
    handler = SocketModeHandler(runtime.bolt, runtime.settings.slack_app_token.get_secret_value())
    handler.connect()
    logger.info("connected to Slack over Socket Mode")


def _db_upgrade(settings: Settings, _arguments: argparse.Namespace) -> int:
    upgrade(settings.database_url)
    print("Database is at the latest revision.")
    return 0


def _catalog_import(settings: Settings, arguments: argparse.Namespace) -> int:
    path: Path = arguments.path
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        print(f"o2c: cannot read {path}: {error.strerror}", file=sys.stderr)
        return 1
    try:
        rows, rejected = read_catalog_csv(text)
    except InvalidInput as error:
        print(f"o2c: {path}: {error}", file=sys.stderr)
        return 1

    upgrade(settings.database_url)
    new_session = session_factory(make_engine(settings.database_url))
    with new_session() as session, session.begin():
        report = upsert_products(session, [row for _, row in rows], "cli", system_clock())
    report.rejected = rejected
    print(report.summary())
    return 1 if rejected else 0


def _catalog_sync(settings: Settings, _arguments: argparse.Namespace) -> int:
    assert settings.stripe_api_key is not None
    client = make_client(settings.stripe_api_key.get_secret_value(), settings.stripe_api_base)
    try:
        rows, skipped = fetch_stripe_catalog(client)
    except stripe.StripeError as error:
        # Stripe shows only the last characters of a rejected key, so the message is safe to print.
        print(
            f"o2c: reading prices from Stripe failed: {error.user_message or error.__class__.__name__}",
            file=sys.stderr,
        )
        return 1

    upgrade(settings.database_url)
    new_session = session_factory(make_engine(settings.database_url))
    with new_session() as session, session.begin():
        report = upsert_products(session, rows, "stripe-sync", system_clock())
    print(report.summary())
    for reason in skipped:
        print(f"  skipped {reason}")
    return 0


def _doctor(settings: Settings, _arguments: argparse.Namespace) -> int:
    from bot.doctor import run_checks

    return run_checks(settings)


if __name__ == "__main__":
    sys.exit(main())
