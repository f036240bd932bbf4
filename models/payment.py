"""Payment links sent to customers and the payments they bring in."""

from datetime import datetime

from sqlalchemy import BigInteger
from sqlmodel import Column, Field, SQLModel

from models.columns import UTCDateTime, utc_now


class PaymentLink(SQLModel, table=True):
    """A Stripe Payment Link for one version of a quote.

    `retire_pending` is set when a newer version or a cancellation replaces the
    link and Stripe has not yet confirmed its deactivation; a job retries it.
    """

    id: int | None = Field(default=None, primary_key=True)
    quote_id: int = Field(foreign_key="quote.id", index=True)
    quote_version: int
    stripe_payment_link_id: str = Field(max_length=64, unique=True)
    url: str = Field(max_length=500)
    amount: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    active: bool = True
    retire_pending: bool = False
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False)
    )


class Payment(SQLModel, table=True):
    """Money received for a quote, as reported by a Stripe Checkout Session."""

    id: int | None = Field(default=None, primary_key=True)
    quote_id: int = Field(foreign_key="quote.id", index=True)
    quote_version: int
    amount: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    stripe_checkout_session_id: str = Field(max_length=128, unique=True)
    stripe_payment_link_id: str | None = Field(default=None, max_length=64)
    stripe_payment_intent_id: str | None = Field(default=None, max_length=64)
    stripe_subscription_id: str | None = Field(default=None, max_length=64)
    stripe_customer_id: str | None = Field(default=None, max_length=64)
    paid_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
