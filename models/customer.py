"""Customers: the companies quotes are made out to."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger
from sqlmodel import Column, Field, SQLModel

from models.columns import UTCDateTime, enum_column, utc_now


class CreditStatus(StrEnum):
    """Whether a customer may buy on credit."""

    GOOD = "good"
    HOLD = "hold"


class Customer(SQLModel, table=True):
    """A buying company, matched to Stripe through `stripe_customer_id` once known.

    `credit_limit` is in minor units of `credit_currency`; no limit means
    credit is not checked against a number, though a hold still applies.
    """

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    email: str | None = Field(default=None, max_length=254)
    stripe_customer_id: str | None = Field(default=None, max_length=64, unique=True)
    payment_terms_days: int = 0
    credit_limit: int | None = Field(default=None, sa_type=BigInteger)
    credit_currency: str | None = Field(default=None, max_length=3)
    credit_status: CreditStatus = Field(
        default=CreditStatus.GOOD, sa_column=enum_column(CreditStatus)
    )
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False)
    )
