"""The services that listeners and jobs share, built once per process."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sqlmodel import Session

from bot.settings import Settings
from models.clock import Clock, system_clock
from models.gateway import PaymentGateway
from models.payments import AlertRouting
from models.quoting import Actor


class Waker(Protocol):
    """Something that can be asked to run its next pass now instead of on schedule."""

    def wake(self) -> None: ...


class _Idle:
    def wake(self) -> None:
        return None


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

    def actor(self, user_id: str) -> Actor:
        return Actor(user_id=user_id, managers=self.settings.manager_ids)

    @property
    def routing(self) -> AlertRouting:
        return AlertRouting(payments_channel=self.settings.payments_channel or "")
