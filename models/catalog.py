"""The product catalog that quote lines are priced from."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger
from sqlmodel import Column, Field, SQLModel

from models.columns import UTCDateTime, enum_column, utc_now


class BillingInterval(StrEnum):
    """How often a recurring price is charged; one-time prices have none."""

    MONTH = "month"
    YEAR = "year"


class Product(SQLModel, table=True):
    """A sellable item with its list price in minor units of `currency`."""

    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    unit_amount: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    recurring_interval: BillingInterval | None = Field(
        default=None, sa_column=enum_column(BillingInterval, nullable=True)
    )
    active: bool = True
    stripe_product_id: str | None = Field(default=None, max_length=64)
    stripe_price_id: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False)
    )
