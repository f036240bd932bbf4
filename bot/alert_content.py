"""Rendering outbox alerts into Slack messages at delivery time."""

from collections.abc import Callable
from typing import Any

from sqlmodel import Session, col, select

from bot.approval_views import approval_blocks, approval_text, follow_up_blocks
from bot.views import (
    escape_message,
    payment_link_blocks,
    payment_received_blocks,
    quote_blocks,
    quote_text,
)
from models.approval_summary import summarize_request
from models.approvals import APPROVAL_REQUEST
from models.outbox import AlertStatus, OutboxAlert
from models.policy import Policy
from models.summary import summarize_quote

Blocks = list[dict[str, Any]]

FACT_RENDERERS = {
    "payment_received": payment_received_blocks,
    "payment_link_created": payment_link_blocks,
    "follow_up": follow_up_blocks,
}


class DatabaseAlertContent:
    """Builds alert messages from the outbox row's facts or from current database state."""

    def __init__(self, new_session: Callable[[], Session], policy: Policy) -> None:
        self._new_session = new_session
        self._policy = policy

    def message(self, alert: OutboxAlert) -> tuple[str, Blocks | None]:
        """Return the alert's text, escaped for mrkdwn but for our own user mentions, and its blocks."""
        if alert.kind == APPROVAL_REQUEST:
            return self.approval_message(int(alert.facts()["request_id"]))
        renderer = FACT_RENDERERS.get(alert.kind)
        if renderer is None:
            return escape_message(alert.text), None
        return escape_message(alert.text), [block.to_dict() for block in renderer(alert.facts())]

    def quote_message(self, quote_id: int) -> tuple[str, Blocks]:
        with self._new_session() as session:
            quote = summarize_quote(session, quote_id)
        return quote_text(quote), [block.to_dict() for block in quote_blocks(quote)]

    def approval_message(self, request_id: int) -> tuple[str, Blocks]:
        with self._new_session() as session:
            summary = summarize_request(session, request_id, self._policy)
        return approval_text(summary), [block.to_dict() for block in approval_blocks(summary)]

    def approval_targets(self, request_id: int) -> list[tuple[str, str]]:
        """Return (channel id, ts) of every request message already posted for this request."""
        prefix = f"{APPROVAL_REQUEST}:{request_id}:"
        with self._new_session() as session:
            rows = session.exec(
                select(OutboxAlert).where(
                    OutboxAlert.kind == APPROVAL_REQUEST,
                    col(OutboxAlert.delivery_key).startswith(prefix),
                    OutboxAlert.status == AlertStatus.SENT,
                )
            ).all()
        return [
            (row.slack_channel_id, row.slack_ts)
            for row in rows
            if row.slack_channel_id and row.slack_ts
        ]
