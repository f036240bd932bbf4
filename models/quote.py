"""Quotes, their line items and the states a quote moves through."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger
from sqlmodel import Column, Field, Relationship, SQLModel

from models.catalog import BillingInterval
from models.columns import UTCDateTime, enum_column, utc_now
from models.customer import Customer
from models.errors import InvalidState


class QuoteStatus(StrEnum):
    """The state of a quote in the order-to-cash cycle."""

    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    SENT = "sent"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    CREDIT_DENIED = "credit_denied"


# The states each state may move to. Editing a sent or approved quote makes
# a new version, which starts again as a draft.
TRANSITIONS: dict[QuoteStatus, frozenset[QuoteStatus]] = {
    QuoteStatus.DRAFT: frozenset(
        {
            QuoteStatus.PENDING_APPROVAL,
            QuoteStatus.APPROVED,
            QuoteStatus.SENT,
            QuoteStatus.CANCELLED,
            QuoteStatus.EXPIRED,
        }
    ),
    QuoteStatus.PENDING_APPROVAL: frozenset(
        {
            QuoteStatus.DRAFT,
            QuoteStatus.APPROVED,
            QuoteStatus.CANCELLED,
            QuoteStatus.EXPIRED,
            QuoteStatus.CREDIT_DENIED,
        }
    ),
    QuoteStatus.APPROVED: frozenset(
        {QuoteStatus.DRAFT, QuoteStatus.SENT, QuoteStatus.CANCELLED, QuoteStatus.EXPIRED}
    ),
    QuoteStatus.SENT: frozenset(
        {QuoteStatus.DRAFT, QuoteStatus.PAID, QuoteStatus.CANCELLED, QuoteStatus.EXPIRED}
    ),
    QuoteStatus.CREDIT_DENIED: frozenset(
        {QuoteStatus.DRAFT, QuoteStatus.CANCELLED, QuoteStatus.EXPIRED}
    ),
    QuoteStatus.PAID: frozenset(),
    QuoteStatus.EXPIRED: frozenset(),
    QuoteStatus.CANCELLED: frozenset(),
}

STATUS_LABELS = {
    QuoteStatus.DRAFT: "Draft",
    QuoteStatus.PENDING_APPROVAL: "Pending approval",
    QuoteStatus.APPROVED: "Approved",
    QuoteStatus.SENT: "Sent",
    QuoteStatus.PAID: "Paid",
    QuoteStatus.EXPIRED: "Expired",
    QuoteStatus.CANCELLED: "Cancelled",
    QuoteStatus.CREDIT_DENIED: "Credit denied",
}


class Quote(SQLModel, table=True):
    """A priced offer to one customer; amounts are minor units of `currency`.

    The totals are stored as computed by `models.pricing` whenever the lines
    change, so reports and exposure queries need not recompute them.
    """

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    owner_user_id: str = Field(max_length=32, index=True)
    version: int = 1
    status: QuoteStatus = Field(
        default=QuoteStatus.DRAFT, sa_column=enum_column(QuoteStatus, index=True)
    )
    currency: str = Field(max_length=3)
    discount_ppm: int = 0
    tax_ppm: int = 0
    payment_terms_days: int = 0
    recurring_interval: BillingInterval | None = Field(
        default=None, sa_column=enum_column(BillingInterval, nullable=True)
    )
    valid_until: date
    notes: str = Field(default="", max_length=2000)
    subtotal_amount: int = Field(default=0, sa_type=BigInteger)
    discount_amount: int = Field(default=0, sa_type=BigInteger)
    tax_amount: int = Field(default=0, sa_type=BigInteger)
    total_amount: int = Field(default=0, sa_type=BigInteger)
    slack_channel_id: str | None = Field(default=None, max_length=32)
    slack_message_ts: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False)
    )

    customer: Customer = Relationship()
    lines: list["QuoteLine"] = Relationship(
        back_populates="quote",
        sa_relationship_kwargs={"order_by": "QuoteLine.position", "cascade": "all, delete-orphan"},
    )

    @property
    def number(self) -> str:
        """The number reps and customers quote back, such as `Q-000042`."""
        return format_quote_number(self.id or 0)

    def move_to(self, status: QuoteStatus) -> None:
        """Change the status, raising InvalidState for a move the cycle does not allow."""
        if status not in TRANSITIONS[self.status]:
            raise InvalidState(
                f"Quote {self.number} is {STATUS_LABELS[self.status].lower()} and cannot become "
                f"{STATUS_LABELS[status].lower()}."
            )
        self.status = status


class QuoteLine(SQLModel, table=True):
    """One line of a quote: a catalog product or a free-text item."""

    id: int | None = Field(default=None, primary_key=True)
    quote_id: int | None = Field(default=None, foreign_key="quote.id", index=True)
    position: int
    product_id: int | None = Field(default=None, foreign_key="product.id")
    sku: str | None = Field(default=None, max_length=64)
    description: str = Field(max_length=200)
    quantity: int
    unit_amount: int = Field(sa_type=BigInteger)
    list_unit_amount: int | None = Field(default=None, sa_type=BigInteger)

    quote: Quote = Relationship(back_populates="lines")


def format_quote_number(quote_id: int) -> str:
    """Format a quote id as its human number (42 -> `Q-000042`)."""
    return f"Q-{quote_id:06d}"


def parse_quote_number(text: str) -> int | None:
    """Return the quote id in `Q-000042`, `q42` or `42`, or None if `text` is not one."""
    digits = text.strip().upper().removeprefix("Q").lstrip("-")
    return int(digits) if digits.isdigit() else None
