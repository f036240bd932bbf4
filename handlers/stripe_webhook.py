"""`POST /stripe/webhook`: verify the signature, skip events already seen, dispatch by type.

A bad signature or payload gets 400 and changes nothing. An event type we do
not handle gets 200, so Stripe stops sending it. A redelivered event id gets
200 and changes nothing.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import stripe
from sqlmodel import Session

from bot.services import Services
from models.payments import CheckoutPayment, claim_event, record_checkout_payment

logger = logging.getLogger(__name__)

EventHandler = Callable[[Session, Services, dict[str, Any]], bool]


@dataclass(frozen=True)
class WebhookResponse:
    """The endpoint's response: HTTP status and a small JSON body."""

    status: int
    body: dict[str, Any]


def handle_stripe_webhook(
    services: Services, raw_body: bytes, signature: str | None
) -> WebhookResponse:
    """Verify and process one Stripe webhook delivery."""
    secret = services.settings.stripe_webhook_secret
    if secret is None:
        logger.error("STRIPE_WEBHOOK_SECRET is not set; rejecting webhook")
        return WebhookResponse(400, {"error": "webhook secret not configured"})
    if not signature:
        return WebhookResponse(400, {"error": "missing Stripe-Signature header"})

    try:
        event = stripe.Webhook.construct_event(raw_body, signature, secret.get_secret_value())
    except ValueError:
        logger.warning("webhook body is not valid JSON")
        return WebhookResponse(400, {"error": "invalid payload"})
    except stripe.SignatureVerificationError:
        logger.warning("webhook signature verification failed")
        return WebhookResponse(400, {"error": "invalid signature"})

    payload = json.loads(raw_body)
    event_id, event_type = str(payload.get("id") or ""), str(payload.get("type") or "")
    data_object = (payload.get("data") or {}).get("object")
    if not event_id or not isinstance(data_object, dict):
        logger.warning("webhook event lacks an id or data.object", extra={"event_type": event_type})
        return WebhookResponse(400, {"error": "event lacks id or data.object"})
    handler = EVENT_HANDLERS.get(event_type)
    if handler is None:
        logger.info(
            "webhook event type ignored", extra={"event_id": event_id, "event_type": event_type}
        )
        return WebhookResponse(200, {"received": True, "handled": False})

    with services.new_session() as session, session.begin():
        if not claim_event(session, event_id, event_type, services.clock()):
            logger.info(
                "webhook event already processed",
                extra={"event_id": event_id, "event_type": event_type},
            )
            return WebhookResponse(200, {"received": True, "duplicate": True})
        changed = handler(session, services, data_object)

    if changed:
        services.outbox.wake()
        services.link_retirement.wake()
    logger.info(
        "webhook event processed",
        extra={"event_id": event_id, "event_type": event.type, "changed": changed},
    )
    return WebhookResponse(200, {"received": True, "handled": True})


def _checkout_session_paid(session: Session, services: Services, checkout: dict[str, Any]) -> bool:
    payment = CheckoutPayment(
        session_id=str(checkout["id"]),
        payment_link_id=checkout.get("payment_link"),
        amount_total=int(checkout.get("amount_total") or 0),
        currency=str(checkout.get("currency") or "").upper(),
        payment_status=str(checkout.get("payment_status") or ""),
        metadata={str(key): str(value) for key, value in (checkout.get("metadata") or {}).items()},
        payment_intent_id=_id_of(checkout.get("payment_intent")),
        subscription_id=_id_of(checkout.get("subscription")),
        customer_id=_id_of(checkout.get("customer")),
        customer_email=(checkout.get("customer_details") or {}).get("email"),
    )
    return (
        record_checkout_payment(session, payment, services.channels, services.clock()) is not None
    )


def _id_of(value: Any) -> str | None:
    """Return an object's id whether Stripe sent it as an id string or expanded."""
    if isinstance(value, dict):
        return str(value.get("id"))
    return str(value) if value else None


EVENT_HANDLERS: dict[str, EventHandler] = {
    "checkout.session.completed": _checkout_session_paid,
    "checkout.session.async_payment_succeeded": _checkout_session_paid,
}
