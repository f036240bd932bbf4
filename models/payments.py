"""Payments reported by Stripe: the quote becomes paid and alerts are queued for the team."""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models import audit
from models.money import Money
from models.outbox import AlertChannels, queue_alert, queue_quote_refresh
from models.payment import Payment, PaymentLink
from models.quote import Quote, QuoteStatus
from models.quoting import get_quote
from models.stripe_event import ProcessedStripeEvent

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckoutPayment:
    """The facts of a completed Stripe Checkout Session, free of Stripe types."""

    session_id: str
    payment_link_id: str | None
    amount_total: int
    currency: str
    payment_status: str
    metadata: dict[str, str] = field(default_factory=dict)
    payment_intent_id: str | None = None
    subscription_id: str | None = None
    customer_id: str | None = None
    customer_email: str | None = None


def claim_event(session: Session, event_id: str, event_type: str, at: datetime) -> bool:
    """Record a Stripe event id in the caller's transaction; return False if it was seen before.

    The insert is flushed at once, so two deliveries racing each other meet
    the primary key and only one goes on.
    """
    if session.get(ProcessedStripeEvent, event_id) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(ProcessedStripeEvent(id=event_id, type=event_type, processed_at=at))
    except IntegrityError:
        return False
    return True


def record_checkout_payment(
    session: Session, payment: CheckoutPayment, channels: AlertChannels, at: datetime
) -> Payment | None:
    """Record a paid checkout session against its quote and queue the alerts.

    Returns None when the session is not for one of our quotes, is not paid
    yet (a bank debit still clearing), or was recorded before.
    """
    quote, link = _find_quote(session, payment)
    if quote is None:
        logger.info(
            "checkout session is not for a quote; ignored",
            extra={"checkout_session_id": payment.session_id},
        )
        return None
    if payment.payment_status != "paid":
        logger.info(
            "checkout session not paid yet; waiting",
            extra={"quote_id": quote.id, "checkout_session_id": payment.session_id},
        )
        return None
    if session.exec(
        select(Payment).where(Payment.stripe_checkout_session_id == payment.session_id)
    ).first():
        return None

    assert quote.id is not None
    version = (
        link.quote_version
        if link
        else int(payment.metadata.get("o2c_quote_version") or quote.version)
    )
    concerns = _review_concerns(quote, link, payment, version)

    record = Payment(
        quote_id=quote.id,
        quote_version=version,
        amount=payment.amount_total,
        currency=payment.currency,
        stripe_checkout_session_id=payment.session_id,
        stripe_payment_link_id=payment.payment_link_id,
        stripe_payment_intent_id=payment.payment_intent_id,
        stripe_subscription_id=payment.subscription_id,
        stripe_customer_id=payment.customer_id,
        paid_at=at,
    )
    session.add(record)

    if quote.status == QuoteStatus.SENT and version == quote.version:
        quote.move_to(QuoteStatus.PAID)
        quote.updated_at = at
        session.add(quote)
    if link is not None and link.active:
        link.active = False
        link.retire_pending = True
        session.add(link)
    session.flush()
    assert record.id is not None

    audit.record(
        session,
        entity="quote",
        entity_id=quote.id,
        version=version,
        action="payment_received",
        actor="stripe",
        at=at,
        amount=payment.amount_total,
        currency=payment.currency,
        checkout_session_id=payment.session_id,
        concerns=concerns,
    )
    _queue_payment_alerts(session, quote, record, channels, concerns, at)
    queue_quote_refresh(
        session,
        quote_id=quote.id,
        channel_id=quote.slack_channel_id,
        ts=quote.slack_message_ts,
        reason=f"payment {record.id}",
        at=at,
    )
    logger.info(
        "payment recorded",
        extra={
            "quote_id": quote.id,
            "payment_id": record.id,
            "checkout_session_id": payment.session_id,
        },
    )
    return record


def _find_quote(
    session: Session, payment: CheckoutPayment
) -> tuple[Quote | None, PaymentLink | None]:
    link = None
    if payment.payment_link_id:
        link = session.exec(
            select(PaymentLink).where(PaymentLink.stripe_payment_link_id == payment.payment_link_id)
        ).first()
    if link is not None:
        return get_quote(session, link.quote_id, for_update=True), link

    quote_id = payment.metadata.get("o2c_quote_id", "")
    if not quote_id.isdigit() or session.get(Quote, int(quote_id)) is None:
        return None, None
    return get_quote(session, int(quote_id), for_update=True), None


def _review_concerns(
    quote: Quote, link: PaymentLink | None, payment: CheckoutPayment, version: int
) -> list[str]:
    """List what finance should check before treating this payment as settling the quote."""
    concerns = []
    if quote.status != QuoteStatus.SENT:
        concerns.append(f"the quote was {quote.status.value} when the payment arrived")
    if version != quote.version:
        concerns.append(
            f"the payment is for version {version}, but the quote is at version {quote.version}"
        )
    expected = (
        Money(link.amount, link.currency) if link else Money(quote.total_amount, quote.currency)
    )
    received = Money(payment.amount_total, payment.currency)
    if expected != received:
        concerns.append(f"{received.format()} was paid but {expected.format()} was expected")
    return concerns


def _queue_payment_alerts(
    session: Session,
    quote: Quote,
    payment: Payment,
    channels: AlertChannels,
    concerns: list[str],
    at: datetime,
) -> None:
    amount = Money(payment.amount, payment.currency).format()
    text = f"Payment received: {amount} for {quote.number} from {quote.customer.name}."
    facts = {
        "quote_id": quote.id,
        "quote_number": quote.number,
        "version": payment.quote_version,
        "customer_name": quote.customer.name,
        "owner_user_id": quote.owner_user_id,
        "amount": payment.amount,
        "currency": payment.currency,
        "checkout_session_id": payment.stripe_checkout_session_id,
        "concerns": concerns,
    }

    queue_alert(
        session,
        delivery_key=f"payment_received:{payment.id}:channel",
        kind="payment_received",
        channel=channels.payments,
        text=text,
        payload=facts,
        at=at,
    )
    queue_alert(
        session,
        delivery_key=f"payment_received:{payment.id}:thread",
        kind="payment_received",
        channel=quote.slack_channel_id or quote.owner_user_id,
        thread_ts=quote.slack_message_ts,
        text=text,
        payload=facts,
        at=at,
    )
