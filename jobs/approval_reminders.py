"""Jobs that chase waiting approvals and open follow-up tasks."""

import logging
from collections.abc import Callable

from sqlmodel import Session

from models.approvals import ApproverDirectory, remind_and_escalate, remind_follow_ups
from models.clock import Clock
from models.policy import Policy

logger = logging.getLogger(__name__)


def remind_approvers(
    new_session: Callable[[], Session],
    policy: Policy,
    directory_of: Callable[[], ApproverDirectory],
    clock: Clock,
) -> list[int]:
    """Remind approvers of requests past the reminder delay and escalate those past the escalation delay."""
    if not policy.tiers:
        return []
    with new_session() as session, session.begin():
        acted = remind_and_escalate(session, policy, directory_of(), clock())
    for request_id in acted:
        logger.info("approval request reminded or escalated", extra={"request_id": request_id})
    return acted


def remind_reps(new_session: Callable[[], Session], policy: Policy, clock: Clock) -> list[int]:
    """Remind reps of their open follow-up tasks that are due."""
    with new_session() as session, session.begin():
        reminded = remind_follow_ups(session, policy, clock())
    for task_id in reminded:
        logger.info("follow-up task reminded", extra={"task_id": task_id})
    return reminded
