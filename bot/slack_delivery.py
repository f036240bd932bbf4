"""Posting outbox alerts to Slack, and finding an alert that was posted before a crash.

Each message carries Slack message metadata (`event_type` o2c_alert, with
the alert's delivery key), so the dispatcher can search the channel or
thread for it before posting again.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.views import payment_link_blocks, payment_received_blocks, quote_blocks, quote_text
from models.outbox import QUOTE_REFRESH, OutboxAlert
from models.summary import QuoteSummary

logger = logging.getLogger(__name__)

METADATA_EVENT_TYPE = "o2c_alert"
HISTORY_PAGES = 5

RENDERERS = {
    "payment_received": payment_received_blocks,
    "payment_link_created": payment_link_blocks,
}


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


class SlackPoster:
    """Sends alerts through a WebClient that does not retry 429s itself.

    `load_quote` returns the current snapshot of a quote, for redrawing its
    message when an outbox row requests it.
    """

    def __init__(
        self, client: WebClient, load_quote: Callable[[int], QuoteSummary] | None = None
    ) -> None:
        self._client = client
        self._load_quote = load_quote
        self._channel_ids: dict[str, str] = {}

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
        """Post the alert with its delivery key in the message metadata, or redraw a quote message."""
        if alert.kind == QUOTE_REFRESH:
            return self._redraw_quote(alert, channel_id)
        renderer = RENDERERS.get(alert.kind)
        blocks = [block.to_dict() for block in renderer(alert.facts())] if renderer else None
        response = self._call(
            "chat_postMessage",
            channel=channel_id,
            text=alert.text,
            blocks=blocks,
            thread_ts=alert.thread_ts,
            metadata={
                "event_type": METADATA_EVENT_TYPE,
                "event_payload": {"delivery_key": alert.delivery_key},
            },
            unfurl_links=False,
        )
        return Posted(channel_id=str(response["channel"]), ts=str(response["ts"]))

    def _redraw_quote(self, alert: OutboxAlert, channel_id: str) -> Posted:
        facts = alert.facts()
        if self._load_quote is None:
            raise DeliveryError("no quote loader configured for quote redraws", permanent=True)
        quote = self._load_quote(int(facts["quote_id"]))
        blocks = [block.to_dict() for block in quote_blocks(quote)]
        self._call(
            "chat_update", channel=channel_id, ts=facts["ts"], text=quote_text(quote), blocks=blocks
        )
        return Posted(channel_id=channel_id, ts=str(facts["ts"]))

    def find_posted(self, alert: OutboxAlert, channel_id: str, since: datetime) -> Posted | None:
        """Return the message already posted for this alert, if Slack has one.

        A quote redraw edits a message in place, so it is never searched for.
        """
        if alert.kind == QUOTE_REFRESH:
            return None
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
