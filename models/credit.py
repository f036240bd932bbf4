"""Customer credit: exposure against the credit limit, and the finance team's changes."""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from models import audit
from models.customer import CreditStatus, Customer
from models.errors import NotAllowed, NotFound
from models.payment import Payment
from models.policy import CreditFacts
from models.quote import Quote, QuoteStatus

logger = logging.getLogger(__name__)

# Quotes whose payment link is out and unpaid. Open invoices will count here too
# once invoicing exists.
EXPOSED_STATUSES = (QuoteStatus.SENT,)


def exposure(
    session: Session, customer_id: int, currency: str, *, exclude_quote_id: int | None = None
) -> int:
    """Sum the customer's unpaid sent quotes in `currency`, in minor units.

    Amounts in other currencies are not converted, so they never count
    towards a limit in this one.
    """
    statement = select(func.coalesce(func.sum(Quote.total_amount), 0)).where(
        Quote.customer_id == customer_id,
        Quote.currency == currency,
        col(Quote.status).in_(EXPOSED_STATUSES),
    )
    if exclude_quote_id is not None:
        statement = statement.where(Quote.id != exclude_quote_id)
    return int(session.exec(statement).one())


def credit_facts(
    session: Session, customer: Customer, *, exclude_quote_id: int | None = None
) -> CreditFacts:
    """Describe the customer's credit position in its credit currency."""
    assert customer.id is not None
    current = 0
    if customer.credit_currency:
        current = exposure(
            session, customer.id, customer.credit_currency, exclude_quote_id=exclude_quote_id
        )
    return CreditFacts(
        status=customer.credit_status,
        limit=customer.credit_limit,
        currency=customer.credit_currency,
        exposure=current,
    )


def has_paid_before(session: Session, customer_id: int) -> bool:
    """Return True once any payment for any of the customer's quotes was recorded."""
    statement = (
        select(Payment.id)
        .join(Quote, col(Quote.id) == Payment.quote_id)
        .where(Quote.customer_id == customer_id)
    )
    return session.exec(statement.limit(1)).first() is not None


@dataclass(frozen=True)
class CreditChange:
    """A finance user's new credit settings for a customer; None leaves a field as it is."""

    credit_limit: int | None = None
    credit_currency: str | None = None
    payment_terms_days: int | None = None
    credit_status: CreditStatus | None = None
    clear_limit: bool = False


def change_credit(
    session: Session,
    customer_id: int,
    change: CreditChange,
    actor: str,
    finance_users: frozenset[str],
    at: datetime,
) -> list[str]:
    """Apply a finance user's change and audit each field that changed; return their names."""
    if actor not in finance_users:
        raise NotAllowed("Only finance users can change credit limits, terms or holds.")
    customer = session.get(Customer, customer_id, with_for_update=True)
    if customer is None:
        raise NotFound(f"Customer {customer_id} was not found.")

    requested = {
        "credit_limit": None if change.clear_limit else change.credit_limit,
        "credit_currency": None if change.clear_limit else change.credit_currency,
        "payment_terms_days": change.payment_terms_days,
        "credit_status": change.credit_status,
    }
    changed: list[str] = []
    for field_name, value in requested.items():
        keep = value is None and not (
            change.clear_limit and field_name in ("credit_limit", "credit_currency")
        )
        old = getattr(customer, field_name)
        if keep or old == value:
            continue
        setattr(customer, field_name, value)
        changed.append(field_name)
        audit.record(
            session,
            entity="customer",
            entity_id=customer_id,
            action=f"customer_{field_name}_changed",
            actor=actor,
            at=at,
            old=old,
            new=value,
        )

    session.add(customer)
    logger.info(
        "customer credit changed",
        extra={"customer_id": customer_id, "user_id": actor, "fields": ",".join(changed)},
    )
    return changed
