"""Approval state that quote edits change: superseded requests and closed follow-ups.

Kept apart from `models.approvals` so that quote editing can use it without
importing the approval workflow.
"""

from datetime import datetime

from sqlmodel import Session, select

from models.approval import ApprovalRequest, FollowUpStatus, FollowUpTask, RequestStatus
from models.outbox import queue_alert
from models.quote import Quote

APPROVAL_REFRESH = "approval_refresh"


def supersede_requests(
    session: Session, quote: Quote, actor_id: str, at: datetime, reason: str = ""
) -> None:
    """Close the quote's open request because its version is being replaced or the quote closed."""
    statement = select(ApprovalRequest).where(
        ApprovalRequest.quote_id == quote.id, ApprovalRequest.status == RequestStatus.OPEN
    )
    for request in session.exec(statement).all():
        request.status = RequestStatus.SUPERSEDED
        request.closed_at = at
        request.outcome_reason = reason or f"Replaced by version {quote.version + 1}"
        session.add(request)
        queue_approval_refresh(session, request, f"superseded:{quote.version}", at)


def has_request_for_version(session: Session, quote: Quote) -> bool:
    """Return True when a request exists for the quote's current version."""
    statement = select(ApprovalRequest.id).where(
        ApprovalRequest.quote_id == quote.id, ApprovalRequest.quote_version == quote.version
    )
    return session.exec(statement).first() is not None


def close_follow_ups(session: Session, quote: Quote, at: datetime) -> None:
    """Close open follow-up tasks of a quote that changed; their reason is gone."""
    statement = select(FollowUpTask).where(
        FollowUpTask.quote_id == quote.id, FollowUpTask.status == FollowUpStatus.OPEN
    )
    for task in session.exec(statement).all():
        task.status = FollowUpStatus.CLOSED
        task.done_at = at
        session.add(task)


def queue_approval_refresh(
    session: Session, request: ApprovalRequest, reason: str, at: datetime
) -> None:
    """Queue a redraw of every message that shows this request."""
    queue_alert(
        session,
        delivery_key=f"{APPROVAL_REFRESH}:{request.id}:{reason}",
        kind=APPROVAL_REFRESH,
        channel="-",
        text=f"Approval request {request.id} changed",
        payload={"request_id": request.id},
        at=at,
    )
