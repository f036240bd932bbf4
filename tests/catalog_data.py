"""Catalog rows and helpers shared by end-to-end tests."""

from datetime import UTC, datetime

from sqlmodel import Session

from models.catalog import BillingInterval
from models.catalog_import import ProductRow, upsert_products

PRODUCTS = [
    ProductRow(
        sku="WIDGET-1",
        name="Widget",
        unit_amount=1999,
        currency="USD",
        recurring_interval=None,
        active=True,
    ),
    ProductRow(
        sku="SEAT",
        name="Seat licence",
        unit_amount=1500,
        currency="USD",
        recurring_interval=BillingInterval.MONTH,
        active=True,
    ),
    ProductRow(
        sku="ONSITE",
        name="Onsite day",
        unit_amount=120000,
        currency="USD",
        recurring_interval=None,
        active=True,
    ),
]


def load_catalog(session: Session) -> None:
    with session.begin():
        upsert_products(session, PRODUCTS, "test", datetime(2026, 12, 1, tzinfo=UTC))
