"""Approval use cases: submit a quote to the deal desk, decide, remind and escalate.

An approval applies to one quote version. Decisions take the request row's
lock (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite), and a unique key
covers request, version and tier. So when two approvers press at once, one
decision is recorded and the second gets a message naming who decided first.
"""

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models import audit
from models.approval import (
    ApprovalDecision,
    ApprovalRequest,
    Decision,
    FollowUpStatus,
    FollowUpTask,
    RequestStatus,
)
from models.approval_state import queue_approval_refresh
from models.credit import credit_facts, has_paid_before
from models.errors import InvalidInput, InvalidState, NotAllowed, NotFound
from models.money import Money
from models.outbox import AlertChannels, queue_alert, queue_quote_refresh
from models.permissions import ensure_can_manage
from models.policy import (
    Finding,
    LineFacts,
    Policy,
    QuoteFacts,
    RuleKind,
    Tier,
    evaluate,
    required_tiers,
)
from models.quote import Quote, QuoteStatus
from models.quoting import Actor, get_quote

logger = logging.getLogger(__name__)

APPROVAL_REQUEST = "approval_request"
FOLLOW_UP_TEXT = "Contact the customer about payment terms or prepayment"


class ApproverDirectory(Protocol):
    """Resolves a tier to the Slack user ids who may decide for it (users and user groups)."""

    def members(self, tier: Tier) -> frozenset[str]: ...


@dataclass(frozen=True)
class SubmitOutcome:
    """Whether the quote needs approval, and the request that now waits for it."""

    needs_approval: bool
    request_id: int | None = None
    tiers: tuple[str, ...] = ()


@dataclass(frozen=True)
class DecisionOutcome:
    """The decision taken, and whether it completed the request."""

    request_id: int
    quote_id: int
    tier: str
    decision: Decision
    request_status: RequestStatus


def quote_facts(session: Session, quote: Quote) -> QuoteFacts:
    """Gather what the policy rules look at for this quote."""
    assert quote.id is not None
    return QuoteFacts(
        currency=quote.currency,
        discount_ppm=quote.discount_ppm,
        total=quote.total_amount,
        lines=[
            LineFacts(line.description, line.unit_amount, line.list_unit_amount)
            for line in quote.lines
        ],
        new_customer=not has_paid_before(session, quote.customer_id),
        credit=credit_facts(session, quote.customer, exclude_quote_id=quote.id),
    )


def submit_for_approval(
    session: Session,
    quote_id: int,
    actor: Actor,
    policy: Policy,
    directory: ApproverDirectory,
    channels: AlertChannels,
    at: datetime,
    note: str = "",
) -> SubmitOutcome:
    """Check a draft against the policy and, if rules fire, send it to the deal desk.

    A quote inside policy returns `needs_approval=False` and is left as it is.
    A request whose changes were requested reopens for the new version, so
    its messages are updated in place rather than posted again.
    """
    quote = get_quote(session, quote_id, for_update=True)
    ensure_can_manage(quote, actor.user_id, actor.managers)
    if quote.status in (QuoteStatus.APPROVED, QuoteStatus.SENT):
        return SubmitOutcome(needs_approval=False)
    if quote.status == QuoteStatus.PENDING_APPROVAL:
        raise InvalidState(f"Quote {quote.number} is already waiting for approval.")
    if quote.status != QuoteStatus.DRAFT:
        raise InvalidState(
            f"Quote {quote.number} is {quote.status.value}; only a draft can be submitted."
        )

    findings = evaluate(policy, quote_facts(session, quote))
    if not findings:
        return SubmitOutcome(needs_approval=False)

    tiers = required_tiers(policy, findings)
    request = _open_request(session, quote, findings, tiers, actor.user_id, note, at)
    assert request.id is not None and quote.id is not None
    quote.move_to(QuoteStatus.PENDING_APPROVAL)
    quote.updated_at = at
    session.add(quote)

    audit.record_quote(
        session,
        quote,
        action="approval_requested",
        actor=actor.user_id,
        at=at,
        request_id=request.id,
        tiers=tiers,
        findings=[finding.reason for finding in findings],
    )
    _queue_request_messages(session, request, quote, policy, directory, channels, tiers, at)
    _tell_rep(
        session,
        quote,
        f"Quote {quote.number} (version {quote.version}) needs approval from {_labels(policy, tiers)}.",
        f"submitted:{request.id}:{request.revision}",
        at,
    )
    queue_quote_refresh(
        session,
        quote_id=quote.id,
        channel_id=quote.slack_channel_id,
        ts=quote.slack_message_ts,
        reason=f"submitted {request.id}.{request.revision}",
        at=at,
    )
    logger.info(
        "quote submitted for approval",
        extra={"quote_id": quote.id, "request_id": request.id, "tiers": ",".join(tiers)},
    )
    return SubmitOutcome(needs_approval=True, request_id=request.id, tiers=tuple(tiers))


def decide(
    session: Session,
    request_id: int,
    shown_version: int,
    actor_id: str,
    decision: Decision,
    reason: str,
    policy: Policy,
    directory: ApproverDirectory,
    at: datetime,
) -> DecisionOutcome:
    """Record one approver's decision for the lowest pending tier they may decide."""
    request = session.get(ApprovalRequest, request_id, with_for_update=True)
    if request is None:
        raise NotFound(f"Approval request {request_id} was not found.")
    quote = get_quote(session, request.quote_id, for_update=True)
    assert quote.id is not None

    if shown_version != quote.version or shown_version != request.quote_version:
        raise InvalidState(
            f"This request is for version {shown_version} of {quote.number}, but the quote is now at "
            f"version {quote.version}. Decide on the latest request."
        )
    if request.status != RequestStatus.OPEN:
        raise InvalidState(_closed_message(session, request, quote))
    if decision != Decision.APPROVED and not reason.strip():
        raise InvalidInput("Give a reason, so the rep knows what to change.", field="reason")

    tier = _tier_for(session, request, actor_id, policy, directory)
    record = ApprovalDecision(
        request_id=request_id,
        quote_version=quote.version,
        tier=tier,
        decision=decision,
        actor=actor_id,
        reason=reason.strip(),
        at=at,
    )
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        raise InvalidState(_already_decided_message(session, request, tier, policy)) from None

    status = _apply_decision(session, request, quote, tier, decision, reason.strip(), policy, at)
    audit.record_quote(
        session,
        quote,
        action=f"approval_{decision.value}",
        actor=actor_id,
        at=at,
        request_id=request_id,
        tier=tier,
        reason=reason.strip(),
    )
    _queue_after_decision(
        session, request, quote, tier, decision, actor_id, reason.strip(), policy, at
    )
    logger.info(
        "approval decided",
        extra={
            "quote_id": quote.id,
            "request_id": request_id,
            "tier": tier,
            "decision": decision.value,
            "user_id": actor_id,
        },
    )
    return DecisionOutcome(request_id, quote.id, tier, decision, status)


def remind_and_escalate(
    session: Session, policy: Policy, directory: ApproverDirectory, at: datetime
) -> list[int]:
    """Remind approvers of requests waiting past `reminder_after`, and escalate those
    waiting a further `escalate_after`; return the ids of requests acted on.
    """
    acted: list[int] = []
    statement = (
        select(ApprovalRequest)
        .where(ApprovalRequest.status == RequestStatus.OPEN)
        .with_for_update()
    )
    for request in session.exec(statement).all():
        assert request.id is not None
        waited = at - request.submitted_at
        waiting = pending_tiers(session, request)
        quote = get_quote(session, request.quote_id)
        if request.reminded_at is None and waited >= policy.reminder_after:
            request.reminded_at = at
            _notify_tiers(session, request, quote, policy, directory, waiting, "reminder", at)
            acted.append(request.id)
        if request.escalated_at is None and waited >= policy.reminder_after + policy.escalate_after:
            request.escalated_at = at
            targets = [
                target for tier in waiting if (target := escalation_tier(policy, tier)) is not None
            ]
            _notify_tiers(session, request, quote, policy, directory, targets, "escalation", at)
            queue_approval_refresh(session, request, f"escalated:{request.revision}", at)
            audit.record(
                session,
                entity="quote",
                entity_id=quote.id or 0,
                version=request.quote_version,
                action="approval_escalated",
                actor="system",
                at=at,
                request_id=request.id,
                tiers=waiting,
                to=targets,
            )
            acted.append(request.id)
        session.add(request)
    return acted


def remind_follow_ups(session: Session, policy: Policy, at: datetime) -> list[int]:
    """Remind reps of open follow-up tasks that are due; close tasks whose quote moved on."""
    reminded: list[int] = []
    statement = select(FollowUpTask).where(
        FollowUpTask.status == FollowUpStatus.OPEN, col(FollowUpTask.next_reminder_at) <= at
    )
    for task in session.exec(statement).all():
        assert task.id is not None
        quote = session.get(Quote, task.quote_id)
        if (
            quote is None
            or quote.version != task.quote_version
            or quote.status != QuoteStatus.CREDIT_DENIED
        ):
            task.status = FollowUpStatus.CLOSED
            task.done_at = at
            session.add(task)
            continue
        task.reminders_sent += 1
        task.next_reminder_at = at + policy.follow_up_every
        session.add(task)
        queue_alert(
            session,
            delivery_key=f"follow_up:{task.id}:reminder:{task.reminders_sent}",
            kind="follow_up",
            channel=task.owner_user_id,
            text=f"Reminder: {task.text}",
            payload={
                "task_id": task.id,
                "quote_id": task.quote_id,
                "text": task.text,
                "reminder": True,
            },
            at=at,
        )
        reminded.append(task.id)
    return reminded


def complete_follow_up(session: Session, task_id: int, actor: Actor, at: datetime) -> FollowUpTask:
    """Mark a follow-up task done; only its owner or a manager may."""
    task = session.get(FollowUpTask, task_id, with_for_update=True)
    if task is None:
        raise NotFound(f"Task {task_id} was not found.")
    if actor.user_id != task.owner_user_id and actor.user_id not in actor.managers:
        raise NotAllowed(
            f"Only <@{task.owner_user_id}>, who owns this task, or a sales manager can mark it done."
        )
    if task.status == FollowUpStatus.OPEN:
        task.status = FollowUpStatus.DONE
        task.done_at = at
        session.add(task)
        audit.record(
            session,
            entity="quote",
            entity_id=task.quote_id,
            version=task.quote_version,
            action="follow_up_done",
            actor=actor.user_id,
            at=at,
            task_id=task_id,
        )
    return task


def request_credit_increase(
    session: Session,
    quote_id: int,
    actor: Actor,
    policy: Policy,
    channels: AlertChannels,
    at: datetime,
) -> None:
    """Send finance the numbers behind a credit refusal, once per quote version."""
    quote = get_quote(session, quote_id)
    ensure_can_manage(quote, actor.user_id, actor.managers)
    if quote.status != QuoteStatus.CREDIT_DENIED:
        raise InvalidState(
            f"Quote {quote.number} was not denied credit, so there is no credit increase to request."
        )
    assert quote.id is not None

    customer = quote.customer
    facts = credit_facts(session, customer, exclude_quote_id=quote.id)
    text = _credit_increase_text(quote, facts.limit, facts.currency, facts.exposure, actor.user_id)
    key = f"credit_increase:{quote.id}:{quote.version}"
    for user_id in sorted(policy.finance_users):
        queue_alert(
            session,
            delivery_key=f"{key}:{user_id}",
            kind="credit_increase",
            channel=user_id,
            text=text,
            payload={"quote_id": quote.id},
            at=at,
        )
    if channels.deal_desk:
        queue_alert(
            session,
            delivery_key=f"{key}:channel",
            kind="credit_increase",
            channel=channels.deal_desk,
            text=text,
            payload={"quote_id": quote.id},
            at=at,
        )
    audit.record(
        session,
        entity="customer",
        entity_id=customer.id or 0,
        action="credit_increase_requested",
        actor=actor.user_id,
        at=at,
        quote_id=quote.id,
        version=quote.version,
    )
    _tell_rep(
        session,
        quote,
        f"<@{actor.user_id}> asked finance for a credit increase for {customer.name}.",
        f"credit_increase:{quote.version}",
        at,
    )


def _credit_increase_text(
    quote: Quote, limit: int | None, currency: str | None, current: int, actor_id: str
) -> str:
    customer = quote.customer
    total = Money(quote.total_amount, quote.currency).format()
    if limit is None or currency is None:
        position = "no credit limit is set"
    else:
        needed = current + (quote.total_amount if quote.currency == currency else 0)
        position = (
            f"limit {Money(limit, currency).format()}, exposure {Money(current, currency).format()}"
        )
        if needed > limit:
            position += (
                f", a limit of at least {Money(needed, currency).format()} would cover this quote"
            )
        else:
            position += ", the limit covers this quote"
    hold = " The customer is on credit hold." if customer.credit_status.value == "hold" else ""
    return (
        f"<@{actor_id}> requests a credit increase for {customer.name}: {quote.number} for {total} "
        f"was refused ({position}).{hold} Use `/customer {customer.name}` to change the limit."
    )


def _notify_tiers(
    session: Session,
    request: ApprovalRequest,
    quote: Quote,
    policy: Policy,
    directory: ApproverDirectory,
    tiers: Sequence[str],
    reason: str,
    at: datetime,
) -> None:
    """DM the approvers of `tiers` a copy of the request, with its buttons."""
    users = (
        sorted(set().union(*(directory.members(policy.tier(tier)) for tier in tiers)))
        if tiers
        else []
    )
    word = "Reminder" if reason == "reminder" else "Escalated to you"
    for user_id in users:
        queue_alert(
            session,
            delivery_key=f"{APPROVAL_REQUEST}:{request.id}:{reason}{request.revision}:{user_id}",
            kind=APPROVAL_REQUEST,
            channel=user_id,
            text=f"{word}: approval needed for {quote.number}",
            payload={"request_id": request.id, "quote_id": quote.id},
            at=at,
        )


def pending_tiers(session: Session, request: ApprovalRequest) -> list[str]:
    """Return the request's tiers that have no decision for its version yet."""
    decided = {
        decision.tier
        for decision in session.exec(
            select(ApprovalDecision).where(
                ApprovalDecision.request_id == request.id,
                ApprovalDecision.quote_version == request.quote_version,
            )
        ).all()
    }
    return [tier for tier in request.tier_names() if tier not in decided]


def escalation_tier(policy: Policy, tier_name: str) -> str | None:
    """Return the tier a waiting tier escalates to: its `escalates_to`, or the next tier listed."""
    tier = policy.tier(tier_name)
    if tier.escalates_to:
        return tier.escalates_to
    names = [candidate.name for candidate in policy.tiers]
    index = names.index(tier_name)
    return names[index + 1] if index + 1 < len(names) else None


def deciders(
    policy: Policy, directory: ApproverDirectory, tier_name: str, escalated: bool
) -> frozenset[str]:
    """Return who may decide for a tier: its approvers, plus the escalation tier's once escalated."""
    users = directory.members(policy.tier(tier_name))
    target = escalation_tier(policy, tier_name) if escalated else None
    if target is not None:
        users |= directory.members(policy.tier(target))
    return users


def _open_request(
    session: Session,
    quote: Quote,
    findings: Sequence[Finding],
    tiers: list[str],
    submitter: str,
    note: str,
    at: datetime,
) -> ApprovalRequest:
    """Reopen the quote's request whose changes were requested, or start a new one."""
    reopened = session.exec(
        select(ApprovalRequest)
        .where(
            ApprovalRequest.quote_id == quote.id,
            ApprovalRequest.status == RequestStatus.CHANGES_REQUESTED,
        )
        .order_by(col(ApprovalRequest.id).desc())
    ).first()
    request = reopened or ApprovalRequest(
        quote_id=quote.id or 0, quote_version=quote.version, submitted_by=submitter, submitted_at=at
    )
    if reopened is not None:
        request.revision += 1

    request.quote_version = quote.version
    request.status = RequestStatus.OPEN
    request.tiers = json.dumps(tiers)
    request.findings = json.dumps(
        [
            {"rule": finding.rule.value, "tier": finding.tier, "reason": finding.reason}
            for finding in findings
        ]
    )
    request.rep_note = note.strip()[:2000] or quote.notes[:2000]

    request.submitted_at = at
    request.reminded_at = None
    request.escalated_at = None
    request.closed_at = None
    request.outcome_reason = ""
    session.add(request)
    session.flush()
    return request


def _queue_request_messages(
    session: Session,
    request: ApprovalRequest,
    quote: Quote,
    policy: Policy,
    directory: ApproverDirectory,
    channels: AlertChannels,
    tiers: list[str],
    at: datetime,
) -> None:
    """Post the request to the deal desk (and DM each approver), or redraw it when reopened."""
    payload = {"request_id": request.id, "quote_id": quote.id}
    text = f"Approval needed: {quote.number} for {quote.customer.name}"
    queue_alert(
        session,
        delivery_key=f"{APPROVAL_REQUEST}:{request.id}:channel",
        kind=APPROVAL_REQUEST,
        channel=channels.deal_desk,
        text=text,
        payload=payload,
        at=at,
    )
    if request.revision > 1:
        queue_approval_refresh(session, request, f"resubmitted:{request.revision}", at)
    if not policy.dm_approvers:
        return

    approvers = sorted(set().union(*(directory.members(policy.tier(tier)) for tier in tiers)))
    for user_id in approvers:
        queue_alert(
            session,
            delivery_key=f"{APPROVAL_REQUEST}:{request.id}:dm:{user_id}",
            kind=APPROVAL_REQUEST,
            channel=user_id,
            text=text,
            payload=payload,
            at=at,
        )


def _tier_for(
    session: Session,
    request: ApprovalRequest,
    actor_id: str,
    policy: Policy,
    directory: ApproverDirectory,
) -> str:
    """Pick the lowest pending tier the actor may decide, or explain why they may not."""
    escalated = request.escalated_at is not None
    waiting = pending_tiers(session, request)
    for tier in waiting:
        if actor_id in deciders(policy, directory, tier, escalated):
            return tier

    decided_tiers = [tier for tier in request.tier_names() if tier not in waiting]
    for tier in decided_tiers:
        if actor_id in deciders(policy, directory, tier, escalated):
            raise InvalidState(_already_decided_message(session, request, tier, policy))
    raise NotAllowed(f"Only approvers of {_labels(policy, waiting)} can decide on this request.")


def _already_decided_message(
    session: Session, request: ApprovalRequest, tier: str, policy: Policy
) -> str:
    first = session.exec(
        select(ApprovalDecision).where(
            ApprovalDecision.request_id == request.id,
            ApprovalDecision.quote_version == request.quote_version,
            ApprovalDecision.tier == tier,
        )
    ).first()
    if first is None:
        return f"{policy.tier(tier).label} has already decided on this request."
    return f"{policy.tier(tier).label} already {_decision_words(first.decision)} by <@{first.actor}> at {first.at:%Y-%m-%d %H:%M} UTC."


def _closed_message(session: Session, request: ApprovalRequest, quote: Quote) -> str:
    last = session.exec(
        select(ApprovalDecision)
        .where(ApprovalDecision.request_id == request.id)
        .order_by(col(ApprovalDecision.id).desc())
    ).first()
    words = request.status.value.replace("_", " ")
    if last is None:
        return f"This request for {quote.number} is {words}."
    return f"This request for {quote.number} is {words}: <@{last.actor}> {_decision_words(last.decision)} it at {last.at:%Y-%m-%d %H:%M} UTC."


def _decision_words(decision: Decision) -> str:
    return {
        Decision.APPROVED: "approved",
        Decision.REJECTED: "rejected",
        Decision.CHANGES_REQUESTED: "requested changes to",
    }[decision]


def _apply_decision(
    session: Session,
    request: ApprovalRequest,
    quote: Quote,
    tier: str,
    decision: Decision,
    reason: str,
    policy: Policy,
    at: datetime,
) -> RequestStatus:
    if decision == Decision.APPROVED:
        if pending_tiers(session, request):
            return request.status
        request.status = RequestStatus.APPROVED
        quote.move_to(QuoteStatus.APPROVED)
    elif decision == Decision.CHANGES_REQUESTED:
        request.status = RequestStatus.CHANGES_REQUESTED
        quote.move_to(QuoteStatus.DRAFT)
    elif tier in policy.credit_tiers and _credit_fired(request, tier):
        request.status = RequestStatus.CREDIT_DENIED
        quote.move_to(QuoteStatus.CREDIT_DENIED)
        _create_follow_up(session, quote, policy, at)
    else:
        request.status = RequestStatus.REJECTED
        quote.move_to(QuoteStatus.DRAFT)

    request.closed_at = at
    request.outcome_reason = reason
    quote.updated_at = at
    session.add(request)
    session.add(quote)
    return request.status


def _credit_fired(request: ApprovalRequest, tier: str) -> bool:
    return any(
        finding["tier"] == tier and finding["rule"] == RuleKind.CREDIT.value
        for finding in request.finding_list()
    )


def _create_follow_up(session: Session, quote: Quote, policy: Policy, at: datetime) -> None:
    assert quote.id is not None
    task = FollowUpTask(
        quote_id=quote.id,
        quote_version=quote.version,
        owner_user_id=quote.owner_user_id,
        text=f"{FOLLOW_UP_TEXT} for {quote.number} ({quote.customer.name}).",
        created_at=at,
        next_reminder_at=at + policy.follow_up_every,
    )
    session.add(task)
    session.flush()
    queue_alert(
        session,
        delivery_key=f"follow_up:{task.id}:created",
        kind="follow_up",
        channel=quote.owner_user_id,
        text=f"New task: {task.text}",
        payload={"task_id": task.id, "quote_id": quote.id, "text": task.text, "reminder": False},
        at=at,
    )


def _queue_after_decision(
    session: Session,
    request: ApprovalRequest,
    quote: Quote,
    tier: str,
    decision: Decision,
    actor_id: str,
    reason: str,
    policy: Policy,
    at: datetime,
) -> None:
    assert quote.id is not None and request.id is not None
    decision_count = len(
        session.exec(
            select(ApprovalDecision.id).where(ApprovalDecision.request_id == request.id)
        ).all()
    )
    queue_approval_refresh(session, request, f"decision:{decision_count}", at)

    label = policy.tier(tier).label
    text = f"<@{actor_id}> ({label}) {_decision_words(decision)} {quote.number} (version {quote.version})"
    text += f": {reason.rstrip('.')}." if reason else "."
    if request.status == RequestStatus.APPROVED:
        text += " Every approval is in."
    elif request.status == RequestStatus.CREDIT_DENIED:
        text += f" Credit was denied, so the quote cannot get a payment link. Task for <@{quote.owner_user_id}>: {FOLLOW_UP_TEXT.lower()}."
    elif request.status in (RequestStatus.REJECTED, RequestStatus.CHANGES_REQUESTED):
        text += " The quote is a draft again."
    _tell_rep(session, quote, text, f"decision:{request.id}:{decision_count}", at)
    queue_quote_refresh(
        session,
        quote_id=quote.id,
        channel_id=quote.slack_channel_id,
        ts=quote.slack_message_ts,
        reason=f"decision {request.id}.{decision_count}",
        at=at,
    )


def _tell_rep(session: Session, quote: Quote, text: str, key: str, at: datetime) -> None:
    """Reply in the quote's thread, or DM the rep when the quote has no message."""
    queue_alert(
        session,
        delivery_key=f"rep_notice:{quote.id}:{key}",
        kind="rep_notice",
        channel=quote.slack_channel_id or quote.owner_user_id,
        thread_ts=quote.slack_message_ts,
        text=text,
        payload={"quote_id": quote.id},
        at=at,
    )


def _labels(policy: Policy, tiers: Sequence[str]) -> str:
    labels = [policy.tier(tier).label for tier in tiers]
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]
