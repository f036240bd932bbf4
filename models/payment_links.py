"""Sending a quote: create its Stripe payment link and mark it sent.

The gateway call happens between two short transactions, never inside one,
so no database lock is held while Stripe responds. The idempotency key built
from the quote id and version makes a retried or doubled press return the
same link, and the second transaction checks that the quote did not change
while the link was being made.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from models import audit
from models.clock import Clock
from models.errors import InvalidState
from models.gateway import CreatedPaymentLink, PaymentGateway, PaymentLinkRequest
from models.money import Money
from models.outbox import queue_alert
from models.payment import PaymentLink
from models.permissions import ensure_can_manage
from models.pricing import charge_lines
from models.quote import Quote, QuoteStatus
from models.quoting import Actor, get_quote, priced_lines
from models.summary import QuoteSummary, summarize

logger = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]
SENDABLE = frozenset({QuoteStatus.DRAFT, QuoteStatus.APPROVED})

# Stripe accepts amounts of at most eight digits in the minor unit (99,999,999,
# or 999,999.99 USD) for a price and for a charge, per its currency documentation.
# NOTE: Stripe's per-currency minimum charge (0.50 USD, for example) is not
# checked here; Stripe rejects such a link and the rep gets its message.
MAX_STRIPE_AMOUNT = 99_999_999


@dataclass(frozen=True)
class SendOutcome:
    """The quote after sending, and whether this call created the link."""

    quote: QuoteSummary
    created: bool


def send_quote(
    new_session: SessionFactory,
    quote_id: int,
    actor: Actor,
    gateway: PaymentGateway,
    clock: Clock,
) -> SendOutcome:
    """Create the payment link for the quote's current version and mark the quote sent."""
    with new_session() as session:
        quote = get_quote(session, quote_id)
        ensure_can_manage(quote, actor.user_id, actor.managers)
        if _active_link(session, quote) is not None and quote.status == QuoteStatus.SENT:
            return SendOutcome(summarize(session, quote), created=False)
        request = build_link_request(quote, clock().date())

    created = gateway.create_payment_link(request)
    logger.info(
        "payment link created",
        extra={
            "quote_id": quote_id,
            "version": request.quote_version,
            "payment_link_id": created.id,
        },
    )

    with new_session() as session, session.begin():
        quote = get_quote(session, quote_id, for_update=True)
        existing = _active_link(session, quote)
        if quote.status == QuoteStatus.SENT and existing is not None:
            return SendOutcome(summarize(session, quote), created=False)
        if quote.version == request.quote_version and quote.status in SENDABLE:
            _mark_sent(session, quote, request, created, actor, clock())
            return SendOutcome(summarize(session, quote), created=True)

        _record_stale_link(session, quote, request, created, actor, clock())
        message = (
            f"Quote {quote.number} changed while its payment link was being created "
            f"(now version {quote.version}, {quote.status.value}), so that link was retired."
        )
    raise InvalidState(message)


def build_link_request(quote: Quote, today: date) -> PaymentLinkRequest:
    """Check that the quote can be sent and describe the link it needs."""
    assert quote.id is not None
    if quote.status not in SENDABLE:
        raise InvalidState(
            f"Quote {quote.number} is {quote.status.value}; only a draft or approved quote gets a payment link."
        )
    if quote.valid_until < today:
        raise InvalidState(
            f"Quote {quote.number} expired on {quote.valid_until}; edit it to set a new valid-until date."
        )
    if quote.total_amount <= 0:
        raise InvalidState(f"Quote {quote.number} totals zero, so there is nothing to charge.")
    if quote.total_amount > MAX_STRIPE_AMOUNT:
        limit = Money(MAX_STRIPE_AMOUNT, quote.currency).format()
        raise InvalidState(
            f"Quote {quote.number} totals more than Stripe takes in one payment ({limit}). "
            "Split it into smaller quotes."
        )

    return PaymentLinkRequest(
        quote_id=quote.id,
        quote_number=quote.number,
        quote_version=quote.version,
        currency=quote.currency,
        recurring_interval=quote.recurring_interval,
        lines=charge_lines(priced_lines(quote), quote.discount_ppm, quote.tax_ppm),
        idempotency_key=f"o2c-quote-{quote.id}-v{quote.version}-payment-link",
    )


def retire_pending_links(new_session: SessionFactory, gateway: PaymentGateway) -> int:
    """Deactivate, at Stripe, every link marked for retirement; return how many succeeded.

    A failure leaves the mark in place for the next run.
    """
    with new_session() as session:
        pending = session.exec(
            select(PaymentLink).where(col(PaymentLink.retire_pending).is_(True))
        ).all()
        link_ids = [(link.id, link.stripe_payment_link_id, link.quote_id) for link in pending]

    retired = 0
    for row_id, stripe_id, quote_id in link_ids:
        try:
            gateway.deactivate_payment_link(stripe_id)
        except Exception:
            logger.exception(
                "payment link deactivation failed; will retry",
                extra={"quote_id": quote_id, "payment_link_id": stripe_id},
            )
            continue
        with new_session() as session, session.begin():
            link = session.get(PaymentLink, row_id)
            if link is not None:
                link.retire_pending = False
                session.add(link)
        retired += 1
        logger.info(
            "payment link deactivated", extra={"quote_id": quote_id, "payment_link_id": stripe_id}
        )
    return retired


def _active_link(session: Session, quote: Quote) -> PaymentLink | None:
    statement = select(PaymentLink).where(
        PaymentLink.quote_id == quote.id,
        PaymentLink.quote_version == quote.version,
        col(PaymentLink.active).is_(True),
    )
    return session.exec(statement).first()


def _mark_sent(
    session: Session,
    quote: Quote,
    request: PaymentLinkRequest,
    created: CreatedPaymentLink,
    actor: Actor,
    at: datetime,
) -> None:
    assert quote.id is not None
    session.add(
        PaymentLink(
            quote_id=quote.id,
            quote_version=quote.version,
            stripe_payment_link_id=created.id,
            url=created.url,
            amount=request.amount,
            currency=request.currency,
            created_by=actor.user_id,
            created_at=at,
        )
    )
    quote.move_to(QuoteStatus.SENT)
    quote.updated_at = at
    session.add(quote)

    audit.record_quote(
        session,
        quote,
        action="quote_sent",
        actor=actor.user_id,
        at=at,
        payment_link_id=created.id,
        amount=request.amount,
    )
    queue_alert(
        session,
        delivery_key=f"payment_link_created:{created.id}",
        kind="payment_link_created",
        channel=quote.slack_channel_id or quote.owner_user_id,
        thread_ts=quote.slack_message_ts,
        text=f"Payment link for {quote.number} (version {quote.version}): {created.url}",
        payload={
            "quote_id": quote.id,
            "quote_number": quote.number,
            "version": quote.version,
            "url": created.url,
            "amount": request.amount,
            "currency": request.currency,
            "actor": actor.user_id,
        },
        at=at,
    )


def _record_stale_link(
    session: Session,
    quote: Quote,
    request: PaymentLinkRequest,
    created: CreatedPaymentLink,
    actor: Actor,
    at: datetime,
) -> None:
    """Keep a link made for a version that changed meanwhile, marked for retirement."""
    exists = session.exec(
        select(PaymentLink).where(PaymentLink.stripe_payment_link_id == created.id)
    ).first()
    if exists is not None:
        return
    assert quote.id is not None
    session.add(
        PaymentLink(
            quote_id=quote.id,
            quote_version=request.quote_version,
            stripe_payment_link_id=created.id,
            url=created.url,
            amount=request.amount,
            currency=request.currency,
            active=False,
            retire_pending=True,
            created_by=actor.user_id,
            created_at=at,
        )
    )
