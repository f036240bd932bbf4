"""The payment gateway interface that the rules call and `bot/` implements with Stripe."""

from dataclasses import dataclass
from typing import Protocol

from models.catalog import BillingInterval
from models.pricing import ChargeLine


@dataclass(frozen=True)
class PaymentLinkRequest:
    """The charges a payment link for one quote version must carry.

    `idempotency_key` is derived from the quote id and version, so asking
    twice for the same version returns the same link.
    """

    quote_id: int
    quote_number: str
    quote_version: int
    currency: str
    recurring_interval: BillingInterval | None
    lines: list[ChargeLine]
    idempotency_key: str

    @property
    def metadata(self) -> dict[str, str]:
        return {
            "o2c_quote_id": str(self.quote_id),
            "o2c_quote_number": self.quote_number,
            "o2c_quote_version": str(self.quote_version),
        }

    @property
    def amount(self) -> int:
        return sum(line.amount for line in self.lines)


@dataclass(frozen=True)
class CreatedPaymentLink:
    """A payment link as the gateway created it."""

    id: str
    url: str


class GatewayError(Exception):
    """The gateway could not complete a call; `str(error)` is safe to show a rep."""


class PaymentGateway(Protocol):
    """Creates and retires payment links."""

    def create_payment_link(self, request: PaymentLinkRequest) -> CreatedPaymentLink: ...

    def deactivate_payment_link(self, link_id: str) -> None: ...
