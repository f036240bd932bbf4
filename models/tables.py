"""Import every table module so `SQLModel.metadata` contains all tables (used by migrations)."""

from sqlmodel import SQLModel

from models import approval, audit, catalog, customer, outbox, payment, quote, stripe_event

metadata = SQLModel.metadata

__all__ = [
    "approval",
    "audit",
    "catalog",
    "customer",
    "metadata",
    "outbox",
    "payment",
    "quote",
    "stripe_event",
]
