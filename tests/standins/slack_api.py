"""Local stand-in for Slack's Web API, for tests that run the real Bolt app.

The stand-in is a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 that returns Slack-shaped
bodies for the Web API methods o2c-bot calls, records every call, stores the messages
and views it receives, and can inject rate limits and errors. Point slack_sdk at it with
``WebClient(token=standin.bot_token, base_url=standin.base_url)``.

Response shapes and error names follow the method reference pages at
https://docs.slack.dev/reference/methods/ (mirrored in slack-ruby/slack-api-ref).
"""

from __future__ import annotations

import base64
import copy
import email.parser
import email.policy
import hashlib
import itertools
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

logger = logging.getLogger(__name__)

BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0O2CBOT"
TEAM_ID = "T0TEAM"
TEAM_NAME = "O2C Test"
TEAM_DOMAIN = "o2c-test"
# A workspace URL in Slack's form. Nothing fetches it, because it only appears in bodies.
TEAM_URL = f"https://{TEAM_DOMAIN}.slack.com/"

# Slack lets an app exchange a trigger_id for a view within 3 seconds of the interaction.
TRIGGER_ID_LIFETIME_SECONDS = 3.0

DEFAULT_CHANNELS = {
    "payments": "C0PAYMENTS",
    "deal-desk": "C0DEALDESK",
    "sales": "C0SALES",
    "fulfillment": "C0FULFILL",
    "collections": "C0COLLECT",
}

# Parameters that Slack accepts as JSON-encoded strings in form bodies.
JSON_STRING_PARAMS = ("blocks", "view", "metadata", "attachments", "files")

_USER_ID_PATTERN = re.compile(r"^[UW][A-Z0-9]+$")
_TS_PATTERN = re.compile(r"^\d{1,10}\.\d{6}$")


@dataclass(frozen=True)
class SlackCall:
    """One Web API request received by the stand-in.

    ``params`` never contains a ``token`` argument, and ``has_authorization`` only
    records whether the request carried an ``Authorization`` header.
    """

    method: str
    params: dict[str, Any]
    at: float
    has_authorization: bool = False


@dataclass(frozen=True)
class ResponsePost:
    """One POST received on a response URL issued by ``SlackStandIn.response_url``."""

    url: str
    name: str
    body: dict[str, Any]
    at: float


@dataclass
class UploadedFile:
    """A file announced with files.getUploadURLExternal and its uploaded bytes."""

    id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str | None = None
    channels: list[str] = field(default_factory=list)


class SlackApiFailure(Exception):
    """A Slack error response: HTTP 200 with ``{"ok": false, "error": error}``."""

    def __init__(self, error: str, *messages: str) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


def _flag(value: Any) -> bool:
    """Read a boolean argument sent as JSON, as "1"/"0" (slack_sdk forms) or "true"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return False


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    return int(seconds), int(micros or 0)


class SlackStandIn:
    """Recording stand-in for Slack's Web API on 127.0.0.1.

    Workspace state (channels, users, messages, views, files) lives in this object, and
    every public accessor returns copies so that tests cannot corrupt it by accident.
    """

    def __init__(self, *, bot_token: str = "xoxb-test-standin") -> None:  # noqa: S107 (fake token)
        self.bot_token = bot_token
        self.calls: list[SlackCall] = []
        self.responses: list[ResponsePost] = []
        self.channels: dict[str, str] = dict(DEFAULT_CHANNELS)
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.files: dict[str, UploadedFile] = {}
        self.ephemeral_messages: list[dict[str, Any]] = []

        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._not_member: set[str] = set()
        self._channel_created: dict[str, int] = {}
        self._direct_messages: dict[str, str] = {}  # DM channel id -> user id
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._home_views: dict[str, str] = {}  # user id -> view id
        self._external_view_ids: dict[str, str] = {}
        self._triggers: dict[str, dict[str, Any]] = {}
        self._response_urls: dict[str, dict[str, Any]] = {}
        self._rate_limits: dict[str, list[int]] = {}
        self._failures: dict[str, list[str]] = {}
        self._hangs: dict[str, int] = {}
        self._released = threading.Event()
        self._last_ts_micros = 0
        self._sequence = itertools.count(1)

        self.add_user(BOT_USER_ID, "o2c-bot", "O2C Bot", is_bot=True)
        self.add_user("U0REP", "rep", "Riley Rep")

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SlackStandIn:
        """Start serving on 127.0.0.1 on a free port, in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("SlackStandIn is already started")
        server = ThreadingHTTPServer(("127.0.0.1", 0), _StandInRequestHandler)
        server.daemon_threads = True
        server.standin = self  # type: ignore[attr-defined]
        self._server = server
        # shutdown() waits for one poll of serve_forever, so a short interval keeps stop() fast.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="slack-standin",
            daemon=True,
        )
        self._thread.start()
        logger.info("Slack stand-in started at %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop the server and wait for its thread. Calling it twice is harmless."""
        if self._server is None:
            return
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        logger.info("Slack stand-in stopped")
        self._server = None
        self._thread = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        """The server's origin, e.g. ``http://127.0.0.1:PORT``."""
        if self._server is None:
            raise RuntimeError("SlackStandIn is not started. Call start() first.")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """The Web API base URL for ``WebClient(base_url=...)``, ending with ``/api/``."""
        return f"{self.root_url}/api/"

    # ------------------------------------------------------------------ test set-up

    def add_channel(self, name: str, channel_id: str, member: bool = True) -> None:
        """Add a public channel, with the bot as a member unless ``member`` is False."""
        with self._lock:
            self.channels[name.lstrip("#")] = channel_id
            if member:
                self._not_member.discard(channel_id)
            else:
                self._not_member.add(channel_id)

    def add_user(
        self,
        user_id: str,
        name: str,
        real_name: str,
        tz: str = "UTC",
        is_bot: bool = False,
        *,
        email: str | None = None,
    ) -> None:
        """Add a workspace member. ``email`` defaults to ``<name>@example.com``."""
        profile_email = email if email is not None else f"{name}@example.com"
        with self._lock:
            self.users[user_id] = {
                "id": user_id,
                "team_id": TEAM_ID,
                "name": name,
                "real_name": real_name,
                "deleted": False,
                "tz": tz,
                "is_bot": is_bot,
                "is_admin": False,
                "is_app_user": False,
                "profile": {
                    "real_name": real_name,
                    "display_name": name,
                    "email": None if is_bot else profile_email,
                    "team": TEAM_ID,
                },
            }

    def add_usergroup(self, usergroup_id: str, handle: str, users: list[str]) -> None:
        """Add a user group (Slack's "subteam") with its member user ids."""
        with self._lock:
            self.usergroups[usergroup_id] = {
                "id": usergroup_id,
                "team_id": TEAM_ID,
                "handle": handle,
                "name": handle,
                "users": list(users),
            }

    def post_user_message(
        self, channel: str, user_id: str, text: str, *, thread_ts: str | None = None
    ) -> str:
        """Store a message written by a person, as if posted in the Slack client.

        Returns its ``ts``. Useful for history and thread tests.
        """
        with self._lock:
            channel_id = self._resolve_channel(channel)
            message = {"type": "message", "user": user_id, "text": text, "team": TEAM_ID}
            return self._store_message(channel_id, message, thread_ts=thread_ts)["ts"]

    def rate_limit(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        """Make the next ``times`` calls to ``method`` return HTTP 429 with Retry-After."""
        with self._lock:
            self._rate_limits.setdefault(method, []).extend([retry_after] * times)

    def hang_after_apply(self, method: str, *, times: int = 1) -> None:
        """Apply the next `times` calls to `method`, then withhold the response until `release()`.

        This is Slack having done the work while the caller never hears back, as
        when the calling process dies or its connection drops mid-request.
        """
        with self._lock:
            self._hangs[method] = self._hangs.get(method, 0) + times
            self._released.clear()

    def release(self) -> None:
        """Send every withheld response."""
        self._released.set()

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        """Make the next ``times`` calls to ``method`` return ``{"ok": false, "error": error}``."""
        with self._lock:
            self._failures.setdefault(method, []).extend([error] * times)

    def issue_trigger_id(self, *, issued_at: float | None = None) -> str:
        """Issue a trigger_id as Slack does for an interaction.

        The id encodes its issue time (``time.time()``, or ``issued_at`` to make an
        already expired one) in milliseconds, in Slack's ``<digits>.<digits>.<hex>`` form.
        """
        issued = time.time() if issued_at is None else issued_at
        trigger_id = f"{int(issued * 1000)}.{next(self._sequence)}.{secrets.token_hex(8)}"
        with self._lock:
            self._triggers[trigger_id] = {"issued_at": issued, "exchanged": False}
        return trigger_id

    def response_url(
        self,
        name: str = "",
        *,
        channel_id: str | None = None,
        message_ts: str | None = None,
        user_id: str | None = None,
    ) -> str:
        """Issue a response URL on this server for an interaction payload.

        With ``channel_id`` (and ``message_ts`` for message actions) the stand-in applies
        posts the way Slack does: ``replace_original`` edits that message,
        ``delete_original`` deletes it, ``response_type: in_channel`` posts a new message,
        and anything else is stored as an ephemeral message for ``user_id``.
        """
        slug = re.sub(r"[^A-Za-z0-9_-]", "-", name) or "r"
        token = f"{slug}-{next(self._sequence)}-{secrets.token_hex(4)}"
        with self._lock:
            self._response_urls[token] = {
                "name": name,
                "channel_id": channel_id,
                "message_ts": message_ts,
                "user_id": user_id,
            }
        return f"{self.root_url}/response/{token}"

    # ------------------------------------------------------------------ inspection

    def calls_to(self, method: str) -> list[SlackCall]:
        """Return the recorded calls to one Web API method, oldest first."""
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Return copies of all messages in a channel, thread replies included, by ts.

        ``channel`` may be an id, a name, ``#name`` or a user id (that user's app DM).
        Unlike conversations.history, each copy includes ``metadata`` when it was set.
        """
        with self._lock:
            channel_id = self._resolve_channel(channel, open_dm=False)
            return copy.deepcopy(self._messages.get(channel_id, []))

    def ephemerals(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Return copies of ephemeral messages, optionally only those in one channel."""
        with self._lock:
            channel_id = None if channel is None else self._resolve_channel(channel, False)
            return [
                dict(message)
                for message in self.ephemeral_messages
                if channel_id is None or message["channel"] == channel_id
            ]

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """Return a copy of the App Home view last published for a user, if any."""
        with self._lock:
            view_id = self._home_views.get(user_id)
            return None if view_id is None else copy.deepcopy(self.views[view_id])

    def channel_of(self, ts: str) -> str | None:
        """Return the id of the channel that contains the message with this ts, if any."""
        with self._lock:
            for channel_id, messages in self._messages.items():
                if any(message["ts"] == ts for message in messages):
                    return channel_id
        return None

    def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,
        *,
        description: str | None = None,
    ) -> None:
        """Poll ``predicate`` every 20 ms until it returns True.

        Raises AssertionError naming the condition and the last Web API calls when
        ``timeout`` seconds pass first.
        """
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        condition = description or getattr(predicate, "__name__", repr(predicate))
        with self._lock:
            recent = [call.method for call in self.calls[-10:]]
        raise AssertionError(
            f"Timed out after {timeout} s waiting for {condition}. "
            f"Last Web API calls received: {recent or 'none'}"
        )

    # ------------------------------------------------------------------ internals

    def _next_ts(self) -> str:
        with self._lock:
            micros = max(int(time.time() * 1_000_000), self._last_ts_micros + 1)
            self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _open_direct_message(self, user_id: str) -> str:
        if user_id not in self.users:
            raise SlackApiFailure("user_not_found")
        channel_id = "D" + user_id[1:]
        self._direct_messages[channel_id] = user_id
        self._channel_created.setdefault(channel_id, int(time.time()))
        return channel_id

    def _resolve_channel(self, channel: str, open_dm: bool = True) -> str:
        """Map a channel id, name, ``#name`` or user id to a channel id."""
        if channel.startswith("#"):
            name = channel[1:]
            if name in self.channels:
                return self.channels[name]
            raise SlackApiFailure("channel_not_found")
        if channel in self.channels.values() or channel in self._direct_messages:
            return channel
        if channel in self.channels:
            return self.channels[channel]
        if _USER_ID_PATTERN.match(channel) and channel in self.users:
            if open_dm:
                return self._open_direct_message(channel)
            return "D" + channel[1:]
        if channel.startswith("G") and channel in self._messages:
            return channel
        raise SlackApiFailure("channel_not_found")

    def _channel_name(self, channel_id: str) -> str | None:
        for name, known_id in self.channels.items():
            if known_id == channel_id:
                return name
        return None

    def _is_member(self, channel_id: str) -> bool:
        return channel_id not in self._not_member

    def _store_message(
        self, channel_id: str, message: dict[str, Any], *, thread_ts: str | None = None
    ) -> dict[str, Any]:
        stored = dict(message)
        stored["ts"] = self._next_ts()
        if thread_ts:
            stored["thread_ts"] = thread_ts
            parent = self._find_message(channel_id, thread_ts)
            if parent is not None:
                stored["parent_user_id"] = parent.get("user")
                parent["thread_ts"] = thread_ts
        self._messages.setdefault(channel_id, []).append(stored)
        return stored

    def _find_message(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        for message in self._messages.get(channel_id, []):
            if message["ts"] == ts:
                return message
        return None

    def _bot_message(self, params: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": params.get("text") or "",
        }
        for key in ("blocks", "attachments"):
            if params.get(key):
                message[key] = params[key]
        if params.get("metadata"):
            message["metadata"] = params["metadata"]
        return message

    def _check_trigger(self, params: dict[str, Any]) -> None:
        trigger_id = params.get("trigger_id") or params.get("interactivity_pointer")
        if not trigger_id:
            raise SlackApiFailure("invalid_arguments", "[ERROR] missing required field: trigger_id")
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            raise SlackApiFailure("invalid_arguments", "invalid `trigger_id`")
        if trigger["exchanged"]:
            raise SlackApiFailure("exchanged_trigger_id")
        if time.time() - trigger["issued_at"] > TRIGGER_ID_LIFETIME_SECONDS:
            raise SlackApiFailure("expired_trigger_id")
        trigger["exchanged"] = True

    def _new_view(self, spec: Any, *, view_id: str | None = None) -> dict[str, Any]:
        if not isinstance(spec, dict) or spec.get("type") not in ("modal", "home"):
            raise SlackApiFailure("invalid_arguments", "[ERROR] invalid `view`")
        external_id = spec.get("external_id") or ""
        new_id = view_id or f"V0VIEW{next(self._sequence):04d}"
        if external_id:
            owner = self._external_view_ids.get(external_id)
            if owner is not None and owner != new_id:
                raise SlackApiFailure("duplicate_external_id")
            self._external_view_ids[external_id] = new_id
        view = {
            "id": new_id,
            "team_id": TEAM_ID,
            "type": spec["type"],
            "title": spec.get("title"),
            "close": spec.get("close"),
            "submit": spec.get("submit"),
            "blocks": spec.get("blocks", []),
            "private_metadata": spec.get("private_metadata", ""),
            "callback_id": spec.get("callback_id", ""),
            "external_id": external_id,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "clear_on_close": bool(spec.get("clear_on_close", False)),
            "notify_on_close": bool(spec.get("notify_on_close", False)),
            "root_view_id": new_id,
            "previous_view_id": None,
            "app_id": APP_ID,
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        self.views[new_id] = view
        return view

    def _record(self, method: str, params: dict[str, Any], has_authorization: bool) -> None:
        recorded = {key: value for key, value in params.items() if key != "token"}
        with self._lock:
            self.calls.append(SlackCall(method, recorded, time.monotonic(), has_authorization))

    def _dispatch(
        self, method: str, params: dict[str, Any], bearer_token: str | None
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Handle one Web API call and return (HTTP status, extra headers, JSON body)."""
        token = bearer_token or params.get("token")
        self._record(method, params, bearer_token is not None)
        handler = _METHODS.get(method)
        if handler is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}

        with self._lock:
            pending_limits = self._rate_limits.get(method)
            if pending_limits:
                retry_after = pending_limits.pop(0)
                logger.info("Stand-in rate-limits %s (Retry-After %s)", method, retry_after)
                headers = {"Retry-After": str(retry_after)}
                return 429, headers, {"ok": False, "error": "ratelimited"}
            pending_failures = self._failures.get(method)
            if pending_failures:
                error = pending_failures.pop(0)
                logger.info("Stand-in fails %s with injected error %s", method, error)
                return 200, {}, {"ok": False, "error": error}

        if not token:
            return 200, {}, {"ok": False, "error": "not_authed"}
        if token != self.bot_token:
            return 200, {}, {"ok": False, "error": "invalid_auth"}

        try:
            with self._lock:
                result = handler(self, params)
                hang = bool(self._hangs.get(method))
                if hang:
                    self._hangs[method] -= 1
        except SlackApiFailure as failure:
            logger.debug("Stand-in returns error %s for %s", failure.error, method)
            return 200, {}, failure.body()
        if hang:
            logger.info("Stand-in applied %s and withholds the response", method)
            self._released.wait()
        return 200, {}, {"ok": True, **result}

    def _receive_response_post(self, token: str, body: dict[str, Any]) -> bool:
        """Record and apply a post to a response URL. Return False if it was never issued."""
        with self._lock:
            target = self._response_urls.get(token)
            if target is None:
                return False
            url = f"{self.root_url}/response/{token}"
            self.responses.append(ResponsePost(url, target["name"], body, time.monotonic()))
            self._apply_response(target, body)
        return True

    def _apply_response(self, target: dict[str, Any], body: dict[str, Any]) -> None:
        channel_id = target["channel_id"]
        if channel_id is None:
            return
        original = None
        if target["message_ts"] is not None:
            original = self._find_message(channel_id, target["message_ts"])
        if _flag(body.get("delete_original")):
            if original is not None:
                self._messages[channel_id].remove(original)
            return
        if _flag(body.get("replace_original")):
            # NOTE: a replace for a message the stand-in does not store is recorded only.
            if original is not None:
                original["text"] = body.get("text", "")
                original["blocks"] = body.get("blocks", [])
            return
        if body.get("response_type") == "in_channel":
            self._store_message(
                channel_id, self._bot_message(body), thread_ts=body.get("thread_ts")
            )
            return
        self.ephemeral_messages.append(
            {
                "channel": channel_id,
                "user": target["user_id"],
                "ts": self._next_ts(),
                "text": body.get("text", ""),
                "blocks": body.get("blocks", []),
            }
        )

    def _receive_upload(self, file_id: str, content: bytes) -> bool:
        with self._lock:
            upload = self.files.get(file_id)
            if upload is None:
                return False
            upload.content = content
        return True


# ---------------------------------------------------------------------- Web API methods
# Each handler runs under the stand-in's lock, returns the success fields after
# "ok": true, and raises SlackApiFailure with Slack's error name otherwise.


def _auth_test(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": TEAM_URL,
        "team": TEAM_NAME,
        "user": "o2c-bot",
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


def _existing_channel(standin: SlackStandIn, params: dict[str, Any]) -> str:
    """Resolve the ``channel`` argument without opening a DM, or raise channel_not_found."""
    channel = params.get("channel")
    if not channel:
        raise SlackApiFailure("channel_not_found")
    return standin._resolve_channel(str(channel), open_dm=False)


def _require_message_content(params: dict[str, Any]) -> None:
    if not (params.get("text") or params.get("blocks") or params.get("attachments")):
        raise SlackApiFailure("no_text")


def _postable_channel(standin: SlackStandIn, params: dict[str, Any]) -> str:
    channel = params.get("channel")
    if not channel:
        raise SlackApiFailure("channel_not_found")
    channel_id = standin._resolve_channel(str(channel))
    if not standin._is_member(channel_id):
        raise SlackApiFailure("not_in_channel")
    return channel_id


def _chat_post_message(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    channel_id = _postable_channel(standin, params)
    _require_message_content(params)
    thread_ts = params.get("thread_ts")
    if thread_ts is not None and not _TS_PATTERN.match(str(thread_ts)):
        raise SlackApiFailure("invalid_thread_ts", f"[ERROR] {thread_ts} is not a valid thread_ts")
    # NOTE: Slack accepts a well-formed thread_ts that names no message, and the reply
    # stays hidden from the channel. The stand-in stores such a reply without a parent.
    message = standin._bot_message(params)
    if _flag(params.get("reply_broadcast")) and thread_ts:
        message["subtype"] = "thread_broadcast"
    stored = standin._store_message(channel_id, message, thread_ts=thread_ts)
    return {"channel": channel_id, "ts": stored["ts"], "message": dict(stored)}


def _chat_update(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    channel_id = _existing_channel(standin, params)
    ts = params.get("ts")
    if not ts:
        raise SlackApiFailure("message_not_found")
    message = standin._find_message(channel_id, str(ts))
    if message is None:
        raise SlackApiFailure("message_not_found")
    if message.get("user") != BOT_USER_ID:
        raise SlackApiFailure("cant_update_message")
    _require_message_content(params)

    message["text"] = params.get("text") or ""
    for key in ("blocks", "attachments"):
        if key in params:
            message[key] = params[key]
    if "metadata" in params:
        # Slack keeps earlier metadata unless the call sends some, and {} removes it.
        if params["metadata"]:
            message["metadata"] = params["metadata"]
        else:
            message.pop("metadata", None)
    message["edited"] = {"user": BOT_USER_ID, "ts": standin._next_ts()}
    return {
        "channel": channel_id,
        "ts": message["ts"],
        "text": message["text"],
        "message": dict(message),
    }


def _chat_post_ephemeral(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    channel_id = _postable_channel(standin, params)
    user_id = params.get("user")
    if not user_id or user_id not in standin.users:
        raise SlackApiFailure("user_not_in_channel")
    _require_message_content(params)
    message_ts = standin._next_ts()
    standin.ephemeral_messages.append(
        {
            "channel": channel_id,
            "user": user_id,
            "ts": message_ts,
            "thread_ts": params.get("thread_ts"),
            "text": params.get("text") or "",
            "blocks": params.get("blocks", []),
        }
    )
    return {"message_ts": message_ts}


def _chat_delete(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    channel_id = _existing_channel(standin, params)
    message = standin._find_message(channel_id, str(params.get("ts")))
    if message is None:
        raise SlackApiFailure("message_not_found")
    if message.get("user") != BOT_USER_ID:
        raise SlackApiFailure("cant_delete_message")
    standin._messages[channel_id].remove(message)
    return {"channel": channel_id, "ts": message["ts"]}


def _chat_get_permalink(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    channel_id = _existing_channel(standin, params)
    message = standin._find_message(channel_id, str(params.get("message_ts")))
    if message is None:
        raise SlackApiFailure("message_not_found")
    permalink = f"{TEAM_URL}archives/{channel_id}/p{message['ts'].replace('.', '')}"
    if message.get("thread_ts") and message["thread_ts"] != message["ts"]:
        permalink += f"?thread_ts={message['thread_ts']}&cid={channel_id}"
    return {"channel": channel_id, "permalink": permalink}


def _conversations_open(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("channel"):
        channel_id = standin._resolve_channel(str(params["channel"]), open_dm=False)
        return {"channel": {"id": channel_id}}
    raw_users = params.get("users")
    if not raw_users:
        raise SlackApiFailure("users_list_not_supplied")
    user_ids = raw_users if isinstance(raw_users, list) else str(raw_users).split(",")
    user_ids = [user_id.strip() for user_id in user_ids if user_id.strip()]
    if len(user_ids) > 8:
        raise SlackApiFailure("too_many_users")
    for user_id in user_ids:
        if user_id not in standin.users:
            raise SlackApiFailure("user_not_found")
    if len(user_ids) == 1:
        channel_id = standin._open_direct_message(user_ids[0])
        return {"channel": {"id": channel_id}}
    digest = hashlib.sha1(",".join(sorted(user_ids)).encode(), usedforsecurity=False)
    channel_id = "G" + digest.hexdigest()[:10].upper()
    standin._messages.setdefault(channel_id, [])
    return {"channel": {"id": channel_id}}


def _channel_object(standin: SlackStandIn, channel_id: str) -> dict[str, Any]:
    created = standin._channel_created.setdefault(channel_id, int(time.time()))
    if channel_id in standin._direct_messages:
        return {
            "id": channel_id,
            "created": created,
            "is_im": True,
            "is_org_shared": False,
            "user": standin._direct_messages[channel_id],
            "is_open": True,
        }
    name = standin._channel_name(channel_id) or channel_id.lower()
    return {
        "id": channel_id,
        "name": name,
        "name_normalized": name,
        "is_channel": True,
        "is_group": False,
        "is_im": False,
        "is_mpim": False,
        "is_private": False,
        "is_archived": False,
        "is_general": False,
        "is_shared": False,
        "is_ext_shared": False,
        "is_org_shared": False,
        "is_member": standin._is_member(channel_id),
        "created": created,
        "creator": "U0REP",
        "topic": {"value": "", "creator": "", "last_set": 0},
        "purpose": {"value": "", "creator": "", "last_set": 0},
    }


def _conversations_info(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    channel_id = _existing_channel(standin, params)
    return {"channel": _channel_object(standin, channel_id)}


def _conversations_list(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    """List public and private channels (not DMs), one page of `limit` from `cursor`."""
    channel_ids = [cid for cid in standin.channels.values() if cid not in standin._direct_messages]
    start = int(params.get("cursor") or 0)
    limit = int(params.get("limit") or 100)
    page = channel_ids[start : start + limit]
    next_cursor = str(start + limit) if start + limit < len(channel_ids) else ""
    return {
        "channels": [_channel_object(standin, channel_id) for channel_id in page],
        "response_metadata": {"next_cursor": next_cursor},
    }


def _conversations_join(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    channel_id = _existing_channel(standin, params)
    if channel_id in standin._direct_messages:
        raise SlackApiFailure("method_not_supported_for_channel_type")
    standin._not_member.discard(channel_id)
    return {"channel": _channel_object(standin, channel_id)}


def _readable_channel(standin: SlackStandIn, params: dict[str, Any]) -> str:
    channel_id = _existing_channel(standin, params)
    if not standin._is_member(channel_id):
        raise SlackApiFailure("not_in_channel")
    return channel_id


def _visible_message(message: dict[str, Any], include_metadata: bool) -> dict[str, Any]:
    visible = copy.deepcopy(message)
    if not include_metadata:
        visible.pop("metadata", None)
    return visible


def _with_thread_summary(message: dict[str, Any], replies: list[dict[str, Any]]) -> dict[str, Any]:
    if replies:
        message["reply_count"] = len(replies)
        message["reply_users"] = sorted({reply.get("user", "") for reply in replies})
        message["reply_users_count"] = len(message["reply_users"])
        message["latest_reply"] = replies[-1]["ts"]
    return message


def _time_window(params: dict[str, Any]) -> Callable[[str], bool]:
    """Build the filter for ``oldest``/``latest``, exclusive unless ``inclusive``."""
    inclusive = _flag(params.get("inclusive"))
    bounds = {}
    for name in ("oldest", "latest"):
        value = params.get(name)
        if value in (None, ""):
            continue
        try:
            bounds[name] = float(value)
        except (TypeError, ValueError) as error:
            raise SlackApiFailure(f"invalid_ts_{name}") from error

    def within(ts: str) -> bool:
        value = float(ts)
        if "oldest" in bounds and (
            value < bounds["oldest"] or (value == bounds["oldest"] and not inclusive)
        ):
            return False
        return "latest" not in bounds or (
            value < bounds["latest"] or (value == bounds["latest"] and inclusive)
        )

    return within


def _page(params: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    """Cut one page with Slack's cursor pagination. The stand-in's cursor encodes an offset."""
    try:
        limit = int(params.get("limit") or 100)
    except (TypeError, ValueError) as error:
        raise SlackApiFailure("invalid_arguments", "[ERROR] limit must be an integer") from error
    limit = max(1, min(limit, 999))
    offset = 0
    cursor = params.get("cursor")
    if cursor:
        try:
            decoded = base64.b64decode(str(cursor), validate=True).decode()
            offset = int(decoded.removeprefix("offset:"))
        except (ValueError, UnicodeDecodeError) as error:
            raise SlackApiFailure("invalid_cursor") from error
    page = items[offset : offset + limit]
    has_more = offset + limit < len(items)
    next_cursor = base64.b64encode(f"offset:{offset + limit}".encode()).decode() if has_more else ""
    return {
        "messages": page,
        "has_more": has_more,
        "response_metadata": {"next_cursor": next_cursor},
    }


def _conversations_history(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    channel_id = _readable_channel(standin, params)
    include_metadata = _flag(params.get("include_all_metadata"))
    within = _time_window(params)
    all_messages = standin._messages.get(channel_id, [])
    top_level = [
        message
        for message in all_messages
        if message.get("thread_ts") in (None, message["ts"])
        or message.get("subtype") == "thread_broadcast"
    ]
    visible = []
    for message in sorted(top_level, key=lambda m: _ts_key(m["ts"]), reverse=True):
        if not within(message["ts"]):
            continue
        replies = [
            reply
            for reply in all_messages
            if reply.get("thread_ts") == message["ts"] and reply["ts"] != message["ts"]
        ]
        visible.append(_with_thread_summary(_visible_message(message, include_metadata), replies))
    return {"pin_count": 0, **_page(params, visible)}


def _conversations_replies(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    channel_id = _readable_channel(standin, params)
    ts = params.get("ts")
    if not ts:
        raise SlackApiFailure("thread_not_found")
    parent = standin._find_message(channel_id, str(ts))
    if parent is None:
        raise SlackApiFailure("thread_not_found")
    include_metadata = _flag(params.get("include_all_metadata"))
    within = _time_window(params)
    thread_ts = parent.get("thread_ts") or parent["ts"]
    thread = [
        message
        for message in standin._messages.get(channel_id, [])
        if message["ts"] == thread_ts or message.get("thread_ts") == thread_ts
    ]
    thread.sort(key=lambda m: _ts_key(m["ts"]))
    replies = thread[1:]
    visible = [
        _visible_message(message, include_metadata)
        for message in thread
        if message["ts"] == thread_ts or within(message["ts"])
    ]
    if visible and visible[0]["ts"] == thread_ts:
        _with_thread_summary(visible[0], replies)
    return _page(params, visible)


def _users_info(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    user = standin.users.get(str(params.get("user") or ""))
    if user is None:
        raise SlackApiFailure("user_not_found")
    return {"user": copy.deepcopy(user)}


def _users_lookup_by_email(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    email_address = str(params.get("email") or "").lower()
    for user in standin.users.values():
        if email_address and (user["profile"].get("email") or "").lower() == email_address:
            return {"user": copy.deepcopy(user)}
    raise SlackApiFailure("users_not_found")


def _usergroups_users_list(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    group = standin.usergroups.get(str(params.get("usergroup") or ""))
    if group is None:
        raise SlackApiFailure("no_such_subteam")
    return {"users": list(group["users"])}


def _require_view(params: dict[str, Any]) -> Any:
    if not params.get("view"):
        raise SlackApiFailure("invalid_arguments", "[ERROR] missing required field: view")
    return params["view"]


def _views_open(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    spec = _require_view(params)
    standin._check_trigger(params)
    return {"view": dict(standin._new_view(spec))}


def _views_push(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    spec = _require_view(params)
    standin._check_trigger(params)
    view = standin._new_view(spec)
    return {"view": dict(view)}


def _views_update(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    spec = _require_view(params)
    view_id = params.get("view_id")
    if not view_id and params.get("external_id"):
        view_id = standin._external_view_ids.get(str(params["external_id"]))
        if view_id is None:
            raise SlackApiFailure("not_found")
    if not view_id:
        raise SlackApiFailure("invalid_arguments", "[ERROR] view_id or external_id is required")
    current = standin.views.get(str(view_id))
    if current is None:
        raise SlackApiFailure("not_found")
    if params.get("hash") and params["hash"] != current["hash"]:
        raise SlackApiFailure("hash_conflict")
    updated = standin._new_view(spec, view_id=current["id"])
    updated["root_view_id"] = current["root_view_id"]
    updated["previous_view_id"] = current["previous_view_id"]
    return {"view": dict(updated)}


def _views_publish(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    user_id = str(params.get("user_id") or "")
    if not _USER_ID_PATTERN.match(user_id):
        raise SlackApiFailure("invalid_arguments", "invalid `user_id`")
    spec = _require_view(params)
    if not isinstance(spec, dict) or spec.get("type") != "home":
        raise SlackApiFailure("invalid_arguments", "[ERROR] a published view must be type home")
    current_id = standin._home_views.get(user_id)
    current = standin.views.get(current_id) if current_id else None
    if params.get("hash") and (current is None or params["hash"] != current["hash"]):
        raise SlackApiFailure("hash_conflict")
    view = standin._new_view(spec, view_id=current_id)
    standin._home_views[user_id] = view["id"]
    return {"view": dict(view)}


def _files_get_upload_url_external(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    filename = params.get("filename")
    try:
        length = int(params.get("length") or 0)
    except (TypeError, ValueError):
        length = 0
    if not filename or length <= 0:
        raise SlackApiFailure("missing_argument")
    file_id = f"F0FILE{next(standin._sequence):04d}"
    standin.files[file_id] = UploadedFile(id=file_id, filename=str(filename), length=length)
    return {"upload_url": f"{standin.root_url}/upload/{file_id}", "file_id": file_id}


def _files_complete_upload_external(
    standin: SlackStandIn, params: dict[str, Any]
) -> dict[str, Any]:
    entries = params.get("files")
    if not isinstance(entries, list) or not entries:
        raise SlackApiFailure("invalid_arguments", "[ERROR] missing required field: files")
    uploads = []
    for entry in entries:
        upload = standin.files.get(str(entry.get("id")))
        if upload is None or upload.content is None:
            raise SlackApiFailure("file_not_found")
        upload.title = entry.get("title") or upload.filename
        uploads.append(upload)

    targets = []
    if params.get("channel_id"):
        targets.append(str(params["channel_id"]))
    if params.get("channels"):
        targets.extend(part.strip() for part in str(params["channels"]).split(","))
    channel_ids = []
    for target in targets:
        try:
            channel_id = standin._resolve_channel(target)
        except SlackApiFailure as error:
            raise SlackApiFailure("invalid_channel") from error
        if not standin._is_member(channel_id):
            raise SlackApiFailure("posting_to_channel_denied")
        channel_ids.append(channel_id)

    file_objects = [
        {
            "id": upload.id,
            "name": upload.filename,
            "title": upload.title,
            "size": len(upload.content or b""),
            "channels": channel_ids,
            "user": BOT_USER_ID,
        }
        for upload in uploads
    ]
    for upload in uploads:
        upload.channels = list(channel_ids)
    for channel_id in channel_ids:
        message = standin._bot_message({"text": params.get("initial_comment") or ""})
        message["files"] = file_objects
        standin._store_message(channel_id, message, thread_ts=params.get("thread_ts"))
    return {"files": file_objects}


_METHODS: dict[str, Callable[[SlackStandIn, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": _auth_test,
    "chat.postMessage": _chat_post_message,
    "chat.update": _chat_update,
    "chat.postEphemeral": _chat_post_ephemeral,
    "chat.delete": _chat_delete,
    "chat.getPermalink": _chat_get_permalink,
    "conversations.open": _conversations_open,
    "conversations.info": _conversations_info,
    "conversations.history": _conversations_history,
    "conversations.replies": _conversations_replies,
    "conversations.join": _conversations_join,
    "conversations.list": _conversations_list,
    "users.info": _users_info,
    "users.lookupByEmail": _users_lookup_by_email,
    "usergroups.users.list": _usergroups_users_list,
    "views.open": _views_open,
    "views.update": _views_update,
    "views.push": _views_push,
    "views.publish": _views_publish,
    "files.getUploadURLExternal": _files_get_upload_url_external,
    "files.completeUploadExternal": _files_complete_upload_external,
}


# ---------------------------------------------------------------------- HTTP layer


def _parse_body(content_type: str, raw: bytes, query: str) -> dict[str, Any]:
    """Decode a Web API request body: form, JSON or multipart, plus the query string.

    Raises SlackApiFailure with ``invalid_json`` or ``invalid_form_data`` when the body
    cannot be decoded.
    """
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    media_type = content_type.split(";")[0].strip().lower()
    if not raw:
        return params
    if media_type == "application/json":
        try:
            decoded = json.loads(raw)
        except ValueError as error:
            raise SlackApiFailure("invalid_json") from error
        if not isinstance(decoded, dict):
            raise SlackApiFailure("invalid_json")
        params.update(decoded)
    elif media_type == "multipart/form-data":
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw
        )
        if not message.is_multipart():
            raise SlackApiFailure("invalid_form_data")
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is None:
                params[str(name)] = payload.decode("utf-8")
            else:
                params[str(name)] = payload
    else:
        try:
            params.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError as error:
            raise SlackApiFailure("invalid_form_data") from error

    for key in JSON_STRING_PARAMS:
        value = params.get(key)
        if isinstance(value, str) and value.strip():
            try:
                params[key] = json.loads(value)
            except ValueError as error:
                name = "invalid_blocks_format" if key == "blocks" else "invalid_arguments"
                raise SlackApiFailure(name, f"[ERROR] {key} is not valid JSON") from error
    return params


class _StandInRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def standin(self) -> SlackStandIn:
        return self.server.standin  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("Slack stand-in %s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        path = url.path
        try:
            if path.startswith("/api/"):
                self._handle_api(path.removeprefix("/api/"), raw, url.query)
            elif path.startswith("/response/"):
                self._handle_response_post(path.removeprefix("/response/"), raw)
            elif path.startswith("/upload/") and self.command == "POST":
                found = self.standin._receive_upload(path.removeprefix("/upload/"), raw)
                if found:
                    self._send_text(200, f"OK - {len(raw)}")
                else:
                    self._send_text(404, "upload URL not issued by this stand-in")
            else:
                self._send_text(404, f"no stand-in route for {path}")
        except Exception:
            logger.exception("Slack stand-in failed on %s %s", self.command, path)
            self._send_json(500, {"ok": False, "error": "internal_error"})

    def _handle_api(self, method: str, raw: bytes, query: str) -> None:
        authorization = self.headers.get("Authorization")
        bearer_token = None
        if authorization is not None:
            scheme, _, credentials = authorization.partition(" ")
            bearer_token = credentials.strip() if scheme.lower() == "bearer" else ""
        try:
            params = _parse_body(self.headers.get("Content-Type") or "", raw, query)
        except SlackApiFailure as failure:
            self.standin._record(method, {}, authorization is not None)
            self._send_json(200, failure.body())
            return
        status, headers, body = self.standin._dispatch(method, params, bearer_token)
        self._send_json(status, body, headers)

    def _handle_response_post(self, token: str, raw: bytes) -> None:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._send_text(400, "invalid_payload")
            return
        if not isinstance(body, dict):
            self._send_text(400, "invalid_payload")
            return
        if self.standin._receive_response_post(token, body):
            self._send_json(200, {"ok": True})
        else:
            self._send_text(404, "response_url not issued by this stand-in")

    def _send_json(self, status: int, body: dict[str, Any], headers: dict | None = None) -> None:
        payload = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_text(self, status: int, text: str) -> None:
        payload = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
