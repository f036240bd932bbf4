"""Customer look-up by name, the customer card snapshot, and the credit form's checks."""

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from models.credit import EXPOSED_STATUSES, CreditChange, exposure
from models.customer import CreditStatus, Customer
from models.errors import InvalidInput, NotAllowed, NotFound
from models.money import Money, normalize_currency, parse_amount
from models.payment import Payment
from models.quote import Quote, QuoteStatus, format_quote_number
from models.quote_input import PAYMENT_TERMS

MATCH_LIMIT = 10
OPEN_QUOTE_LIMIT = 10
PAYMENT_LIMIT = 5

# `customer.credit_limit` is a 32-bit INTEGER column (migrations/versions/0002_*),
# so PostgreSQL rejects larger values.
MAX_CREDIT_LIMIT = 2**31 - 1

# Quotes that are still in play: not yet paid, cancelled or expired.
OPEN_STATUSES = (
    QuoteStatus.DRAFT,
    QuoteStatus.PENDING_APPROVAL,
    QuoteStatus.APPROVED,
    QuoteStatus.SENT,
    QuoteStatus.CREDIT_DENIED,
)


class CustomerMatch(NamedTuple):
    """A customer found by name."""

    id: int
    name: str


def find_customers(session: Session, text: str) -> list[CustomerMatch]:
    """Find customers by name, ignoring case.

    Exact matches win: when any customer is named exactly `text`, only those
    are returned. Otherwise the result is the customers whose name contains
    `text`, names that start with it first. At most MATCH_LIMIT are returned.
    """
    needle = text.strip()
    if not needle:
        return []

    # Both sides go through the database's lower(), so both fold case the same
    # way. NOTE: SQLite's lower() folds only ASCII letters, so on SQLite "ÄCME"
    # does not match "äcme". PostgreSQL folds both.
    name = func.lower(Customer.name)
    exact = (
        select(Customer)
        .where(name == func.lower(needle))
        .order_by(col(Customer.id))
        .limit(MATCH_LIMIT)
    )
    found = list(session.exec(exact).all())
    if not found:
        escaped = _escape_like(needle)
        starts_first = case((name.like(func.lower(f"{escaped}%"), escape="\\"), 0), else_=1)
        partial = (
            select(Customer)
            .where(name.like(func.lower(f"%{escaped}%"), escape="\\"))
            .order_by(starts_first, name, col(Customer.id))
            .limit(MATCH_LIMIT)
        )
        found = list(session.exec(partial).all())
    return [CustomerMatch(customer.id or 0, customer.name) for customer in found]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# The customer card


@dataclass(frozen=True)
class OpenQuote:
    """One open quote on the card, with `total_amount` in minor units of `currency`."""

    number: str
    status: QuoteStatus
    total_amount: int
    currency: str


@dataclass(frozen=True)
class RecentPayment:
    """One recorded payment on the card, with `amount` in minor units of `currency`."""

    quote_number: str
    amount: int
    currency: str
    paid_at: datetime


@dataclass(frozen=True)
class CustomerCard:
    """A customer's contact, terms and credit position, for display.

    `exposure` is the sum of unpaid sent quotes in `credit_currency`, or None
    when the customer has no credit currency. `exposure_by_currency` lists
    the same sums for every currency the customer has sent quotes in. Amounts
    in different currencies are never added together.
    """

    id: int
    name: str
    email: str | None
    payment_terms_days: int
    credit_limit: int | None
    credit_currency: str | None
    credit_status: CreditStatus
    exposure: int | None
    exposure_by_currency: tuple[Money, ...]
    open_quotes: tuple[OpenQuote, ...]
    open_quote_count: int
    recent_payments: tuple[RecentPayment, ...]

    @property
    def on_hold(self) -> bool:
        return self.credit_status == CreditStatus.HOLD

    @property
    def uncounted_exposure(self) -> tuple[Money, ...]:
        """Exposure in currencies other than the credit currency, which the limit ignores."""
        if self.credit_currency is None:
            return ()
        return tuple(m for m in self.exposure_by_currency if m.currency != self.credit_currency)


def load_customer_card(session: Session, customer_id: int) -> CustomerCard:
    """Build the card of one customer, or raise NotFound if the id does not exist."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"Customer {customer_id} was not found.")

    current_exposure = None
    if customer.credit_currency:
        current_exposure = exposure(session, customer_id, customer.credit_currency)

    return CustomerCard(
        id=customer_id,
        name=customer.name,
        email=customer.email,
        payment_terms_days=customer.payment_terms_days,
        credit_limit=customer.credit_limit,
        credit_currency=customer.credit_currency,
        credit_status=customer.credit_status,
        exposure=current_exposure,
        exposure_by_currency=_exposure_by_currency(session, customer_id),
        open_quotes=_open_quotes(session, customer_id),
        open_quote_count=_open_quote_count(session, customer_id),
        recent_payments=_recent_payments(session, customer_id),
    )


def _exposure_by_currency(session: Session, customer_id: int) -> tuple[Money, ...]:
    statement = (
        select(Quote.currency, func.sum(Quote.total_amount))
        .where(Quote.customer_id == customer_id, col(Quote.status).in_(EXPOSED_STATUSES))
        .group_by(col(Quote.currency))
        .order_by(col(Quote.currency))
    )
    return tuple(Money(int(total), currency) for currency, total in session.exec(statement).all())


def _open_quotes(session: Session, customer_id: int) -> tuple[OpenQuote, ...]:
    statement = (
        select(Quote)
        .where(Quote.customer_id == customer_id, col(Quote.status).in_(OPEN_STATUSES))
        .order_by(col(Quote.created_at).desc(), col(Quote.id).desc())
        .limit(OPEN_QUOTE_LIMIT)
    )
    return tuple(
        OpenQuote(quote.number, quote.status, quote.total_amount, quote.currency)
        for quote in session.exec(statement).all()
    )


def _open_quote_count(session: Session, customer_id: int) -> int:
    statement = select(func.count(col(Quote.id))).where(
        Quote.customer_id == customer_id, col(Quote.status).in_(OPEN_STATUSES)
    )
    return int(session.exec(statement).one())


def _recent_payments(session: Session, customer_id: int) -> tuple[RecentPayment, ...]:
    statement = (
        select(Payment)
        .join(Quote, col(Quote.id) == Payment.quote_id)
        .where(Quote.customer_id == customer_id)
        .order_by(col(Payment.paid_at).desc(), col(Payment.id).desc())
        .limit(PAYMENT_LIMIT)
    )
    return tuple(
        RecentPayment(
            quote_number=format_quote_number(payment.quote_id),
            amount=payment.amount,
            currency=payment.currency,
            paid_at=payment.paid_at,
        )
        for payment in session.exec(statement).all()
    )


# The credit form


FINANCE_ONLY = "Only finance users can change credit limits, terms or holds."


def ensure_finance_user(user_id: str, finance_users: frozenset[str]) -> None:
    """Raise NotAllowed unless `user_id` is one of the policy file's finance users."""
    if user_id not in finance_users:
        raise NotAllowed(FINANCE_ONLY)


def terms_key(days: int) -> str | None:
    """Return the PAYMENT_TERMS key for `days`, or None if no listed choice has that many."""
    return next((key for key, (_, value) in PAYMENT_TERMS.items() if value == days), None)


class CreditFormErrors(InvalidInput):
    """Every problem found in the credit form, keyed by the form's block id."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class CreditForm:
    """The credit form as submitted, with the user's text or option value in every field.

    An empty `credit_limit` removes the limit, and then `credit_currency` is ignored.
    """

    credit_limit: str
    credit_currency: str
    payment_terms: str
    credit_status: str


def check_credit_form(form: CreditForm, currencies: frozenset[str]) -> CreditChange:
    """Check the credit form and return the change to apply, or raise CreditFormErrors.

    `currencies` are the codes a limit may be set in.
    """
    errors: dict[str, str] = {}

    limit: int | None = None
    currency: str | None = None
    limit_text = form.credit_limit.strip()
    if limit_text:
        currency = _check_limit_currency(form.credit_currency, currencies, errors)
        if currency is not None:
            limit = _check_limit(limit_text, currency, errors)

    terms_days: int | None = None
    if form.payment_terms in PAYMENT_TERMS:
        terms_days = PAYMENT_TERMS[form.payment_terms][1]
    else:
        choices = ", ".join(label for label, _ in PAYMENT_TERMS.values())
        errors["payment_terms"] = f"Choose payment terms: one of {choices}."

    status: CreditStatus | None = None
    try:
        status = CreditStatus(form.credit_status)
    except ValueError:
        errors["credit_status"] = "Choose a credit status: good or hold."

    if errors:
        raise CreditFormErrors(errors)
    return CreditChange(
        credit_limit=limit,
        credit_currency=currency,
        payment_terms_days=terms_days,
        credit_status=status,
        clear_limit=not limit_text,
    )


def _check_limit_currency(
    text: str, currencies: frozenset[str], errors: dict[str, str]
) -> str | None:
    enabled = ", ".join(sorted(currencies))
    if not text.strip():
        errors["credit_currency"] = f"Choose the currency of the credit limit: one of {enabled}."
        return None
    try:
        currency = normalize_currency(text)
    except InvalidInput as error:
        errors["credit_currency"] = str(error)
        return None
    if currency not in currencies:
        errors["credit_currency"] = f"Currency {currency} is not enabled: use one of {enabled}."
        return None
    return currency


def _check_limit(text: str, currency: str, errors: dict[str, str]) -> int | None:
    try:
        limit = parse_amount(text, currency)
    except InvalidInput as error:
        errors["credit_limit"] = str(error)
        return None
    if limit > MAX_CREDIT_LIMIT:
        errors["credit_limit"] = (
            f"Credit limit {Money(limit, currency).format()} is too large: the maximum is "
            f"{Money(MAX_CREDIT_LIMIT, currency).format()}."
        )
        return None
    return limit
