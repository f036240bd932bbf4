"""The alert outbox: Slack messages written in the same transaction as the
state change they report, delivered later by one dispatcher.

`delivery_key` is unique, so a state change that runs twice queues one alert,
and the dispatcher stamps the key into the Slack message's metadata so it can
find a message it posted before a crash.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Column, Field, Session, SQLModel, col, select

from models.columns import UTCDateTime, enum_column


@dataclass(frozen=True)
class AlertChannels:
    """The Slack channels (ids or names) that alerts go to."""

    payments: str
    deal_desk: str = ""


class AlertStatus(StrEnum):
    """Delivery state of an alert."""

    PENDING = "pending"
    POSTING = "posting"
    SENT = "sent"
    FAILED = "failed"


class OutboxAlert(SQLModel, table=True):
    """One Slack message to deliver to a channel (id, name or user id).

    `text` is the plain fallback; `payload` holds the facts (JSON) from which
    the dispatcher renders the message's blocks for this alert's `kind`.
    """

    __tablename__ = "outbox_alert"

    id: int | None = Field(default=None, primary_key=True)
    delivery_key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=64)
    channel: str = Field(max_length=80)
    thread_ts: str | None = Field(default=None, max_length=32)
    text: str
    payload: str = Field(default="{}")
    status: AlertStatus = Field(
        default=AlertStatus.PENDING, sa_column=enum_column(AlertStatus, index=True)
    )
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    posting_started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    slack_channel_id: str | None = Field(default=None, max_length=32)
    slack_ts: str | None = Field(default=None, max_length=32)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))

    def facts(self) -> dict[str, Any]:
        """Return the decoded payload."""
        result: dict[str, Any] = json.loads(self.payload)
        return result


def queue_alert(
    session: Session,
    *,
    delivery_key: str,
    kind: str,
    channel: str,
    text: str,
    at: datetime,
    payload: dict[str, Any] | None = None,
    thread_ts: str | None = None,
) -> OutboxAlert:
    """Add an alert to the caller's transaction, once per `delivery_key`."""
    existing = session.exec(
        select(OutboxAlert).where(OutboxAlert.delivery_key == delivery_key)
    ).first()
    if existing is not None:
        return existing

    alert = OutboxAlert(
        delivery_key=delivery_key,
        kind=kind,
        channel=channel,
        thread_ts=thread_ts,
        text=text,
        payload=json.dumps(payload or {}, sort_keys=True, default=str),
        next_attempt_at=at,
        created_at=at,
    )
    session.add(alert)
    return alert


def claim_next(session: Session, now: datetime, claim_timeout: timedelta) -> OutboxAlert | None:
    """Claim the oldest due alert for delivery and return it, or None.

    Due means pending with `next_attempt_at` passed, or left in posting by a
    dispatcher that stopped more than `claim_timeout` ago. On PostgreSQL the
    row is locked with SKIP LOCKED, so concurrent dispatchers take different
    rows; the caller commits to release the lock.
    """
    stale = now - claim_timeout
    statement = (
        select(OutboxAlert)
        .where(
            or_(
                and_(
                    col(OutboxAlert.status) == AlertStatus.PENDING,
                    col(OutboxAlert.next_attempt_at) <= now,
                ),
                and_(
                    col(OutboxAlert.status) == AlertStatus.POSTING,
                    col(OutboxAlert.posting_started_at) <= stale,
                ),
            )
        )
        .order_by(col(OutboxAlert.next_attempt_at), col(OutboxAlert.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    alert = session.exec(statement).first()
    if alert is None:
        return None

    alert.status = AlertStatus.POSTING
    alert.posting_started_at = now
    alert.attempts += 1
    session.add(alert)
    return alert


QUOTE_REFRESH = "quote_refresh"


def queue_quote_refresh(
    session: Session,
    *,
    quote_id: int,
    channel_id: str | None,
    ts: str | None,
    reason: str,
    at: datetime,
) -> None:
    """Queue a redraw of a quote's Slack message after a change made outside Slack.

    Nothing is queued when the quote has no message yet. A redraw shows the
    quote's state at delivery time, so repeating one is harmless.
    """
    if not channel_id or not ts:
        return
    queue_alert(
        session,
        delivery_key=f"{QUOTE_REFRESH}:{quote_id}:{reason}",
        kind=QUOTE_REFRESH,
        channel=channel_id,
        text=f"Quote {quote_id} changed: {reason}",
        payload={"quote_id": quote_id, "ts": ts},
        at=at,
    )
