"""Jobs that keep quotes and payment links true to their dates and versions."""

import logging
from collections.abc import Callable

from sqlmodel import Session

from models.clock import Clock
from models.gateway import PaymentGateway
from models.payment_links import retire_pending_links
from models.quoting import expire_quotes

logger = logging.getLogger(__name__)


def retire_links(new_session: Callable[[], Session], gateway: PaymentGateway) -> int:
    """Deactivate at Stripe the payment links of replaced, cancelled, expired or paid quotes."""
    return retire_pending_links(new_session, gateway)


def expire_due_quotes(
    new_session: Callable[[], Session], clock: Clock, today: Callable[[], object]
) -> list[int]:
    """Expire quotes past their valid-until date in the company's time zone."""
    with new_session() as session, session.begin():
        expired = expire_quotes(session, today(), clock())  # type: ignore[arg-type]
    for quote_id in expired:
        logger.info("quote expired", extra={"quote_id": quote_id})
    return expired
