"""Plain snapshots of approval requests for rendering."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from models.approval import ApprovalDecision, ApprovalRequest, Decision, RequestStatus
from models.errors import NotFound
from models.policy import Policy
from models.summary import QuoteSummary, summarize_quote


@dataclass(frozen=True)
class TierState:
    """One tier of a request and its decision, if any, for the request's version."""

    name: str
    label: str
    decision: Decision | None = None
    actor: str | None = None
    at: datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class ApprovalSummary:
    """Everything an approval request message shows."""

    request_id: int
    status: RequestStatus
    revision: int
    quote: QuoteSummary
    version: int
    findings: tuple[tuple[str, str], ...]
    tiers: tuple[TierState, ...]
    rep_note: str
    outcome_reason: str
    submitted_by: str
    escalated: bool


def summarize_request(session: Session, request_id: int, policy: Policy) -> ApprovalSummary:
    """Load a request with its quote and decisions as a snapshot."""
    request = session.get(ApprovalRequest, request_id)
    if request is None:
        raise NotFound(f"Approval request {request_id} was not found.")
    assert request.id is not None

    decisions = {
        decision.tier: decision
        for decision in session.exec(
            select(ApprovalDecision)
            .where(
                ApprovalDecision.request_id == request.id,
                ApprovalDecision.quote_version == request.quote_version,
            )
            .order_by(col(ApprovalDecision.id))
        ).all()
    }
    tiers = []
    for name in request.tier_names():
        label = _label(policy, name)
        decided = decisions.get(name)
        if decided is None:
            tiers.append(TierState(name, label))
        else:
            tiers.append(
                TierState(name, label, decided.decision, decided.actor, decided.at, decided.reason)
            )

    labels = {name: _label(policy, name) for name in request.tier_names()}
    return ApprovalSummary(
        request_id=request.id,
        status=request.status,
        revision=request.revision,
        quote=summarize_quote(session, request.quote_id),
        version=request.quote_version,
        findings=tuple(
            (labels.get(finding["tier"], finding["tier"]), finding["reason"])
            for finding in request.finding_list()
        ),
        tiers=tuple(tiers),
        rep_note=request.rep_note,
        outcome_reason=request.outcome_reason,
        submitted_by=request.submitted_by,
        escalated=request.escalated_at is not None,
    )


def _label(policy: Policy, name: str) -> str:
    try:
        return policy.tier(name).label
    except KeyError:
        return name
