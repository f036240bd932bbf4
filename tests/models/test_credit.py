"""Credit exposure and finance's credit changes, on the test database (SQLite, or PostgreSQL
when O2C_TEST_DATABASE_URL is set)."""

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlmodel import Session, col, select

from models.audit import AuditEntry
from models.credit import CreditChange, change_credit, credit_facts, exposure, has_paid_before
from models.customer import CreditStatus, Customer
from models.errors import NotAllowed, NotFound
from models.payment import Payment
from models.policy import CreditFacts
from models.quote import Quote, QuoteStatus

AT = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
FINANCE = frozenset({"U0FIN"})


def add_customer(session: Session, name: str = "Acme GmbH", **fields: Any) -> Customer:
    customer = Customer(name=name, created_by="U0REP", **fields)
    session.add(customer)
    session.commit()
    return customer


def add_quote(
    session: Session,
    customer: Customer,
    status: QuoteStatus,
    total: int,
    currency: str = "USD",
) -> Quote:
    assert customer.id is not None
    quote = Quote(
        customer_id=customer.id,
        owner_user_id="U0REP",
        status=status,
        currency=currency,
        total_amount=total,
        valid_until=date(2027, 1, 3),
    )
    session.add(quote)
    session.commit()
    return quote


def customer_id(customer: Customer) -> int:
    assert customer.id is not None
    return customer.id


def audit_entries(session: Session) -> list[AuditEntry]:
    return list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all())


def test_exposure_without_quotes_is_zero(session: Session) -> None:
    customer = add_customer(session)

    assert exposure(session, customer_id(customer), "USD") == 0


def test_exposure_counts_only_sent_quotes(session: Session) -> None:
    customer = add_customer(session)
    add_quote(session, customer, QuoteStatus.SENT, 1_000_00)
    add_quote(session, customer, QuoteStatus.SENT, 250_00)
    for status in QuoteStatus:
        if status != QuoteStatus.SENT:
            add_quote(session, customer, status, 7_000_00)

    assert exposure(session, customer_id(customer), "USD") == 1_250_00


def test_exposure_ignores_other_currencies(session: Session) -> None:
    customer = add_customer(session)
    add_quote(session, customer, QuoteStatus.SENT, 1_000_00, currency="USD")
    add_quote(session, customer, QuoteStatus.SENT, 9_000_00, currency="EUR")

    assert exposure(session, customer_id(customer), "USD") == 1_000_00
    assert exposure(session, customer_id(customer), "EUR") == 9_000_00
    assert exposure(session, customer_id(customer), "GBP") == 0


def test_exposure_excludes_given_quote(session: Session) -> None:
    customer = add_customer(session)
    add_quote(session, customer, QuoteStatus.SENT, 1_000_00)
    resent = add_quote(session, customer, QuoteStatus.SENT, 400_00)

    assert exposure(session, customer_id(customer), "USD", exclude_quote_id=resent.id) == 1_000_00


def test_exposure_ignores_other_customers(session: Session) -> None:
    customer = add_customer(session)
    other = add_customer(session, name="Globex Ltd")
    add_quote(session, customer, QuoteStatus.SENT, 1_000_00)
    add_quote(session, other, QuoteStatus.SENT, 5_000_00)

    assert exposure(session, customer_id(customer), "USD") == 1_000_00
    assert exposure(session, customer_id(other), "USD") == 5_000_00


def test_credit_facts_use_credit_currency(session: Session) -> None:
    customer = add_customer(
        session, credit_limit=10_000_00, credit_currency="EUR", credit_status=CreditStatus.HOLD
    )
    add_quote(session, customer, QuoteStatus.SENT, 3_000_00, currency="EUR")
    add_quote(session, customer, QuoteStatus.SENT, 8_000_00, currency="USD")
    resent = add_quote(session, customer, QuoteStatus.SENT, 500_00, currency="EUR")

    facts = credit_facts(session, customer, exclude_quote_id=resent.id)

    assert facts == CreditFacts(
        status=CreditStatus.HOLD, limit=10_000_00, currency="EUR", exposure=3_000_00
    )


def test_credit_facts_without_limit(session: Session) -> None:
    customer = add_customer(session)
    add_quote(session, customer, QuoteStatus.SENT, 3_000_00)

    facts = credit_facts(session, customer)

    assert facts == CreditFacts(status=CreditStatus.GOOD, limit=None, currency=None, exposure=0)


def test_has_paid_before_needs_payment(session: Session) -> None:
    customer = add_customer(session)
    other = add_customer(session, name="Globex Ltd")
    quote = add_quote(session, customer, QuoteStatus.SENT, 1_000_00)
    other_quote = add_quote(session, other, QuoteStatus.SENT, 1_000_00)
    assert quote.id is not None
    assert other_quote.id is not None

    assert has_paid_before(session, customer_id(customer)) is False

    session.add(
        Payment(
            quote_id=other_quote.id,
            quote_version=1,
            amount=1_000_00,
            currency="USD",
            stripe_checkout_session_id="cs_test_other",
            paid_at=AT,
        )
    )
    session.commit()
    assert has_paid_before(session, customer_id(customer)) is False
    assert has_paid_before(session, customer_id(other)) is True

    session.add(
        Payment(
            quote_id=quote.id,
            quote_version=1,
            amount=1_000_00,
            currency="USD",
            stripe_checkout_session_id="cs_test_acme",
            paid_at=AT,
        )
    )
    session.commit()
    assert has_paid_before(session, customer_id(customer)) is True


def test_change_credit_rejects_non_finance_user(session: Session) -> None:
    customer = add_customer(session, credit_limit=1_000_00, credit_currency="USD")
    change = CreditChange(credit_limit=9_000_00, credit_status=CreditStatus.HOLD)

    with pytest.raises(NotAllowed):
        change_credit(session, customer_id(customer), change, "U0REP", FINANCE, AT)
    session.commit()
    session.expire_all()

    stored = session.get(Customer, customer_id(customer))
    assert stored is not None
    assert stored.credit_limit == 1_000_00
    assert stored.credit_status == CreditStatus.GOOD
    assert audit_entries(session) == []


def test_change_credit_unknown_customer(session: Session) -> None:
    with pytest.raises(NotFound, match="Customer 999999 was not found"):
        change_credit(session, 999_999, CreditChange(credit_limit=1), "U0FIN", FINANCE, AT)


def test_change_credit_changes_given_fields(session: Session) -> None:
    customer = add_customer(
        session, credit_limit=1_000_00, credit_currency="USD", payment_terms_days=30
    )
    change = CreditChange(credit_limit=5_000_00, credit_status=CreditStatus.HOLD)

    changed = change_credit(session, customer_id(customer), change, "U0FIN", FINANCE, AT)
    session.commit()
    session.expire_all()

    assert changed == ["credit_limit", "credit_status"]
    stored = session.get(Customer, customer_id(customer))
    assert stored is not None
    assert stored.credit_limit == 5_000_00
    assert stored.credit_status == CreditStatus.HOLD
    assert stored.credit_currency == "USD"
    assert stored.payment_terms_days == 30

    entries = audit_entries(session)
    assert [entry.action for entry in entries] == [
        "customer_credit_limit_changed",
        "customer_credit_status_changed",
    ]
    assert {entry.entity for entry in entries} == {"customer"}
    assert {entry.entity_id for entry in entries} == {customer_id(customer)}
    assert {entry.actor for entry in entries} == {"U0FIN"}
    assert {entry.at for entry in entries} == {AT}
    assert json.loads(entries[0].detail) == {"old": 1_000_00, "new": 5_000_00}
    assert json.loads(entries[1].detail) == {"old": "good", "new": "hold"}


def test_change_credit_skips_unchanged_fields(session: Session) -> None:
    customer = add_customer(session, credit_limit=1_000_00, credit_currency="USD")
    change = CreditChange(credit_limit=1_000_00, credit_currency="USD", payment_terms_days=45)

    changed = change_credit(session, customer_id(customer), change, "U0FIN", FINANCE, AT)
    session.commit()

    assert changed == ["payment_terms_days"]
    assert [entry.action for entry in audit_entries(session)] == [
        "customer_payment_terms_days_changed"
    ]


def test_change_credit_clears_limit(session: Session) -> None:
    customer = add_customer(session, credit_limit=1_000_00, credit_currency="USD")

    changed = change_credit(
        session, customer_id(customer), CreditChange(clear_limit=True), "U0FIN", FINANCE, AT
    )
    session.commit()
    session.expire_all()

    assert changed == ["credit_limit", "credit_currency"]
    stored = session.get(Customer, customer_id(customer))
    assert stored is not None
    assert stored.credit_limit is None
    assert stored.credit_currency is None
    assert len(audit_entries(session)) == 2
