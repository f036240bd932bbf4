"""Customers: the companies quotes are made out to."""

from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from models.columns import UTCDateTime, utc_now


class Customer(SQLModel, table=True):
    """A buying company, matched to Stripe through `stripe_customer_id` once known."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    email: str | None = Field(default=None, max_length=254)
    stripe_customer_id: str | None = Field(default=None, max_length=64, unique=True)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False)
    )
