"""Stripe event ids already processed, so a redelivered event changes nothing."""

from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from models.columns import UTCDateTime


class ProcessedStripeEvent(SQLModel, table=True):
    """One Stripe event id, written in the same transaction as its effects."""

    __tablename__ = "processed_stripe_event"

    id: str = Field(primary_key=True, max_length=255)
    type: str = Field(max_length=100)
    processed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
