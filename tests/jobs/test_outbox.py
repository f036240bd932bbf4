"""The outbox dispatcher: retries, 429s, permanent failures and crash recovery."""

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.slack_delivery import SlackPoster
from jobs.outbox import CLAIM_TIMEOUT, MAX_ATTEMPTS, OutboxDispatcher
from models.outbox import AlertStatus, OutboxAlert, queue_alert
from tests.conftest import BOT_TOKEN, STRIPE_KEY, TestClock
from tests.standins.slack_api import SlackStandIn


@pytest.fixture
def dispatcher(engine: Engine, slack_api: SlackStandIn, clock: TestClock) -> OutboxDispatcher:
    return make_dispatcher(engine, slack_api, clock)


def make_dispatcher(engine: Engine, slack_api: SlackStandIn, clock: TestClock) -> OutboxDispatcher:
    client = WebClient(token=BOT_TOKEN, base_url=slack_api.base_url, retry_handlers=[])
    return OutboxDispatcher(
        lambda: Session(engine, expire_on_commit=False), SlackPoster(client), clock
    )


def queue(
    engine: Engine,
    clock: TestClock,
    key: str = "alert-1",
    channel: str = "payments",
    thread_ts: str | None = None,
) -> None:
    with Session(engine) as session, session.begin():
        queue_alert(
            session,
            delivery_key=key,
            kind="test",
            channel=channel,
            text=f"Alert {key}",
            thread_ts=thread_ts,
            at=clock(),
        )


def the_alert(engine: Engine, key: str = "alert-1") -> OutboxAlert:
    with Session(engine) as session:
        return session.exec(select(OutboxAlert).where(OutboxAlert.delivery_key == key)).one()


def test_dispatcher_posts_with_delivery_key(
    engine: Engine, slack_api: SlackStandIn, clock: TestClock, dispatcher: OutboxDispatcher
) -> None:
    queue(engine, clock)

    assert dispatcher.deliver_due() == 1

    [message] = slack_api.messages("C0PAYMENTS")
    assert message["text"] == "Alert alert-1"
    assert message["metadata"]["event_payload"] == {"delivery_key": "alert-1"}
    alert = the_alert(engine)
    assert alert.status == AlertStatus.SENT
    assert alert.slack_ts == message["ts"]
    assert alert.slack_channel_id == "C0PAYMENTS"


def test_dispatcher_sends_each_alert_once(
    engine: Engine, slack_api: SlackStandIn, clock: TestClock, dispatcher: OutboxDispatcher
) -> None:
    queue(engine, clock)
    with Session(engine) as session, session.begin():
        queue_alert(
            session,
            delivery_key="alert-1",
            kind="test",
            channel="payments",
            text="again",
            at=clock(),
        )

    dispatcher.deliver_due()
    dispatcher.deliver_due()

    assert len(slack_api.messages("C0PAYMENTS")) == 1


def test_dispatcher_waits_out_429(
    engine: Engine, slack_api: SlackStandIn, clock: TestClock, dispatcher: OutboxDispatcher
) -> None:
    queue(engine, clock)
    slack_api.rate_limit("chat.postMessage", retry_after=30)

    assert dispatcher.deliver_due() == 0
    alert = the_alert(engine)
    assert alert.status == AlertStatus.PENDING
    assert alert.next_attempt_at == clock() + timedelta(seconds=30)
    assert alert.attempts == 0

    clock.advance(seconds=29)
    assert dispatcher.deliver_due() == 0
    clock.advance(seconds=1)
    assert dispatcher.deliver_due() == 1

    assert len(slack_api.messages("C0PAYMENTS")) == 1
    assert len(slack_api.calls_to("chat.postMessage")) == 2
    assert the_alert(engine).status == AlertStatus.SENT


def test_dispatcher_429_stops_the_pass(
    engine: Engine, slack_api: SlackStandIn, clock: TestClock, dispatcher: OutboxDispatcher
) -> None:
    queue(engine, clock, "alert-1")
    queue(engine, clock, "alert-2")
    slack_api.rate_limit("chat.postMessage", retry_after=5)

    dispatcher.deliver_due()

    assert len(slack_api.calls_to("chat.postMessage")) == 1
    assert the_alert(engine, "alert-2").status == AlertStatus.PENDING


def test_dispatcher_backs_off_on_slack_error(
    engine: Engine, slack_api: SlackStandIn, clock: TestClock, dispatcher: OutboxDispatcher
) -> None:
    queue(engine, clock)
    slack_api.fail("chat.postMessage", "internal_error")

    assert dispatcher.deliver_due() == 0
    alert = the_alert(engine)
    assert alert.status == AlertStatus.PENDING
    assert alert.last_error == "chat_postMessage failed: internal_error"
    assert alert.next_attempt_at == clock() + timedelta(seconds=2)

    clock.advance(seconds=2)
    assert dispatcher.deliver_due() == 1
    assert len(slack_api.messages("C0PAYMENTS")) == 1


def test_dispatcher_gives_up_on_permanent_error(
    engine: Engine, slack_api: SlackStandIn, clock: TestClock, dispatcher: OutboxDispatcher
) -> None:
    queue(engine, clock, channel="C0GONE")

    dispatcher.deliver_due()

    alert = the_alert(engine)
    assert alert.status == AlertStatus.FAILED
    assert "channel_not_found" in (alert.last_error or "")


def test_dispatcher_gives_up_after_max_attempts(
    engine: Engine, slack_api: SlackStandIn, clock: TestClock, dispatcher: OutboxDispatcher
) -> None:
    queue(engine, clock)
    slack_api.fail("chat.postMessage", "internal_error", times=MAX_ATTEMPTS)

    for _ in range(MAX_ATTEMPTS):
        dispatcher.deliver_due()
        clock.advance(minutes=20)

    assert the_alert(engine).status == AlertStatus.FAILED
    assert slack_api.messages("C0PAYMENTS") == []


def test_dispatcher_posts_thread_reply(
    engine: Engine, slack_api: SlackStandIn, clock: TestClock, dispatcher: OutboxDispatcher
) -> None:
    parent = WebClient(token=BOT_TOKEN, base_url=slack_api.base_url).chat_postMessage(
        channel="C0SALES", text="Quote"
    )
    queue(engine, clock, channel="C0SALES", thread_ts=parent["ts"])

    dispatcher.deliver_due()

    reply = slack_api.messages("C0SALES")[-1]
    assert reply["thread_ts"] == parent["ts"]


def test_dispatcher_finds_post_after_lost_response(
    engine: Engine, slack_api: SlackStandIn, clock: TestClock, dispatcher: OutboxDispatcher
) -> None:
    queue(engine, clock)
    with Session(engine) as session, session.begin():
        alert = session.exec(select(OutboxAlert)).one()
        alert.attempts = 1  # an earlier attempt may have reached Slack
    WebClient(token=BOT_TOKEN, base_url=slack_api.base_url).chat_postMessage(
        channel="C0PAYMENTS",
        text="Alert alert-1",
        metadata={"event_type": "o2c_alert", "event_payload": {"delivery_key": "alert-1"}},
    )

    assert dispatcher.deliver_due() == 1

    assert len(slack_api.messages("C0PAYMENTS")) == 1
    assert the_alert(engine).slack_ts == slack_api.messages("C0PAYMENTS")[0]["ts"]


@pytest.fixture
def worker_env(database_url: str, slack_api: SlackStandIn, tmp_path) -> Iterator[dict[str, str]]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack_api.base_url,
        "STRIPE_API_KEY": STRIPE_KEY,
        "STRIPE_API_BASE": "http://127.0.0.1:9",
        "O2C_PAYMENTS_CHANNEL": "payments",
        "O2C_OUTBOX_INTERVAL": "0.2",
    }
    yield env


def test_dispatcher_restart_after_crash_posts_once(
    engine: Engine, slack_api: SlackStandIn, clock: TestClock, worker_env: dict[str, str], tmp_path
) -> None:
    queue(engine, clock)
    slack_api.hang_after_apply("chat.postMessage")
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker"],
        env=worker_env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        slack_api.wait_for(
            lambda: len(slack_api.messages("C0PAYMENTS")) == 1,
            timeout=30,
            description="worker posted the alert",
        )
        assert the_alert(engine).status == AlertStatus.POSTING
    finally:
        worker.kill()
        worker.wait(timeout=10)
    slack_api.release()

    clock.now = datetime.now(UTC) + CLAIM_TIMEOUT + timedelta(seconds=1)
    restarted = make_dispatcher(engine, slack_api, clock)
    assert restarted.deliver_due() == 1

    assert len(slack_api.messages("C0PAYMENTS")) == 1
    assert len(slack_api.calls_to("chat.postMessage")) == 1
    alert = the_alert(engine)
    assert alert.status == AlertStatus.SENT
    assert alert.slack_ts == slack_api.messages("C0PAYMENTS")[0]["ts"]
    assert alert.attempts == 2


def test_dispatcher_leaves_fresh_claim_alone(
    engine: Engine, slack_api: SlackStandIn, clock: TestClock, dispatcher: OutboxDispatcher
) -> None:
    queue(engine, clock)
    with Session(engine) as session, session.begin():
        alert = session.exec(select(OutboxAlert)).one()
        alert.status = AlertStatus.POSTING
        alert.posting_started_at = clock()

    clock.advance(seconds=CLAIM_TIMEOUT.total_seconds() - 1)
    assert dispatcher.deliver_due() == 0

    assert slack_api.calls_to("chat.postMessage") == []


def test_two_dispatchers_post_each_alert_once(
    engine: Engine, slack_api: SlackStandIn, clock: TestClock
) -> None:
    for number in range(30):
        queue(engine, clock, f"alert-{number}")
    dispatchers = [make_dispatcher(engine, slack_api, clock) for _ in range(2)]
    counts: list[int] = []

    threads = [
        threading.Thread(target=lambda d=d: counts.append(d.deliver_due())) for d in dispatchers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    texts = [message["text"] for message in slack_api.messages("C0PAYMENTS")]
    assert sum(counts) == 30
    assert sorted(texts) == sorted(f"Alert alert-{number}" for number in range(30))
