"""`o2c run` as a user starts it: one process serving Slack, the Stripe webhook and the jobs.

The whole path runs against that process: the /quote modal, its submission,
the payment link button, a signed checkout.session.completed, and the
payment alert posted once.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import BOT_TOKEN, SIGNING_SECRET, STRIPE_KEY
from tests.handlers.test_quote_command import form_values
from tests.slack_requests import SlackClientSim, external_select_value
from tests.standins.slack_api import SlackStandIn
from tests.standins.stripe_api import StripeStandIn

CATALOG = "sku,name,unit_price,currency,interval,active\nWIDGET-1,Widget,19.99,USD,,true\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def run_env(tmp_path: Path, slack_api: SlackStandIn, stripe_api: StripeStandIn) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api.base_url,
        "STRIPE_API_KEY": STRIPE_KEY,
        "STRIPE_API_BASE": stripe_api.base_url,
        "STRIPE_WEBHOOK_SECRET": stripe_api.webhook_secret,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'o2c.db'}",
        "O2C_PAYMENTS_CHANNEL": "payments",
        "O2C_HOST": "127.0.0.1",
        "PORT": str(free_port()),
        "O2C_OUTBOX_INTERVAL": "0.2",
    }


@pytest.fixture
def running_bot(run_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    (tmp_path / "products.csv").write_text(CATALOG)
    imported = subprocess.run(
        [sys.executable, "-m", "bot.cli", "catalog", "import", "products.csv"],
        env=run_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert imported.returncode == 0, imported.stderr
    assert "1 created" in imported.stdout

    log = (tmp_path / "o2c.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        env=run_env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{run_env['PORT']}"
    try:
        wait_until_healthy(url, process)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=20)
        log.close()
        output = (tmp_path / "o2c.log").read_text()
        assert exit_code in (0, -signal.SIGTERM), (
            output
        )  # uvicorn re-raises SIGTERM after a clean shutdown
        assert "Application shutdown complete" in output
        assert BOT_TOKEN not in output
        assert SIGNING_SECRET not in output
        assert STRIPE_KEY not in output


def wait_until_healthy(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "o2c run exited during start-up"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("o2c run did not answer /healthz within 30 s")


def test_o2c_run_whole_path(
    running_bot: str, slack_api: SlackStandIn, stripe_api: StripeStandIn
) -> None:
    slack = SlackClientSim(running_bot, SIGNING_SECRET, slack_api)

    assert slack.slash_command("/quote").status_code == 200
    slack_api.wait_for(lambda: slack_api.calls_to("views.open"), description="modal opened")
    view = slack_api.calls_to("views.open")[0].params["view"]

    options = slack.block_suggestion(
        "customer_select", "Acme Corp", block_id="customer", view=view
    ).json()["options"]
    assert options[0]["value"] == "new:Acme Corp"

    values = form_values(
        customer={
            "customer_select": external_select_value("new:Acme Corp", "New customer: Acme Corp")
        }
    )
    submitted = slack.view_submission(
        "quote_form", values, private_metadata=json.dumps({"channel_id": "C0SALES", "lines": 2})
    )
    assert submitted.status_code == 200
    slack_api.wait_for(lambda: slack_api.messages("C0SALES"), description="quote preview posted")
    preview = slack_api.messages("C0SALES")[0]
    assert "1,263.46 USD" in json.dumps(preview["blocks"])

    actions = next(block for block in preview["blocks"] if block["type"] == "actions")
    button = next(
        element for element in actions["elements"] if element["action_id"] == "quote_send_link"
    )
    slack.block_action(
        "quote_send_link", value=button["value"], block_id=actions["block_id"], message=preview
    )
    slack_api.wait_for(
        lambda: len(slack_api.messages("C0SALES")) == 2,
        description="payment link posted in the thread",
    )
    link = stripe_api.objects("payment_link")[0]
    assert link["url"] in slack_api.messages("C0SALES")[1]["text"]
    charged = sum(
        item["price_data"]["unit_amount"] * item["quantity"]
        for item in next(r for r in stripe_api.requests if r.path == "/v1/payment_links").params[
            "line_items"
        ]
    )
    assert charged == 126346

    checkout = stripe_api.complete_checkout(link["id"])
    payload = stripe_api.event("checkout.session.completed", checkout)
    for _ in range(2):  # Stripe redelivers; the second changes nothing
        response = httpx.post(
            f"{running_bot}/stripe/webhook",
            content=payload,
            headers={"Stripe-Signature": stripe_api.sign(payload)},
        )
        assert response.status_code == 200
    slack_api.wait_for(lambda: slack_api.messages("C0PAYMENTS"), description="payment alert posted")
    slack_api.wait_for(
        lambda: "Paid" in json.dumps(slack_api.messages("C0SALES")[0]["blocks"]),
        description="quote shows paid",
    )
    time.sleep(1)  # several outbox ticks: nothing may be posted twice

    [alert] = slack_api.messages("C0PAYMENTS")
    assert "Payment received: 1,263.46 USD" in alert["text"]
    assert len([m for m in slack_api.messages("C0SALES") if "Payment received" in m["text"]]) == 1
    slack.close()
