"""Signed requests to the Bolt app under test, built the way Slack builds them.

``SlackClientSim`` plays the Slack platform. It sends slash commands, interaction
payloads and Events API callbacks to the app's ``POST /slack/events`` with Slack's
request signature. Trigger ids and response URLs come from the Web API stand-in, so the
app's follow-up calls (views.open, respond) reach the stand-in.

Payload shapes follow https://docs.slack.dev/reference/interaction-payloads/ and the
request signing guide at https://docs.slack.dev/authentication/verifying-requests-from-slack.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.standins.slack_api import APP_ID, BOT_ID, BOT_USER_ID, TEAM_DOMAIN, SlackStandIn

# The deprecated verification token that Slack still sends in every payload.
VERIFICATION_TOKEN = "verification-token-standin"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


# ---------------------------------------------------------------------- state values


def plain_text_value(text: str) -> dict[str, Any]:
    """Return a plain_text_input's entry in ``view.state.values``."""
    return {"type": "plain_text_input", "value": text}


def static_select_value(value: str, text: str) -> dict[str, Any]:
    """Return a static_select's entry in ``view.state.values``."""
    return {"type": "static_select", "selected_option": _option(value, text)}


def external_select_value(value: str, text: str) -> dict[str, Any]:
    """Return an external_select's entry in ``view.state.values``."""
    return {"type": "external_select", "selected_option": _option(value, text)}


def datepicker_value(date: str) -> dict[str, Any]:
    """Return a datepicker's entry in ``view.state.values`` for a YYYY-MM-DD ``date``."""
    return {"type": "datepicker", "selected_date": date}


def multi_users_value(user_ids: list[str]) -> dict[str, Any]:
    """Return a multi_users_select's entry in ``view.state.values``."""
    return {"type": "multi_users_select", "selected_users": list(user_ids)}


def _option(value: str, text: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text, "emoji": True}, "value": value}


# ---------------------------------------------------------------------- client


class SlackClientSim:
    """Sends Slack-signed requests to the app under test and returns its HTTP responses.

    ``last_trigger_id`` is the trigger id sent with the latest command or interaction.
    The stand-in issued it, so views.open with it succeeds within 3 seconds.
    """

    def __init__(
        self,
        app_url: str,
        signing_secret: str,
        standin: SlackStandIn,
        *,
        team_id: str = "T0TEAM",
        timeout: float = 10.0,
    ) -> None:
        self.events_url = app_url.rstrip("/") + "/slack/events"
        self.signing_secret = signing_secret
        self.standin = standin
        self.team_id = team_id
        self.last_trigger_id = ""
        self._http = httpx.Client(timeout=timeout)
        self._sequence = itertools.count(1)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SlackClientSim:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ signing

    def sign(self, body: str, timestamp: int | None = None) -> dict[str, str]:
        """Return Slack's signature headers for ``body``.

        The signature is ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}`` keyed by
        the signing secret. Pass an old ``timestamp`` to build a stale request.
        """
        request_time = int(time.time()) if timestamp is None else timestamp
        base = f"v0:{request_time}:{body}".encode()
        digest = hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        return {
            "X-Slack-Request-Timestamp": str(request_time),
            "X-Slack-Signature": f"v0={digest}",
        }

    def send(
        self,
        body: str,
        *,
        content_type: str = FORM_CONTENT_TYPE,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POST a raw body to ``/slack/events``.

        The request is signed with ``sign`` unless ``headers`` is given, so tests can
        send bad or stale signatures.
        """
        request_headers = {"Content-Type": content_type}
        request_headers.update(self.sign(body) if headers is None else headers)
        return self._http.post(self.events_url, content=body.encode(), headers=request_headers)

    def send_payload(self, payload: dict[str, Any]) -> httpx.Response:
        """POST an interaction payload as Slack does: one form field ``payload=<json>``."""
        return self.send(urlencode({"payload": json.dumps(payload)}))

    # ------------------------------------------------------------------ requests

    def slash_command(
        self,
        command: str,
        text: str = "",
        *,
        user_id: str = "U0REP",
        channel_id: str = "C0SALES",
    ) -> httpx.Response:
        """Send a slash command as a flat form post, with a fresh trigger id."""
        trigger_id = self._new_trigger_id()
        response_url = self.standin.response_url(
            f"command-{command.lstrip('/')}", channel_id=channel_id, user_id=user_id
        )
        form = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel_id,
            "channel_name": self._channel_name(channel_id),
            "user_id": user_id,
            "user_name": self._user_name(user_id),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
        return self.send(urlencode(form))

    def block_action(
        self,
        action_id: str,
        *,
        value: str | None = None,
        user_id: str = "U0REP",
        block_id: str = "b",
        message: dict[str, Any] | None = None,
        channel_id: str | None = None,
        view: dict[str, Any] | None = None,
        selected_option: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """Send a block_actions payload for one element in a message or a view.

        Give ``message`` (a stored message, e.g. from ``standin.messages``) for a
        message button, or ``view`` for a modal or App Home element. The element is a
        button unless ``selected_option`` makes it a static_select; ``extra`` updates
        the element, e.g. ``{"type": "datepicker", "selected_date": "2026-12-31"}``.
        """
        if (message is None) == (view is None):
            raise ValueError("block_action needs exactly one of message= or view=")

        action: dict[str, Any] = {
            "type": "button",
            "action_id": action_id,
            "block_id": block_id,
            "action_ts": self._action_ts(),
        }
        if selected_option is not None:
            action["type"] = "static_select"
            action["selected_option"] = selected_option
        elif value is not None:
            action["value"] = value
        action.update(extra or {})

        payload = self._interaction_envelope("block_actions", user_id)
        payload["trigger_id"] = self._new_trigger_id()
        payload["actions"] = [action]
        if message is not None:
            message_channel = channel_id or self.standin.channel_of(message.get("ts", ""))
            if message_channel is None:
                raise ValueError(
                    f"message ts {message.get('ts')!r} is not stored in the stand-in. "
                    "Pass channel_id= with the message's channel."
                )
            payload["container"] = {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": message_channel,
                "is_ephemeral": False,
            }
            payload["channel"] = {
                "id": message_channel,
                "name": self._channel_name(message_channel),
            }
            payload["message"] = message
            payload["state"] = {"values": {}}
            payload["response_url"] = self.standin.response_url(
                f"action-{action_id}",
                channel_id=message_channel,
                message_ts=message["ts"],
                user_id=user_id,
            )
        else:
            assert view is not None
            full_view = self._view_payload(view)
            payload["container"] = {"type": "view", "view_id": full_view["id"]}
            payload["view"] = full_view
        return self.send_payload(payload)

    def view_submission(
        self,
        callback_id: str,
        values: dict[str, dict[str, Any]],
        *,
        user_id: str = "U0REP",
        private_metadata: str = "",
        view_id: str | None = None,
    ) -> httpx.Response:
        """Send a view_submission payload with ``values`` as ``view.state.values``.

        With the ``view_id`` of a view the stand-in opened, the payload carries that
        view's blocks, title and hash, as Slack's would.
        """
        spec: dict[str, Any] = {"callback_id": callback_id, "private_metadata": private_metadata}
        if view_id is not None:
            spec["id"] = view_id
        view = self._view_payload(spec)
        view["callback_id"] = callback_id
        view["private_metadata"] = private_metadata
        view["state"] = {"values": values}

        payload = self._interaction_envelope("view_submission", user_id)
        payload["trigger_id"] = self._new_trigger_id()
        payload["view"] = view
        payload["response_urls"] = []
        return self.send_payload(payload)

    def block_suggestion(
        self,
        action_id: str,
        value: str,
        *,
        block_id: str,
        user_id: str = "U0REP",
        view: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """Send a block_suggestion (options load) payload for an external_select."""
        full_view = self._view_payload(view or {})
        payload = self._interaction_envelope("block_suggestion", user_id)
        payload["container"] = {"type": "view", "view_id": full_view["id"]}
        payload["action_id"] = action_id
        payload["block_id"] = block_id
        payload["value"] = value
        payload["view"] = full_view
        return self.send_payload(payload)

    def event(self, event: dict[str, Any]) -> httpx.Response:
        """Send an Events API ``event_callback`` envelope as JSON, as Slack does."""
        now = time.time()
        inner = dict(event)
        inner.setdefault("event_ts", f"{now:.6f}")
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "api_app_id": APP_ID,
            "event": inner,
            "type": "event_callback",
            "event_id": f"Ev0STANDIN{next(self._sequence):04d}",
            "event_time": int(now),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        return self.send(json.dumps(envelope), content_type="application/json")

    # ------------------------------------------------------------------ helpers

    def _new_trigger_id(self) -> str:
        self.last_trigger_id = self.standin.issue_trigger_id()
        return self.last_trigger_id

    def _action_ts(self) -> str:
        return f"{time.time():.6f}"

    def _user_name(self, user_id: str) -> str:
        user = self.standin.users.get(user_id)
        return user["name"] if user else user_id.lower()

    def _channel_name(self, channel_id: str) -> str:
        if channel_id.startswith("D"):
            return "directmessage"
        for name, known_id in self.standin.channels.items():
            if known_id == channel_id:
                return name
        return channel_id.lower()

    def _interaction_envelope(self, payload_type: str, user_id: str) -> dict[str, Any]:
        return {
            "type": payload_type,
            "user": {
                "id": user_id,
                "username": self._user_name(user_id),
                "name": self._user_name(user_id),
                "team_id": self.team_id,
            },
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "team": {"id": self.team_id, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _view_payload(self, view: dict[str, Any]) -> dict[str, Any]:
        """Fill a view to the shape Slack sends, starting from the stored view if known."""
        stored = self.standin.views.get(view.get("id", ""))
        full: dict[str, Any] = {
            "id": f"V0SIM{next(self._sequence):05d}",
            "team_id": self.team_id,
            "type": "modal",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "hash": f"{int(time.time())}.sim",
            "title": {"type": "plain_text", "text": "Modal"},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
            "previous_view_id": None,
            "root_view_id": None,
            "app_id": APP_ID,
            "external_id": "",
            "app_installed_team_id": self.team_id,
            "bot_id": BOT_ID,
        }
        if stored is not None:
            full.update(copy.deepcopy(stored))
        full.update(view)
        if full["root_view_id"] is None:
            full["root_view_id"] = full["id"]
        return full
