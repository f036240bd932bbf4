"""Approval requests for quotes outside policy, and the decisions on them."""

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from models.columns import UTCDateTime, enum_column


class RequestStatus(StrEnum):
    """The state of an approval request."""

    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
    CHANGES_REQUESTED = "changes_requested"
    CREDIT_DENIED = "credit_denied"
    SUPERSEDED = "superseded"


class Decision(StrEnum):
    """An approver's decision for one tier."""

    APPROVED = "approved"
    REJECTED = "rejected"
    CHANGES_REQUESTED = "changes_requested"


class ApprovalRequest(SQLModel, table=True):
    """A request for the tiers one quote version needs.

    `tiers` and `findings` are JSON: the tier names in policy order, and the
    rules that fired with their reasons. A request whose changes were
    requested reopens for the quote's next version when the rep resubmits.
    """

    __tablename__ = "approval_request"

    id: int | None = Field(default=None, primary_key=True)
    quote_id: int = Field(foreign_key="quote.id", index=True)
    quote_version: int
    status: RequestStatus = Field(
        default=RequestStatus.OPEN, sa_column=enum_column(RequestStatus, index=True)
    )
    tiers: str = "[]"
    findings: str = "[]"
    rep_note: str = Field(default="", max_length=2000)
    submitted_by: str = Field(max_length=32)
    submitted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    reminded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    escalated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    outcome_reason: str = Field(default="", max_length=2000)
    revision: int = 1

    def tier_names(self) -> list[str]:
        names: list[str] = json.loads(self.tiers)
        return names

    def finding_list(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = json.loads(self.findings)
        return found


class ApprovalDecision(SQLModel, table=True):
    """One decision for one tier of one quote version; the unique key keeps it to one."""

    __tablename__ = "approval_decision"
    __table_args__ = (UniqueConstraint("request_id", "quote_version", "tier"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="approval_request.id", index=True)
    quote_version: int
    tier: str = Field(max_length=64)
    decision: Decision = Field(sa_column=enum_column(Decision))
    actor: str = Field(max_length=32)
    reason: str = Field(default="", max_length=2000)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class FollowUpStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CLOSED = "closed"


class FollowUpTask(SQLModel, table=True):
    """A task for a rep after credit was denied, reminded until done or the quote changes."""

    __tablename__ = "follow_up_task"

    id: int | None = Field(default=None, primary_key=True)
    quote_id: int = Field(foreign_key="quote.id", index=True)
    quote_version: int
    owner_user_id: str = Field(max_length=32, index=True)
    text: str = Field(max_length=500)
    status: FollowUpStatus = Field(
        default=FollowUpStatus.OPEN, sa_column=enum_column(FollowUpStatus, index=True)
    )
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    next_reminder_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    reminders_sent: int = 0
    done_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
