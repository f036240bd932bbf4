"""The payment gateway backed by Stripe's official client."""

import logging
from typing import Any

import stripe

from models.gateway import CreatedPaymentLink, GatewayError, PaymentLinkRequest

logger = logging.getLogger(__name__)

# The client retries connection errors, 409s, 5xx responses and 429s that carry
# `Stripe-Should-Retry: true`, with back-off from 0.5 s (stripe 16.x).
NETWORK_RETRIES = 2


def make_client(api_key: str, api_base: str) -> stripe.StripeClient:
    """Build a Stripe client aimed at `api_base` (Stripe's, or a local stand-in in tests)."""
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base.rstrip("/")},
        max_network_retries=NETWORK_RETRIES,
    )


class StripeGateway:
    """Creates and retires Stripe Payment Links for quotes."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self._client = client

    def create_payment_link(self, request: PaymentLinkRequest) -> CreatedPaymentLink:
        """Create a link that one completed payment exhausts, tagged with the quote id and version."""
        params = payment_link_params(request)
        try:
            link = self._client.v1.payment_links.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as error:
            logger.error(
                "Stripe rejected the payment link: %s",
                error.user_message or error.__class__.__name__,
                extra={"quote_id": request.quote_id, "version": request.quote_version},
            )
            raise GatewayError(
                f"Stripe could not create the payment link for {request.quote_number}: "
                f"{error.user_message or 'the request failed'}. Try again in a minute."
            ) from error
        return CreatedPaymentLink(id=link.id, url=link.url)

    def deactivate_payment_link(self, link_id: str) -> None:
        """Make a link unusable, so the customer cannot pay an outdated quote."""
        try:
            self._client.v1.payment_links.update(link_id, {"active": False})
        except stripe.StripeError as error:
            raise GatewayError(f"Stripe could not deactivate payment link {link_id}") from error


def payment_link_params(request: PaymentLinkRequest) -> dict[str, Any]:
    """Build the Payment Link parameters for a quote version.

    Stripe copies a link's `metadata` onto its Checkout Sessions; the
    PaymentIntent (one-time) or Subscription (recurring) gets the same tags.
    """
    currency = request.currency.lower()
    line_items = []
    for line in request.lines:
        price_data: dict[str, Any] = {
            "currency": currency,
            "unit_amount": line.unit_amount,
            "product_data": {"name": line.name[:250]},
        }
        if request.recurring_interval is not None:
            price_data["recurring"] = {"interval": request.recurring_interval.value}
        line_items.append({"price_data": price_data, "quantity": line.quantity})

    params: dict[str, Any] = {
        "line_items": line_items,
        "metadata": request.metadata,
        "restrictions": {"completed_sessions": {"limit": 1}},
        "inactive_message": f"Quote {request.quote_number} is no longer payable at this link. Ask your account manager for the current one.",
    }
    if request.recurring_interval is None:
        params["payment_intent_data"] = {"metadata": request.metadata}
    else:
        params["subscription_data"] = {"metadata": request.metadata}
    return params
