"""Posting outbox alerts to Slack, and finding an alert that was posted before a crash.

Each message carries Slack message metadata (`event_type` o2c_alert, with
the alert's delivery key), so the dispatcher can search the channel or
thread for it before posting again.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from models.approval_state import APPROVAL_REFRESH
from models.outbox import QUOTE_REFRESH, OutboxAlert

logger = logging.getLogger(__name__)

METADATA_EVENT_TYPE = "o2c_alert"
HISTORY_PAGES = 5


class RateLimited(Exception):
    """Slack returned 429; `retry_after` is its Retry-After header in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited for {retry_after} s")
        self.retry_after = retry_after


class DeliveryError(Exception):
    """Slack refused or could not be reached; `permanent` means retrying will not help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "msg_too_long",
        "invalid_auth",
        "account_inactive",
        "missing_scope",
    }
)


@dataclass(frozen=True)
class Posted:
    channel_id: str
    ts: str


class AlertContent(Protocol):
    """Renders alerts from the database at delivery time, so messages show current state."""

    def message(self, alert: OutboxAlert) -> tuple[str, list[dict[str, Any]] | None]: ...

    def quote_message(self, quote_id: int) -> tuple[str, list[dict[str, Any]]]: ...

    def approval_message(self, request_id: int) -> tuple[str, list[dict[str, Any]]]: ...

    def approval_targets(self, request_id: int) -> list[tuple[str, str]]: ...


class SlackPoster:
    """Sends alerts through a WebClient that does not retry 429s itself."""

    def __init__(self, client: WebClient, content: AlertContent | None = None) -> None:
        self._client = client
        self._content = content
        self._channel_ids: dict[str, str] = {}

    def deliver(self, alert: OutboxAlert, *, maybe_posted: bool) -> Posted:
        """Post the alert, or edit the messages it redraws.

        With `maybe_posted`, an earlier attempt may have reached Slack, so the
        channel is searched for the alert's delivery key before posting.
        Redraws edit messages in place, so repeating one is harmless.
        """
        if alert.kind == QUOTE_REFRESH:
            return self._redraw_quote(alert)
        if alert.kind == APPROVAL_REFRESH:
            return self._redraw_approval(alert)

        channel_id = alert.slack_channel_id or self.resolve_channel(alert.channel)
        if maybe_posted:
            found = self.find_posted(alert, channel_id, alert.created_at)
            if found is not None:
                logger.info(
                    "alert was already posted; recording it",
                    extra={"alert_id": alert.id, "delivery_key": alert.delivery_key},
                )
                return found
        return self.post(alert, channel_id)

    def resolve_channel(self, channel: str) -> str:
        """Turn a channel name or user id into the conversation id that history searches need."""
        if channel in self._channel_ids:
            return self._channel_ids[channel]
        name = channel.lstrip("#")
        if name[:1] in ("C", "G", "D") and name.isupper() and name.isalnum():
            resolved = name
        elif name[:1] in ("U", "W") and name.isupper() and name.isalnum():
            response = self._call("conversations_open", users=name)
            resolved = str(response["channel"]["id"])
        else:
            resolved = self._find_channel_by_name(name)
        self._channel_ids[channel] = resolved
        return resolved

    def post(self, alert: OutboxAlert, channel_id: str) -> Posted:
        """Post the alert with its delivery key in the message metadata."""
        text, blocks = self._content.message(alert) if self._content else (alert.text, None)
        response = self._call(
            "chat_postMessage",
            channel=channel_id,
            text=text,
            blocks=blocks,
            thread_ts=alert.thread_ts,
            metadata={
                "event_type": METADATA_EVENT_TYPE,
                "event_payload": {"delivery_key": alert.delivery_key},
            },
            unfurl_links=False,
        )
        return Posted(channel_id=str(response["channel"]), ts=str(response["ts"]))

    def _redraw_quote(self, alert: OutboxAlert) -> Posted:
        facts = alert.facts()
        content = self._require_content()
        text, blocks = content.quote_message(int(facts["quote_id"]))
        channel_id = self.resolve_channel(alert.channel)
        self._call("chat_update", channel=channel_id, ts=facts["ts"], text=text, blocks=blocks)
        return Posted(channel_id=channel_id, ts=str(facts["ts"]))

    def _redraw_approval(self, alert: OutboxAlert) -> Posted:
        request_id = int(alert.facts()["request_id"])
        content = self._require_content()
        text, blocks = content.approval_message(request_id)
        targets = content.approval_targets(request_id)
        for channel_id, ts in targets:
            self._call("chat_update", channel=channel_id, ts=ts, text=text, blocks=blocks)
        first = targets[0] if targets else ("", "")
        return Posted(channel_id=first[0], ts=first[1])

    def _require_content(self) -> AlertContent:
        if self._content is None:
            raise DeliveryError("no alert content configured for redraws", permanent=True)
        return self._content

    def find_posted(self, alert: OutboxAlert, channel_id: str, since: datetime) -> Posted | None:
        """Return the message already posted for this alert, if Slack has one."""
        oldest = f"{since.timestamp() - 60:.6f}"
        cursor = None
        for _ in range(HISTORY_PAGES):
            if alert.thread_ts:
                response = self._call(
                    "conversations_replies",
                    channel=channel_id,
                    ts=alert.thread_ts,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
            else:
                response = self._call(
                    "conversations_history",
                    channel=channel_id,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
            for message in response.get("messages", []):
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                if payload.get("delivery_key") == alert.delivery_key:
                    return Posted(channel_id=channel_id, ts=str(message["ts"]))
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None

    def _find_channel_by_name(self, name: str) -> str:
        cursor = None
        while True:
            response = self._call(
                "conversations_list",
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=200,
                cursor=cursor,
            )
            for channel in response.get("channels", []):
                if channel.get("name") == name:
                    return str(channel["id"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                raise DeliveryError(
                    f"channel '{name}' not found; invite the bot or use the channel id",
                    permanent=True,
                )

    def _call(self, method: str, **arguments: Any) -> Any:
        arguments = {key: value for key, value in arguments.items() if value is not None}
        try:
            return getattr(self._client, method)(**arguments)
        except SlackApiError as error:
            status = error.response.status_code
            if status == 429:
                raise RateLimited(int(error.response.headers.get("Retry-After", "1"))) from error
            code = str(error.response.get("error", "unknown_error"))
            raise DeliveryError(
                f"{method} failed: {code}", permanent=code in PERMANENT_ERRORS
            ) from error
        except OSError as error:
            raise DeliveryError(f"{method} failed: {error.__class__.__name__}") from error
