"""Shared fixtures: a migrated database, the Slack and Stripe stand-ins, and the real
app served by uvicorn on 127.0.0.1, driven with Slack-signed requests.

Set `O2C_TEST_DATABASE_URL` (for example
`postgresql://postgres@127.0.0.1:5432/test`) to run the suite on PostgreSQL;
the default is a SQLite file in a temporary folder.
"""

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

from bot.app import Runtime, build_runtime
from bot.db import make_engine, upgrade
from bot.server import create_web_app
from bot.settings import Settings
from models.tables import metadata
from tests.slack_requests import SlackClientSim
from tests.standins.slack_api import SlackStandIn
from tests.standins.stripe_api import StripeStandIn

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5".replace("y", "0").replace("z", "1")
BOT_TOKEN = "xoxb-test-standin"
STRIPE_KEY = "sk_test_o2cstandin"
MANAGER_ID = "U0MGR"
START = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


class TestClock:
    """A clock that does not move until a test advances it."""

    __test__ = False

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database for this test run.

    On PostgreSQL the run gets a schema of its own (named after the process
    id), so two runs against the same database do not disturb each other.
    """
    url = (
        os.environ.get("O2C_TEST_DATABASE_URL")
        or f"sqlite:///{tmp_path_factory.mktemp('db') / 'o2c.db'}"
    )
    if url.startswith("sqlite"):
        upgrade(url)
        yield url
        return

    schema = f"o2c_test_{os.getpid()}"
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    scoped = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    upgrade(scoped)
    yield scoped
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def clock() -> TestClock:
    return TestClock()


@pytest.fixture
def slack_api() -> Iterator[SlackStandIn]:
    standin = SlackStandIn(bot_token=BOT_TOKEN).start()
    standin.add_user(MANAGER_ID, "manager", "Morgan Manager")
    standin.add_user("U0OTHER", "other", "Olive Otherrep")
    yield standin
    standin.stop()


@pytest.fixture
def stripe_api() -> Iterator[StripeStandIn]:
    standin = StripeStandIn().start()
    yield standin
    standin.stop()


def make_settings(
    database_url: str, slack_api: SlackStandIn, stripe_api: StripeStandIn, **overrides: Any
) -> Settings:
    """Settings aimed at the stand-ins, ignoring the developer's own environment and .env."""
    values: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": slack_api.base_url,
        "stripe_api_key": STRIPE_KEY,
        "stripe_api_base": stripe_api.base_url,
        "stripe_webhook_secret": stripe_api.webhook_secret,
        "database_url": database_url,
        "payments_channel": "payments",
        "managers": MANAGER_ID,
        "currencies": "USD,EUR,JPY,KWD",
        "host": "127.0.0.1",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class ServedApp:
    """The real web app under uvicorn on 127.0.0.1, on a free port, in a thread."""

    def __init__(self, runtime: Runtime) -> None:
        config = uvicorn.Config(
            create_web_app(runtime, run_scheduler=False),
            host="127.0.0.1",
            port=0,
            log_config=None,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 10 s")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class O2C:
    """One running app with its stand-ins, for end-to-end tests."""

    url: str
    runtime: Runtime
    slack_api: SlackStandIn
    stripe_api: StripeStandIn
    slack: SlackClientSim
    clock: TestClock
    http: httpx.Client

    def new_session(self) -> Session:
        return self.runtime.services.new_session()

    def deliver_alerts(self) -> int:
        return self.runtime.dispatcher.deliver_due()

    def post_stripe_event(
        self,
        event_type: str,
        data_object: dict[str, Any],
        *,
        event_id: str | None = None,
        signature: str | None = None,
    ) -> httpx.Response:
        payload = self.stripe_api.event(event_type, data_object, event_id=event_id)
        header = signature if signature is not None else self.stripe_api.sign(payload)
        return self.http.post(
            f"{self.url}/stripe/webhook",
            content=payload,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )

    def wait_for(
        self, predicate: Callable[[], Any], description: str = "condition", timeout: float = 10.0
    ) -> None:
        self.slack_api.wait_for(lambda: bool(predicate()), timeout=timeout, description=description)


@pytest.fixture
def o2c_factory(
    database_url: str,
    engine: Engine,
    slack_api: SlackStandIn,
    stripe_api: StripeStandIn,
    clock: TestClock,
) -> Iterator[Callable[..., O2C]]:
    started: list[tuple[ServedApp, SlackClientSim, httpx.Client]] = []

    def start(**overrides: Any) -> O2C:
        settings = make_settings(database_url, slack_api, stripe_api, **overrides)
        runtime = build_runtime(settings, clock=clock, migrate=False)
        served = ServedApp(runtime)
        url = served.start()
        client = SlackClientSim(url, SIGNING_SECRET, slack_api)
        http = httpx.Client(timeout=10)
        started.append((served, client, http))
        return O2C(url, runtime, slack_api, stripe_api, client, clock, http)

    yield start
    for served, client, http in started:
        client.close()
        http.close()
        served.stop()


@pytest.fixture
def o2c(o2c_factory: Callable[..., O2C]) -> O2C:
    return o2c_factory()


__all__ = ["O2C", "SQLModel", "TestClock"]
