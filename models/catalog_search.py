"""Searches behind the modal's customer and product pickers."""

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from models.catalog import Product
from models.customer import Customer

SEARCH_LIMIT = 50


def search_customers(session: Session, query: str) -> list[tuple[int, str]]:
    """Return (id, name) of customers whose name contains `query`, any case, by name."""
    statement = select(Customer).order_by(func.lower(Customer.name)).limit(SEARCH_LIMIT)
    if query:
        statement = statement.where(
            func.lower(Customer.name).contains(query.lower(), autoescape=True)
        )
    return [(customer.id or 0, customer.name) for customer in session.exec(statement).all()]


def search_products(session: Session, query: str) -> list[Product]:
    """Return active products whose SKU or name contains `query`, any case, by SKU."""
    statement = (
        select(Product)
        .where(col(Product.active).is_(True))
        .order_by(col(Product.sku))
        .limit(SEARCH_LIMIT)
    )
    if query:
        needle = query.lower()
        statement = statement.where(
            or_(
                func.lower(Product.sku).contains(needle, autoescape=True),
                func.lower(Product.name).contains(needle, autoescape=True),
            )
        )
    return list(session.exec(statement).all())
