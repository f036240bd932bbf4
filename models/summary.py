"""Plain snapshots of quotes for rendering after the session has closed."""

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from models.approval import ApprovalDecision, ApprovalRequest, RequestStatus
from models.catalog import BillingInterval
from models.money import Money
from models.payment import Payment, PaymentLink
from models.quote import Quote, QuoteStatus
from models.quoting import get_quote


@dataclass(frozen=True)
class LineSummary:
    """One quote line for display."""

    description: str
    sku: str | None
    quantity: int
    unit_amount: int
    list_unit_amount: int | None

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_amount


@dataclass(frozen=True)
class QuoteSummary:
    """Everything a Slack message about one quote shows."""

    id: int
    number: str
    version: int
    status: QuoteStatus
    customer_id: int
    customer_name: str
    owner_user_id: str
    currency: str
    lines: tuple[LineSummary, ...]
    subtotal_amount: int
    discount_ppm: int
    discount_amount: int
    tax_ppm: int
    tax_amount: int
    total_amount: int
    payment_terms_days: int
    recurring_interval: BillingInterval | None
    valid_until: date
    notes: str
    payment_link_url: str | None
    slack_channel_id: str | None
    slack_message_ts: str | None
    approval_note: str = ""


def summarize_quote(session: Session, quote_id: int) -> QuoteSummary:
    """Load a quote with its customer, lines and active payment link as a snapshot."""
    quote = get_quote(session, quote_id)
    return summarize(session, quote)


def summarize(session: Session, quote: Quote) -> QuoteSummary:
    """Snapshot a loaded quote."""
    assert quote.id is not None
    link = session.exec(
        select(PaymentLink)
        .where(PaymentLink.quote_id == quote.id, PaymentLink.quote_version == quote.version)
        .where(col(PaymentLink.active).is_(True))
        .order_by(col(PaymentLink.id).desc())
    ).first()

    return QuoteSummary(
        id=quote.id,
        number=quote.number,
        version=quote.version,
        status=quote.status,
        customer_id=quote.customer_id,
        customer_name=quote.customer.name,
        owner_user_id=quote.owner_user_id,
        currency=quote.currency,
        lines=tuple(
            LineSummary(
                line.description, line.sku, line.quantity, line.unit_amount, line.list_unit_amount
            )
            for line in quote.lines
        ),
        subtotal_amount=quote.subtotal_amount,
        discount_ppm=quote.discount_ppm,
        discount_amount=quote.discount_amount,
        tax_ppm=quote.tax_ppm,
        tax_amount=quote.tax_amount,
        total_amount=quote.total_amount,
        payment_terms_days=quote.payment_terms_days,
        recurring_interval=quote.recurring_interval,
        valid_until=quote.valid_until,
        notes=quote.notes,
        payment_link_url=link.url if link else None,
        slack_channel_id=quote.slack_channel_id,
        slack_message_ts=quote.slack_message_ts,
        approval_note=_payment_note(session, quote) or _approval_note(session, quote),
    )


def _payment_note(session: Session, quote: Quote) -> str:
    """Warn when a paid quote received a different amount than its total."""
    if quote.status != QuoteStatus.PAID:
        return ""
    payments = session.exec(select(Payment).where(Payment.quote_id == quote.id)).all()
    received = [payment for payment in payments if payment.currency == quote.currency]
    paid = sum(payment.amount for payment in received)
    if paid == quote.total_amount and len(received) == len(payments):
        return ""
    amounts = ", ".join(Money(payment.amount, payment.currency).format() for payment in payments)
    total = Money(quote.total_amount, quote.currency).format()
    return f":warning: Payments received ({amounts}) do not match the total of {total}; finance should review."


def _approval_note(session: Session, quote: Quote) -> str:
    """Describe the latest approval request of the current version for the quote message."""
    request = session.exec(
        select(ApprovalRequest)
        .where(ApprovalRequest.quote_id == quote.id, ApprovalRequest.quote_version == quote.version)
        .order_by(col(ApprovalRequest.id).desc())
    ).first()
    if request is None:
        return ""
    if request.status == RequestStatus.OPEN:
        return "Waiting for approval from the deal desk."
    last = session.exec(
        select(ApprovalDecision)
        .where(ApprovalDecision.request_id == request.id)
        .order_by(col(ApprovalDecision.id).desc())
    ).first()
    if last is None:
        return ""
    words = {
        RequestStatus.APPROVED: "Approved",
        RequestStatus.REJECTED: "Rejected",
        RequestStatus.CHANGES_REQUESTED: "Changes requested",
        RequestStatus.CREDIT_DENIED: "Credit denied",
    }.get(request.status)
    if words is None:
        return ""
    note = f"{words} by <@{last.actor}>"
    return f"{note}: {request.outcome_reason}" if request.outcome_reason else f"{note}."
