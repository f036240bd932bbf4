"""The services that listeners and jobs share, built once per process."""

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from sqlmodel import Session

from bot.settings import Settings
from models.approvals import ApproverDirectory
from models.clock import Clock, system_clock
from models.gateway import PaymentGateway
from models.outbox import AlertChannels
from models.policy import Policy, Tier
from models.quoting import Actor

logger = logging.getLogger(__name__)


class Waker(Protocol):
    """Something that can be asked to run its next pass now instead of on schedule."""

    def wake(self) -> None: ...


class _Idle:
    def wake(self) -> None:
        return None


class _EveryoneListed:
    def members(self, tier: Tier) -> frozenset[str]:
        return tier.users


@dataclass
class Services:
    """Settings, database sessions, the payment gateway and the clock.

    `outbox` and `link_retirement` are woken after a commit that queued work
    for them, so an alert goes out at once rather than at the next tick.
    """

    settings: Settings
    new_session: Callable[[], Session]
    gateway: PaymentGateway
    clock: Clock = system_clock
    outbox: Waker = field(default_factory=_Idle)
    link_retirement: Waker = field(default_factory=_Idle)
    directory: ApproverDirectory = field(default_factory=_EveryoneListed)
    background: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=16, thread_name_prefix="o2c-work")
    )

    @property
    def policy(self) -> Policy:
        return self.settings.policy

    @property
    def channels(self) -> AlertChannels:
        settings = self.settings
        return AlertChannels(
            payments=settings.payments_channel or "", deal_desk=settings.deal_desk_channel or ""
        )

    def run_later(self, work: Callable[..., object], *arguments: object) -> None:
        """Run slow work (Stripe calls) off Bolt's listener threads, logging any failure.

        Bolt runs every listener, including its ack, on a small thread pool, so
        a listener that waits for Stripe delays the acks of other requests.
        NOTE: work queued here is lost if the process stops first. The rep then
        presses the button again, and the idempotency key prevents a second link.
        """
        future = self.background.submit(work, *arguments)
        future.add_done_callback(_log_failure)

    def actor(self, user_id: str) -> Actor:
        return Actor(user_id=user_id, managers=self.settings.manager_ids)


def _log_failure(future: Future[object]) -> None:
    error = future.exception()
    if error is not None:
        logger.error("background work failed: %r", error, exc_info=error)
