"""`o2c run` as a user starts it: one process serving Slack, the Stripe webhook and the jobs.

The whole path runs against that process: the /quote modal, its submission,
the payment link button, a signed checkout.session.completed, and the
payment alert posted once.
"""

import contextlib
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
from tests.handlers.test_approvals import POLICY
from tests.handlers.test_quote_command import form_values
from tests.slack_requests import (
    SlackClientSim,
    external_select_value,
    plain_text_value,
    static_select_value,
)
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
    with running(run_env, tmp_path) as url:
        yield url


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


def buttons_of(message: dict) -> dict[str, tuple[str, str]]:
    found = {}
    for block in message.get("blocks", []):
        if block["type"] == "actions":
            for element in block["elements"]:
                found[element["action_id"]] = (element["value"], block["block_id"])
    return found


def latest(slack_api: SlackStandIn, channel: str, ts: str) -> dict:
    return next(m for m in slack_api.messages(channel) if m["ts"] == ts)


def test_o2c_run_three_approvals_then_link(
    run_env: dict[str, str], tmp_path: Path, slack_api: SlackStandIn, stripe_api: StripeStandIn
) -> None:
    (tmp_path / "policy.toml").write_text(POLICY)
    run_env.update(
        {"O2C_CONFIG": str(tmp_path / "policy.toml"), "O2C_DEAL_DESK_CHANNEL": "deal-desk"}
    )
    for user_id, name in [("U0MGR", "manager"), ("U0VP", "vp"), ("U0FIN", "finance")]:
        slack_api.add_user(user_id, name, name.title())
    slack_api.add_usergroup("S0FIN", "finance", ["U0FIN"])
    with running(run_env, tmp_path) as url:
        walk_three_approvals(url, slack_api, stripe_api)


def walk_three_approvals(url: str, slack_api: SlackStandIn, stripe_api: StripeStandIn) -> None:
    slack = SlackClientSim(url, SIGNING_SECRET, slack_api)

    # The rep quotes 35% off; finance sets a limit the quote exceeds.
    slack.slash_command("/quote", "Acme Corp; 100 x WIDGET-1; discount 35%")
    slack_api.wait_for(lambda: slack_api.messages("C0SALES"), description="quote posted")
    quote_ts = slack_api.messages("C0SALES")[0]["ts"]
    slack.slash_command("/customer", "Acme Corp", user_id="U0FIN")
    slack_api.wait_for(
        lambda: any("Change credit" in json.dumps(p.body) for p in slack_api.responses),
        description="finance sees the card",
    )
    card = next(p.body for p in slack_api.responses if "Change credit" in json.dumps(p.body))
    customer_id = int(
        next(
            e["value"]
            for b in card["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "customer_change_credit"
        )
    )
    limit = {
        "credit_limit": {"value": plain_text_value("500.00")},
        "credit_currency": {"value": static_select_value("USD", "USD")},
        "payment_terms": {"value": static_select_value("net_30", "Net 30")},
        "credit_status": {"value": static_select_value("good", "Good")},
    }
    saved = slack.view_submission(
        "customer_credit_form",
        limit,
        user_id="U0FIN",
        private_metadata=json.dumps({"customer_id": customer_id, "credit_currency": None}),
    )
    assert saved.status_code == 200
    assert saved.text == ""

    # The rep requests the link, and the quote goes to the deal desk instead.
    send_value, send_block = buttons_of(latest(slack_api, "C0SALES", quote_ts))["quote_send_link"]
    slack.block_action(
        "quote_send_link",
        value=send_value,
        block_id=send_block,
        message=latest(slack_api, "C0SALES", quote_ts),
    )
    slack_api.wait_for(
        lambda: slack_api.messages("C0DEALDESK"), description="request posted to the deal desk"
    )
    request_ts = slack_api.messages("C0DEALDESK")[0]["ts"]
    request_text = json.dumps(slack_api.messages("C0DEALDESK")[0]["blocks"])
    assert "Discount 35% is above 30%" in request_text
    assert "over the credit limit of 500.00 USD" in request_text
    slack_api.wait_for(
        lambda: "Pending approval" in json.dumps(latest(slack_api, "C0SALES", quote_ts)["blocks"]),
        description="quote shows pending approval",
    )

    for approver, decided in [
        ("U0MGR", "Sales manager"),
        ("U0OTHER", None),
        ("U0VP", "VP"),
        ("U0FIN", "Finance"),
    ]:
        assert stripe_api.objects("payment_link") == []
        request = latest(slack_api, "C0DEALDESK", request_ts)
        value, block = buttons_of(request)["approval_approve"]
        before = len(slack_api.responses)
        slack.block_action(
            "approval_approve", value=value, block_id=block, message=request, user_id=approver
        )
        if decided is None:
            slack_api.wait_for(
                lambda before=before: len(slack_api.responses) > before, description="refusal"
            )
            assert "Only approvers of" in slack_api.responses[-1].body["text"]
            continue
        slack_api.wait_for(
            lambda approver=approver: (
                f"by <@{approver}>"
                in json.dumps(latest(slack_api, "C0DEALDESK", request_ts)["blocks"])
            ),
            description=f"{decided} decision shown",
        )

    slack_api.wait_for(
        lambda: stripe_api.objects("payment_link"),
        description="payment link after the last approval",
    )
    link = stripe_api.objects("payment_link")[0]
    slack_api.wait_for(
        lambda: any(link["url"] in m["text"] for m in slack_api.messages("C0SALES")),
        description="link posted in the quote thread",
    )
    slack_api.wait_for(
        lambda: "Status: *Sent*" in json.dumps(latest(slack_api, "C0SALES", quote_ts)["blocks"]),
        description="quote shows sent",
    )
    final_request = latest(slack_api, "C0DEALDESK", request_ts)
    assert buttons_of(final_request) == {}
    assert ":white_check_mark: Approved" in json.dumps(final_request["blocks"])
    slack.close()


@contextlib.contextmanager
def running(run_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """Start `o2c run` with the catalog loaded; stop it with SIGTERM and check its log."""
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
