"""Use cases that create and change quotes.

Each function works inside the caller's transaction and writes the change
and its audit row together; the caller commits.
"""

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from models import audit
from models.approval_state import close_follow_ups, has_request_for_version, supersede_requests
from models.catalog import Product
from models.customer import Customer
from models.errors import InvalidState, NotFound
from models.outbox import queue_quote_refresh
from models.payment import PaymentLink
from models.permissions import ensure_can_manage
from models.pricing import PricedLine, compute_totals
from models.quote import Quote, QuoteLine, QuoteStatus
from models.quote_input import QuoteDefaults, QuoteForm, QuoteInput, validate_quote_form

logger = logging.getLogger(__name__)

EDITABLE_IN_PLACE = frozenset({QuoteStatus.DRAFT})
# Edits to these make a new version, because an approval or a payment link
# applies to the version it was given for. So does editing a draft that was
# already submitted for approval.
REVISABLE = frozenset(
    {
        QuoteStatus.APPROVED,
        QuoteStatus.SENT,
        QuoteStatus.PENDING_APPROVAL,
        QuoteStatus.CREDIT_DENIED,
    }
)


@dataclass(frozen=True)
class Actor:
    """The Slack user acting, and the users with manager rights over every quote."""

    user_id: str
    managers: frozenset[str] = frozenset()


def find_customer_id(session: Session, text: str) -> int | None:
    """Return the id of the customer given by id or by exact name (any case), if one exists."""
    value = text.strip()
    if value.isdigit():
        customer = session.get(Customer, int(value))
        return customer.id if customer else None

    statement = (
        select(Customer)
        .where(func.lower(Customer.name) == value.lower())
        .order_by(col(Customer.id))
    )
    customer = session.exec(statement).first()
    return customer.id if customer else None


def find_product(session: Session, sku: str) -> Product | None:
    """Return the catalog product with this SKU, ignoring case."""
    statement = select(Product).where(func.upper(Product.sku) == sku.strip().upper())
    return session.exec(statement).first()


def get_quote(session: Session, quote_id: int, *, for_update: bool = False) -> Quote:
    """Load a quote by id, locking its row on PostgreSQL when `for_update` is set."""
    statement = select(Quote).where(Quote.id == quote_id)
    if for_update:
        statement = statement.with_for_update()
    quote = session.exec(statement).first()
    if quote is None:
        raise NotFound(f"Quote {quote_id} was not found.")
    return quote


def create_quote(session: Session, data: QuoteInput, owner_user_id: str, at: datetime) -> Quote:
    """Store a new draft quote, creating its customer first when it is new."""
    customer_id = data.customer_id
    if customer_id is None:
        customer = Customer(
            name=data.new_customer_name or "", created_by=owner_user_id, created_at=at
        )
        session.add(customer)
        session.flush()
        customer_id = customer.id
        assert customer_id is not None
        audit.record(
            session,
            entity="customer",
            entity_id=customer_id,
            action="customer_created",
            actor=owner_user_id,
            at=at,
            name=customer.name,
        )

    quote = Quote(
        customer_id=customer_id,
        owner_user_id=owner_user_id,
        currency=data.currency,
        valid_until=data.valid_until,
        created_at=at,
        updated_at=at,
    )
    _apply_input(quote, data)
    session.add(quote)
    session.flush()
    assert quote.id is not None

    audit.record_quote(
        session,
        quote,
        action="quote_created",
        actor=owner_user_id,
        at=at,
        total=quote.total_amount,
        currency=quote.currency,
    )
    logger.info("quote created", extra={"quote_id": quote.id, "user_id": owner_user_id})
    return quote


def revise_quote(
    session: Session,
    quote_id: int,
    data: QuoteInput,
    actor: Actor,
    at: datetime,
    *,
    expected_version: int | None = None,
) -> Quote:
    """Apply an edit: a fresh draft changes in place, anything submitted or sent gets a new version.

    A new version starts as a draft, and every payment link of the old version
    is marked for retirement so the customer can no longer pay the old terms.
    An edit made on `expected_version` is refused once the quote has moved on,
    so a form left open cannot overwrite a newer edit.
    """
    quote = get_quote(session, quote_id, for_update=True)
    ensure_can_manage(quote, actor.user_id, actor.managers)
    if expected_version is not None and expected_version != quote.version:
        raise InvalidState(
            f"Quote {quote.number} changed to version {quote.version} while this form was open, "
            "so these changes were not saved. Close the form and press Edit on the latest message."
        )

    if quote.status in REVISABLE or has_request_for_version(session, quote):
        supersede_requests(session, quote, actor.user_id, at)
        close_follow_ups(session, quote, at)
        retired = retire_links(session, quote)
        quote.version += 1
        if quote.status != QuoteStatus.DRAFT:
            quote.move_to(QuoteStatus.DRAFT)
        audit.record_quote(
            session,
            quote,
            action="quote_revised",
            actor=actor.user_id,
            at=at,
            retired_links=retired,
        )
    elif quote.status in EDITABLE_IN_PLACE:
        quote.status = QuoteStatus.DRAFT
        audit.record_quote(
            session,
            quote,
            action="quote_edited",
            actor=actor.user_id,
            at=at,
        )
    else:
        raise InvalidState(
            f"Quote {quote.number} is {quote.status.value} and can no longer be edited."
        )

    if data.customer_id is not None:
        quote.customer_id = data.customer_id
    quote.currency = data.currency
    _apply_input(quote, data)
    quote.updated_at = at
    session.add(quote)
    logger.info(
        "quote changed",
        extra={"quote_id": quote_id, "version": quote.version, "user_id": actor.user_id},
    )
    return quote


def cancel_quote(session: Session, quote_id: int, actor: Actor, at: datetime) -> Quote:
    """Cancel a quote that is not paid yet and retire its payment links."""
    quote = get_quote(session, quote_id, for_update=True)
    ensure_can_manage(quote, actor.user_id, actor.managers)

    quote.move_to(QuoteStatus.CANCELLED)
    supersede_requests(
        session, quote, actor.user_id, at, reason=f"Quote cancelled by <@{actor.user_id}>"
    )
    close_follow_ups(session, quote, at)
    retired = retire_links(session, quote)
    quote.updated_at = at
    session.add(quote)

    audit.record_quote(
        session,
        quote,
        action="quote_cancelled",
        actor=actor.user_id,
        at=at,
        retired_links=retired,
    )
    logger.info("quote cancelled", extra={"quote_id": quote_id, "user_id": actor.user_id})
    return quote


def expire_quotes(session: Session, today: date, at: datetime) -> list[int]:
    """Expire unpaid quotes whose valid-until date has passed; return their ids."""
    open_statuses = [
        QuoteStatus.DRAFT,
        QuoteStatus.PENDING_APPROVAL,
        QuoteStatus.APPROVED,
        QuoteStatus.SENT,
    ]
    statement = select(Quote).where(
        col(Quote.status).in_(open_statuses), col(Quote.valid_until) < today
    )

    expired: list[int] = []
    for quote in session.exec(statement).all():
        assert quote.id is not None
        quote.move_to(QuoteStatus.EXPIRED)
        supersede_requests(
            session, quote, "system", at, reason=f"Quote expired on {quote.valid_until}"
        )
        close_follow_ups(session, quote, at)
        retire_links(session, quote)
        quote.updated_at = at
        audit.record_quote(
            session,
            quote,
            action="quote_expired",
            actor="system",
            at=at,
        )
        queue_quote_refresh(
            session,
            quote_id=quote.id,
            channel_id=quote.slack_channel_id,
            ts=quote.slack_message_ts,
            reason="expired",
            at=at,
        )
        expired.append(quote.id)
    return expired


def record_preview_message(session: Session, quote_id: int, channel_id: str, ts: str) -> None:
    """Remember the Slack message that shows the quote, whose thread gets its updates."""
    quote = get_quote(session, quote_id)
    quote.slack_channel_id = channel_id
    quote.slack_message_ts = ts
    session.add(quote)


def retire_links(session: Session, quote: Quote) -> list[str]:
    """Mark the quote's active payment links for deactivation; return their Stripe ids."""
    statement = select(PaymentLink).where(
        PaymentLink.quote_id == quote.id, col(PaymentLink.active).is_(True)
    )
    retired = []
    for link in session.exec(statement).all():
        link.active = False
        link.retire_pending = True
        session.add(link)
        retired.append(link.stripe_payment_link_id)
    return retired


def priced_lines(quote: Quote) -> list[PricedLine]:
    """Return the quote's lines as pricing input."""
    return [PricedLine(line.description, line.quantity, line.unit_amount) for line in quote.lines]


def _apply_input(quote: Quote, data: QuoteInput) -> None:
    quote.discount_ppm = data.discount_ppm
    quote.tax_ppm = data.tax_ppm
    quote.payment_terms_days = data.payment_terms_days
    quote.recurring_interval = data.recurring_interval
    quote.valid_until = data.valid_until
    quote.notes = data.notes
    quote.lines = [
        QuoteLine(
            position=position,
            product_id=line.product_id,
            sku=line.sku,
            description=line.description,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            list_unit_amount=line.list_unit_amount,
        )
        for position, line in enumerate(data.lines)
    ]

    totals = compute_totals(priced_lines(quote), quote.discount_ppm, quote.tax_ppm)
    quote.subtotal_amount = totals.subtotal
    quote.discount_amount = totals.discount
    quote.tax_amount = totals.tax
    quote.total_amount = totals.total


def check_quote_form(session: Session, form: QuoteForm, defaults: QuoteDefaults) -> QuoteInput:
    """Validate a quote form against the customers and catalog in the database.

    A quote that names no payment terms takes the customer's own terms.
    """
    data = validate_quote_form(
        form,
        defaults=defaults,
        find_customer=lambda text: find_customer_id(session, text),
        find_product=lambda sku: find_product(session, sku),
    )
    customer = session.get(Customer, data.customer_id) if data.customer_id is not None else None
    if customer is not None and not form.terms.strip():
        data = replace(data, payment_terms_days=customer.payment_terms_days)
    return data
