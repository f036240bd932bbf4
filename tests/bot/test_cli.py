"""The installed `o2c` command, run as a subprocess with a clean environment.

Each case starts from PATH and HOME only, in a temporary working folder, so a
developer's own environment and `.env` file cannot change the result. The
database is a temporary SQLite file, or a throwaway PostgreSQL database created
for the PostgreSQL cases when `O2C_TEST_DATABASE_URL` names PostgreSQL.
"""

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import stripe
from sqlalchemy import create_engine, inspect, text
from sqlmodel import Session, select

from bot.db import make_engine
from models.catalog import BillingInterval, Product
from tests.standins.stripe_api import StripeStandIn

O2C_SCRIPT = Path(sys.executable).parent / "o2c"
COMMAND = [str(O2C_SCRIPT)] if O2C_SCRIPT.exists() else [sys.executable, "-m", "bot.cli"]
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET_MARKER = "SeCrEtVaLuE9"

VALID_RUN_ENV = {
    "SLACK_BOT_TOKEN": "xoxb-1111-2222-validbottoken",
    "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
    "STRIPE_API_KEY": "sk_test_validstripekey123",
    "STRIPE_WEBHOOK_SECRET": "whsec_validwebhooksecret",
    "O2C_PAYMENTS_CHANNEL": "payments",
    # If a settings check ever stops failing, `o2c run` must reach nothing but 127.0.0.1.
    "SLACK_API_URL": "http://127.0.0.1:9/api/",
    "STRIPE_API_BASE": "http://127.0.0.1:9",
    "O2C_HOST": "127.0.0.1",
}

GOOD_CSV = (
    "sku,name,unit_price,currency,interval,active\n"
    "wid-1,Widget,12.50,USD,,\n"
    "SUB-1,Support plan,1200,JPY,month,true\n"
    "KW-1,Kuwait service,1.250,KWD,year,\n"
    "OLD-1,Retired item,5,EUR,,false\n"
)


def run_o2c(
    *arguments: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `o2c` with only PATH, HOME and `env` set."""
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd)}
    environment.update(env or {})
    return subprocess.run(
        [*COMMAND, *arguments],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def load_products(database_url: str) -> dict[str, Product]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return {product.sku: product for product in session.exec(select(Product)).all()}
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database of its own, so the shared `test` database is left alone."""
    suite_url = os.environ.get("O2C_TEST_DATABASE_URL", "")
    if not suite_url.startswith(("postgresql://", "postgres://")):
        pytest.skip("O2C_TEST_DATABASE_URL does not name a PostgreSQL database")

    name = f"o2c_cli_test_{secrets.token_hex(6)}"
    admin = create_engine(
        POSTGRES_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --------------------------------------------------------------------------- help


def test_cli_help_lists_commands(tmp_path: Path) -> None:
    result = run_o2c("--help", cwd=tmp_path)

    assert result.returncode == 0
    for command in ("run", "serve", "worker", "db", "catalog", "doctor"):
        assert command in result.stdout, command


def test_cli_no_command_prints_usage(tmp_path: Path) -> None:
    result = run_o2c(cwd=tmp_path)

    assert result.returncode == 2
    assert "usage: o2c" in result.stdout


def test_cli_unknown_command_exits_2(tmp_path: Path) -> None:
    result = run_o2c("launch", cwd=tmp_path)

    assert result.returncode == 2
    assert "invalid choice" in result.stderr


# --------------------------------------------------------------------------- settings


def test_cli_run_missing_bot_token_exits_2(tmp_path: Path) -> None:
    env = dict(VALID_RUN_ENV)
    del env["SLACK_BOT_TOKEN"]

    result = run_o2c("run", cwd=tmp_path, env=env)

    assert result.returncode == 2
    assert len(error_lines(result)) == 1, result.stderr
    assert "SLACK_BOT_TOKEN is missing" in result.stderr
    assert result.stdout == ""


def test_cli_run_malformed_stripe_key_exits_2(tmp_path: Path) -> None:
    env = {**VALID_RUN_ENV, "STRIPE_API_KEY": f"pk_live_{SECRET_MARKER}"}

    result = run_o2c("run", cwd=tmp_path, env=env)

    assert result.returncode == 2
    assert len(error_lines(result)) == 1, result.stderr
    assert "STRIPE_API_KEY is malformed" in result.stderr
    assert SECRET_MARKER not in result.stderr
    assert SECRET_MARKER not in result.stdout


def test_cli_run_malformed_bot_token_not_echoed(tmp_path: Path) -> None:
    env = {**VALID_RUN_ENV, "SLACK_BOT_TOKEN": f"xoxp-{SECRET_MARKER}"}

    result = run_o2c("run", cwd=tmp_path, env=env)

    assert result.returncode == 2
    assert len(error_lines(result)) == 1, result.stderr
    assert "SLACK_BOT_TOKEN is malformed" in result.stderr
    assert SECRET_MARKER not in result.stderr + result.stdout


def test_cli_run_bad_port_exits_2(tmp_path: Path) -> None:
    result = run_o2c("run", cwd=tmp_path, env={**VALID_RUN_ENV, "PORT": "abc"})

    assert result.returncode == 2
    assert len(error_lines(result)) == 1, result.stderr
    assert "PORT is invalid" in result.stderr


def test_cli_run_socket_mode_needs_stripe_key(tmp_path: Path) -> None:
    env = dict(VALID_RUN_ENV)
    del env["SLACK_SIGNING_SECRET"]
    del env["STRIPE_API_KEY"]
    env["SLACK_APP_TOKEN"] = "xapp-1-A0123-4567-appleveltoken"

    result = run_o2c("run", cwd=tmp_path, env=env)

    assert result.returncode == 2
    assert len(error_lines(result)) == 1, result.stderr
    assert "STRIPE_API_KEY is missing" in result.stderr


def test_cli_reads_dotenv_in_working_folder(tmp_path: Path) -> None:
    env = dict(VALID_RUN_ENV)
    del env["SLACK_BOT_TOKEN"]
    (tmp_path / ".env").write_text(f"SLACK_BOT_TOKEN=xoxp-{SECRET_MARKER}\n")

    result = run_o2c("run", cwd=tmp_path, env=env)

    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN is malformed" in result.stderr
    assert SECRET_MARKER not in result.stderr


# --------------------------------------------------------------------------- db upgrade


def assert_upgrade_creates_tables(tmp_path: Path, database_url: str) -> None:
    first = run_o2c("db", "upgrade", cwd=tmp_path, env={"DATABASE_URL": database_url})
    assert first.returncode == 0, first.stderr
    assert "latest revision" in first.stdout

    engine = make_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert "product" in tables
    assert "alembic_version" in tables

    second = run_o2c("db", "upgrade", cwd=tmp_path, env={"DATABASE_URL": database_url})
    assert second.returncode == 0, second.stderr
    assert "Running upgrade" not in second.stderr


def test_cli_db_upgrade_sqlite_idempotent(tmp_path: Path, sqlite_url: str) -> None:
    assert_upgrade_creates_tables(tmp_path, sqlite_url)


def test_cli_db_upgrade_postgres_idempotent(tmp_path: Path, postgres_url: str) -> None:
    assert_upgrade_creates_tables(tmp_path, postgres_url)


# --------------------------------------------------------------------------- catalog import


def import_csv(
    tmp_path: Path, database_url: str, content: str, name: str = "products.csv"
) -> subprocess.CompletedProcess[str]:
    (tmp_path / name).write_text(content, encoding="utf-8")
    return run_o2c("catalog", "import", name, cwd=tmp_path, env={"DATABASE_URL": database_url})


def assert_import_loads_products(tmp_path: Path, database_url: str) -> None:
    first = import_csv(tmp_path, database_url, GOOD_CSV)
    assert first.returncode == 0, first.stderr
    assert "4 created, 0 updated, 0 unchanged, 0 rejected" in first.stdout

    products = load_products(database_url)
    assert set(products) == {"WID-1", "SUB-1", "KW-1", "OLD-1"}
    assert products["WID-1"].unit_amount == 1250
    assert products["WID-1"].currency == "USD"
    assert products["WID-1"].recurring_interval is None
    assert products["SUB-1"].unit_amount == 1200
    assert products["SUB-1"].recurring_interval == BillingInterval.MONTH
    assert products["KW-1"].unit_amount == 1250
    assert products["KW-1"].recurring_interval == BillingInterval.YEAR
    assert products["OLD-1"].active is False

    second = import_csv(tmp_path, database_url, GOOD_CSV)
    assert second.returncode == 0, second.stderr
    assert "0 created, 0 updated, 4 unchanged, 0 rejected" in second.stdout


def test_cli_catalog_import_sqlite(tmp_path: Path, sqlite_url: str) -> None:
    assert_import_loads_products(tmp_path, sqlite_url)


def test_cli_catalog_import_postgres(tmp_path: Path, postgres_url: str) -> None:
    assert_import_loads_products(tmp_path, postgres_url)


def test_cli_catalog_import_updates_changed_row(tmp_path: Path, sqlite_url: str) -> None:
    import_csv(tmp_path, sqlite_url, GOOD_CSV)
    changed = GOOD_CSV.replace("wid-1,Widget,12.50", "wid-1,Widget,13.00")

    result = import_csv(tmp_path, sqlite_url, changed)

    assert result.returncode == 0, result.stderr
    assert "0 created, 1 updated, 3 unchanged, 0 rejected" in result.stdout
    assert load_products(sqlite_url)["WID-1"].unit_amount == 1300


def test_cli_catalog_import_reports_bad_rows(tmp_path: Path, sqlite_url: str) -> None:
    content = (
        "sku,name,unit_price,currency,interval\n"
        "GOOD-1,Good item,10.00,USD,\n"  # line 2
        'COMMA-1,Comma price,"12,50",USD,\n'  # line 3
        "WORD-1,Word price,abc,USD,\n"  # line 4
        "YEN-1,Yen decimals,12.5,JPY,\n"  # line 5
        "CUR-1,Unknown currency,10,XYZ,\n"  # line 6
        "INT-1,Weekly plan,10,USD,weekly\n"  # line 7
        "good-1,Duplicate,11.00,USD,\n"  # line 8
        "NOCUR-1,No currency,10,,\n"  # line 9
    )

    result = import_csv(tmp_path, sqlite_url, content)
    report = result.stdout

    assert result.returncode == 1
    assert "1 created, 0 updated, 0 unchanged, 7 rejected" in report
    assert "line 3: COMMA-1: Amount '12,50' uses a decimal comma" in report
    assert "line 4: WORD-1: Amount 'abc' is not a number" in report
    assert "line 5: YEN-1: Amount '12.5' has too many decimals: JPY takes no decimals" in report
    assert "line 6: CUR-1: Unknown currency 'XYZ'" in report
    assert "line 7: INT-1: interval 'weekly' must be month, year or empty" in report
    assert "line 8: SKU GOOD-1 repeats line 2" in report
    assert "line 9: NOCUR-1: currency is missing" in report

    products = load_products(sqlite_url)
    assert set(products) == {"GOOD-1"}
    assert products["GOOD-1"].unit_amount == 1000


def test_cli_catalog_import_missing_file(tmp_path: Path, sqlite_url: str) -> None:
    result = run_o2c(
        "catalog", "import", "absent.csv", cwd=tmp_path, env={"DATABASE_URL": sqlite_url}
    )

    assert result.returncode == 1
    assert len(error_lines(result)) == 1, result.stderr
    assert "cannot read absent.csv: No such file or directory" in result.stderr


def test_cli_catalog_import_without_sku_column(tmp_path: Path, sqlite_url: str) -> None:
    content = "name,unit_price,currency\nWidget,10,USD\n"

    result = import_csv(tmp_path, sqlite_url, content)

    assert result.returncode == 1
    assert len(error_lines(result)) == 1, result.stderr
    assert "lacks the column(s) sku" in result.stderr
    assert not (tmp_path / "cli.db").exists()


def test_cli_catalog_import_header_case_and_bom(tmp_path: Path, sqlite_url: str) -> None:
    content = "\ufeffSKU, Name ,Unit_Price,CURRENCY\nbom-1,Byte order mark,2.00,usd\n"

    result = import_csv(tmp_path, sqlite_url, content)

    assert result.returncode == 0, result.stdout + result.stderr
    assert load_products(sqlite_url)["BOM-1"].unit_amount == 200


# --------------------------------------------------------------------------- catalog sync


@pytest.fixture
def stripe_catalog() -> Iterator[tuple[StripeStandIn, dict[str, str]]]:
    """The Stripe stand-in holding usable, unsupported and inactive prices."""
    standin = StripeStandIn().start()
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": standin.base_url})
    prices = client.v1.prices
    ids: dict[str, str] = {}

    widget = client.v1.products.create({"name": "Widget Pro", "metadata": {"sku": "wid-pro"}})
    ids["monthly"] = prices.create(
        {
            "product": widget.id,
            "currency": "usd",
            "unit_amount": 4900,
            "recurring": {"interval": "month"},
        }
    ).id

    setup = client.v1.products.create({"name": "Setup fee"})
    ids["setup_product"] = setup.id
    ids["setup"] = prices.create({"product": setup.id, "currency": "jpy", "unit_amount": 50000}).id

    plan = client.v1.products.create(
        {
            "name": "Annual plan",
            "metadata": {"sku": "PLAN-Y"},
            "default_price_data": {
                "currency": "eur",
                "unit_amount": 120000,
                "recurring": {"interval": "year"},
            },
        }
    )
    ids["plan_default"] = str(plan.default_price)
    ids["plan_other"] = prices.create(
        {
            "product": plan.id,
            "currency": "eur",
            "unit_amount": 99000,
            "recurring": {"interval": "year"},
        }
    ).id

    donation = client.v1.products.create({"name": "Donation", "metadata": {"sku": "GIFT"}})
    ids["custom"] = prices.create(
        {"product": donation.id, "currency": "usd", "custom_unit_amount": {"enabled": True}}
    ).id

    quarterly = client.v1.products.create({"name": "Quarterly", "metadata": {"sku": "QTR"}})
    ids["quarterly"] = prices.create(
        {
            "product": quarterly.id,
            "currency": "usd",
            "unit_amount": 3000,
            "recurring": {"interval": "month", "interval_count": 3},
        }
    ).id

    archived = client.v1.products.create(
        {"name": "Archived", "metadata": {"sku": "ARCH"}, "active": False}
    )
    ids["archived"] = prices.create(
        {"product": archived.id, "currency": "usd", "unit_amount": 100}
    ).id

    inactive = client.v1.products.create({"name": "Inactive price", "metadata": {"sku": "OFF"}})
    prices.create({"product": inactive.id, "currency": "usd", "unit_amount": 100, "active": False})

    yield standin, ids
    standin.stop()


def sync_env(standin: StripeStandIn, database_url: str, key: str = "sk_test_cli") -> dict[str, str]:
    return {
        "STRIPE_API_KEY": key,
        "STRIPE_API_BASE": standin.base_url,
        "DATABASE_URL": database_url,
    }


def test_cli_catalog_sync_loads_active_prices(
    tmp_path: Path, sqlite_url: str, stripe_catalog: tuple[StripeStandIn, dict[str, str]]
) -> None:
    standin, ids = stripe_catalog

    result = run_o2c("catalog", "sync", cwd=tmp_path, env=sync_env(standin, sqlite_url))

    assert result.returncode == 0, result.stderr
    assert "3 created, 0 updated, 0 unchanged, 0 rejected" in result.stdout

    products = load_products(sqlite_url)
    setup_sku = ids["setup_product"].upper()
    assert set(products) == {"WID-PRO", "PLAN-Y", setup_sku}

    widget = products["WID-PRO"]
    assert widget.unit_amount == 4900
    assert widget.currency == "USD"
    assert widget.recurring_interval == BillingInterval.MONTH
    assert widget.stripe_price_id == ids["monthly"]

    setup = products[setup_sku]
    assert setup.unit_amount == 50000
    assert setup.currency == "JPY"
    assert setup.recurring_interval is None
    assert setup.stripe_product_id == ids["setup_product"]

    plan = products["PLAN-Y"]
    assert plan.stripe_price_id == ids["plan_default"]
    assert plan.unit_amount == 120000

    assert f"skipped {ids['custom']}: the price has no fixed unit amount" in result.stdout
    assert f"skipped {ids['quarterly']}: billing every 3 month" in result.stdout
    assert f"skipped {ids['archived']}: product" in result.stdout
    assert f"skipped {ids['plan_other']}: SKU PLAN-Y already comes from price" in result.stdout


def test_cli_catalog_sync_twice_unchanged(
    tmp_path: Path, sqlite_url: str, stripe_catalog: tuple[StripeStandIn, dict[str, str]]
) -> None:
    standin, _ids = stripe_catalog
    run_o2c("catalog", "sync", cwd=tmp_path, env=sync_env(standin, sqlite_url))

    result = run_o2c("catalog", "sync", cwd=tmp_path, env=sync_env(standin, sqlite_url))

    assert result.returncode == 0, result.stderr
    assert "0 created, 0 updated, 3 unchanged, 0 rejected" in result.stdout


def test_cli_catalog_sync_rejected_key(
    tmp_path: Path, sqlite_url: str, stripe_catalog: tuple[StripeStandIn, dict[str, str]]
) -> None:
    # The stand-in accepts test-mode keys only, so a live key plays a revoked one.
    standin, _ids = stripe_catalog
    key = f"sk_live_{SECRET_MARKER}"

    result = run_o2c("catalog", "sync", cwd=tmp_path, env=sync_env(standin, sqlite_url, key))

    # stderr also carries the stripe library's own log lines about the request.
    messages = [line for line in error_lines(result) if line.startswith("o2c:")]
    assert result.returncode == 1
    assert len(messages) == 1, result.stderr
    assert "reading prices from Stripe failed: Invalid API Key" in messages[0]
    assert SECRET_MARKER not in result.stderr + result.stdout
    assert not (tmp_path / "cli.db").exists()


def test_cli_catalog_sync_needs_stripe_key(tmp_path: Path, sqlite_url: str) -> None:
    result = run_o2c("catalog", "sync", cwd=tmp_path, env={"DATABASE_URL": sqlite_url})

    assert result.returncode == 2
    assert len(error_lines(result)) == 1, result.stderr
    assert "STRIPE_API_KEY is missing" in result.stderr
