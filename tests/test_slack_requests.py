"""Tests for SlackClientSim against a minimal real Bolt app served over HTTP.

The app runs on slack_bolt's Starlette adapter under uvicorn on 127.0.0.1. Its
WebClient points at the Slack stand-in, so the tests cover signature checks, payload
parsing and the app's follow-up Web API calls.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from slack_bolt import App
from slack_bolt.adapter.starlette import SlackRequestHandler
from slack_sdk import WebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.slack_requests import (
    SlackClientSim,
    datepicker_value,
    external_select_value,
    multi_users_value,
    plain_text_value,
    static_select_value,
)
from tests.standins.slack_api import SlackStandIn

SIGNING_SECRET = "test-signing-secret"
CUSTOMERS = {"acme": "Acme Corp", "acorn": "Acorn Ltd", "globex": "Globex"}


def build_bolt_app(standin: SlackStandIn, received: list[dict[str, Any]]) -> App:
    """Build a small Bolt app that exercises each request type the client sends."""
    app = App(
        signing_secret=SIGNING_SECRET,
        client=WebClient(token=standin.bot_token, base_url=standin.base_url),
    )

    @app.command("/hello")
    def hello(ack, body, client) -> None:
        received.append(body)
        ack(f"Hello <@{body['user_id']}>, you said: {body['text']}")
        if body["text"] == "modal":
            client.views_open(
                trigger_id=body["trigger_id"],
                view={
                    "type": "modal",
                    "callback_id": "discount_form",
                    "title": {"type": "plain_text", "text": "Discount"},
                    "blocks": [],
                },
            )

    @app.action("approve_quote")
    def approve(ack, body, respond) -> None:
        received.append(body)
        ack()
        quote_id = body["actions"][0]["value"]
        respond(replace_original=True, text=f"{quote_id} approved by <@{body['user']['id']}>")

    @app.view("discount_form")
    def submit_discount(ack, body, view, client) -> None:
        received.append(body)
        discount = int(view["state"]["values"]["discount"]["percent"]["value"])
        if discount > 20:
            ack(response_action="errors", errors={"discount": "The maximum discount is 20%."})
            return
        ack()
        client.chat_postMessage(channel="#deal-desk", text=f"Discount {discount}% requested")

    @app.options("customer_search")
    def search_customers(ack, payload) -> None:
        received.append(payload)
        query = payload["value"].lower()
        ack(
            options=[
                {"text": {"type": "plain_text", "text": name}, "value": key}
                for key, name in CUSTOMERS.items()
                if key.startswith(query)
            ]
        )

    @app.event("app_home_opened")
    def publish_home(event, client) -> None:
        client.views_publish(
            user_id=event["user"],
            view={"type": "home", "blocks": [{"type": "divider"}]},
        )

    return app


class BoltServer:
    """Runs a Starlette app under uvicorn on 127.0.0.1 on a free port, in a thread."""

    def __init__(self, asgi_app: Starlette) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        host, port = self._socket.getsockname()
        self.url = f"http://{host}:{port}"
        config = uvicorn.Config(asgi_app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"uvicorn did not start on {self.url} within 10 s")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as running:
        yield running


@pytest.fixture
def received() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def slack(standin: SlackStandIn, received: list[dict[str, Any]]) -> Iterator[SlackClientSim]:
    handler = SlackRequestHandler(build_bolt_app(standin, received))

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    server = BoltServer(Starlette(routes=[Route("/slack/events", events, methods=["POST"])]))
    server.start()
    try:
        with SlackClientSim(server.url, SIGNING_SECRET, standin) as client:
            yield client
    finally:
        server.stop()


# ---------------------------------------------------------------------- slash commands


def test_slash_command_acked_with_text(slack: SlackClientSim) -> None:
    response = slack.slash_command("/hello", "world")

    # Bolt sends an ack with only a string as a text/plain body, which Slack displays.
    assert response.status_code == 200
    assert response.text == "Hello <@U0REP>, you said: world"


def test_slash_command_sends_slack_fields(
    slack: SlackClientSim, standin: SlackStandIn, received: list[dict[str, Any]]
) -> None:
    slack.slash_command("/hello", "fields", channel_id="C0DEALDESK")

    body = received[0]
    assert body["command"] == "/hello"
    assert body["channel_id"] == "C0DEALDESK"
    assert body["channel_name"] == "deal-desk"
    assert body["team_id"] == "T0TEAM"
    assert body["user_name"] == "rep"
    assert body["trigger_id"] == slack.last_trigger_id
    assert body["response_url"].startswith(standin.root_url + "/response/")


def test_slash_command_fresh_trigger_each_time(slack: SlackClientSim) -> None:
    slack.slash_command("/hello", "one")
    first = slack.last_trigger_id
    slack.slash_command("/hello", "two")

    assert first != slack.last_trigger_id


def test_slash_command_trigger_opens_modal(slack: SlackClientSim, standin: SlackStandIn) -> None:
    slack.slash_command("/hello", "modal")

    standin.wait_for(lambda: bool(standin.views), description="views.open to succeed")
    (view,) = standin.views.values()
    assert view["callback_id"] == "discount_form"


def test_bolt_app_checks_token_at_start(slack: SlackClientSim, standin: SlackStandIn) -> None:
    assert len(standin.calls_to("auth.test")) >= 1


# ---------------------------------------------------------------------- signatures


def test_signature_valid_accepted(slack: SlackClientSim) -> None:
    body = "command=%2Fhello&text=signed&user_id=U0REP&team_id=T0TEAM&channel_id=C0SALES"

    response = slack.send(body, headers=slack.sign(body))

    assert response.status_code == 200


def test_signature_tampered_body_401(slack: SlackClientSim) -> None:
    headers = slack.sign("command=%2Fhello&text=original")

    response = slack.send("command=%2Fhello&text=tampered", headers=headers)

    assert response.status_code == 401


def test_signature_wrong_secret_401(slack: SlackClientSim, standin: SlackStandIn) -> None:
    impostor = SlackClientSim(slack.events_url.removesuffix("/slack/events"), "wrong", standin)

    with impostor:
        response = impostor.slash_command("/hello", "hi")

    assert response.status_code == 401


def test_signature_stale_timestamp_401(slack: SlackClientSim) -> None:
    body = "command=%2Fhello&text=late"
    six_minutes_ago = int(time.time()) - 6 * 60

    response = slack.send(body, headers=slack.sign(body, timestamp=six_minutes_ago))

    assert response.status_code == 401


def test_signature_missing_headers_401(slack: SlackClientSim) -> None:
    response = slack.send("command=%2Fhello&text=unsigned", headers={})

    assert response.status_code == 401


def test_sign_header_format(slack: SlackClientSim) -> None:
    headers = slack.sign("a=b", timestamp=1_700_000_000)

    assert headers["X-Slack-Request-Timestamp"] == "1700000000"
    assert headers["X-Slack-Signature"].startswith("v0=")
    assert len(headers["X-Slack-Signature"]) == 3 + 64


# ---------------------------------------------------------------------- block actions


def test_block_action_respond_replaces_message(
    slack: SlackClientSim, standin: SlackStandIn
) -> None:
    client = WebClient(token=standin.bot_token, base_url=standin.base_url)
    client.chat_postMessage(channel="#sales", text="Approve Q-42?")
    message = standin.messages("sales")[0]

    response = slack.block_action("approve_quote", value="Q-42", message=message)

    assert response.status_code == 200
    standin.wait_for(lambda: bool(standin.responses), description="a response_url post")
    assert standin.responses[0].body["replace_original"] is True
    assert standin.messages("sales")[0]["text"] == "Q-42 approved by <@U0REP>"


def test_block_action_payload_shape(
    slack: SlackClientSim, standin: SlackStandIn, received: list[dict[str, Any]]
) -> None:
    ts = standin.post_user_message("sales", "U0REP", "Approve Q-1?")
    message = standin.messages("sales")[0]

    slack.block_action("approve_quote", value="Q-1", block_id="quote_actions", message=message)

    body = received[0]
    action = body["actions"][0]
    assert body["type"] == "block_actions"
    assert body["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": "C0SALES",
        "is_ephemeral": False,
    }
    assert body["channel"] == {"id": "C0SALES", "name": "sales"}
    assert body["trigger_id"] == slack.last_trigger_id
    assert action["type"] == "button"
    assert action["action_id"] == "approve_quote"
    assert action["block_id"] == "quote_actions"
    assert action["value"] == "Q-1"
    assert "action_ts" in action


def test_block_action_view_container(slack: SlackClientSim, received: list[dict[str, Any]]) -> None:
    view = {"id": "V0HOME", "type": "home", "blocks": []}

    slack.block_action("approve_quote", value="Q-5", view=view)

    body = received[0]
    assert body["container"] == {"type": "view", "view_id": "V0HOME"}
    assert body["view"]["type"] == "home"
    assert "response_url" not in body


def test_block_action_needs_message_or_view(slack: SlackClientSim) -> None:
    with pytest.raises(ValueError, match="exactly one of message= or view="):
        slack.block_action("approve_quote", value="Q-1")


# ---------------------------------------------------------------------- view submissions


def test_view_submission_errors_response(slack: SlackClientSim) -> None:
    response = slack.view_submission(
        "discount_form", {"discount": {"percent": plain_text_value("35")}}
    )

    assert response.status_code == 200
    assert response.json() == {
        "response_action": "errors",
        "errors": {"discount": "The maximum discount is 20%."},
    }


def test_view_submission_valid_posts_message(slack: SlackClientSim, standin: SlackStandIn) -> None:
    response = slack.view_submission(
        "discount_form", {"discount": {"percent": plain_text_value("15")}}
    )

    assert response.status_code == 200
    assert response.text == ""
    standin.wait_for(lambda: bool(standin.messages("deal-desk")))
    assert standin.messages("deal-desk")[0]["text"] == "Discount 15% requested"


def test_view_submission_uses_opened_view(
    slack: SlackClientSim, standin: SlackStandIn, received: list[dict[str, Any]]
) -> None:
    slack.slash_command("/hello", "modal")
    standin.wait_for(lambda: bool(standin.views))
    (view_id,) = standin.views

    slack.view_submission(
        "discount_form",
        {"discount": {"percent": plain_text_value("5")}},
        private_metadata='{"quote_id": "Q-8"}',
        view_id=view_id,
    )

    view = received[-1]["view"]
    assert view["id"] == view_id
    assert view["hash"] == standin.views[view_id]["hash"]
    assert json.loads(view["private_metadata"]) == {"quote_id": "Q-8"}


# ---------------------------------------------------------------------- options, events


def test_block_suggestion_returns_options(slack: SlackClientSim) -> None:
    response = slack.block_suggestion("customer_search", "ac", block_id="customer")

    values = [option["value"] for option in response.json()["options"]]
    assert response.status_code == 200
    assert values == ["acme", "acorn"]


def test_block_suggestion_payload_shape(
    slack: SlackClientSim, received: list[dict[str, Any]]
) -> None:
    slack.block_suggestion("customer_search", "glo", block_id="customer")

    payload = received[0]
    assert payload["type"] == "block_suggestion"
    assert payload["action_id"] == "customer_search"
    assert payload["block_id"] == "customer"
    assert payload["value"] == "glo"
    assert payload["container"]["type"] == "view"


def test_event_app_home_opened_publishes(slack: SlackClientSim, standin: SlackStandIn) -> None:
    response = slack.event({"type": "app_home_opened", "user": "U0REP", "tab": "home"})

    assert response.status_code == 200
    standin.wait_for(lambda: standin.home_view("U0REP") is not None)
    assert standin.home_view("U0REP")["blocks"] == [{"type": "divider"}]


# ---------------------------------------------------------------------- state value helpers


def test_state_value_helpers_slack_shapes() -> None:
    option = {"text": {"type": "plain_text", "text": "Net 30", "emoji": True}, "value": "net30"}

    assert plain_text_value("3") == {"type": "plain_text_input", "value": "3"}
    assert static_select_value("net30", "Net 30") == {
        "type": "static_select",
        "selected_option": option,
    }
    assert external_select_value("net30", "Net 30")["type"] == "external_select"
    assert external_select_value("net30", "Net 30")["selected_option"] == option
    assert datepicker_value("2026-12-31") == {
        "type": "datepicker",
        "selected_date": "2026-12-31",
    }
    assert multi_users_value(["U1", "U2"]) == {
        "type": "multi_users_select",
        "selected_users": ["U1", "U2"],
    }
