"""Pulling active Stripe prices into the catalog."""

import logging
from typing import Any

import stripe

from models.catalog import BillingInterval
from models.catalog_import import ProductRow
from models.errors import InvalidInput
from models.money import normalize_currency

logger = logging.getLogger(__name__)


def fetch_stripe_catalog(client: stripe.StripeClient) -> tuple[list[ProductRow], list[str]]:
    """Read every active price with its product; return catalog rows and skipped prices with reasons.

    The SKU is the product's `metadata.sku` if set, else the Stripe product id.
    Prices with tiers or custom amounts have no single unit price and are skipped.
    A product with several usable prices keeps its default price (else the first
    listed), because the catalog contains one price per SKU.
    """
    chosen: dict[str, tuple[ProductRow, bool]] = {}
    skipped: list[str] = []
    prices = client.v1.prices.list({"active": True, "expand": ["data.product"], "limit": 100})
    for price in prices.auto_paging_iter():
        data = price.to_dict()
        try:
            row = _row_from_price(data)
        except InvalidInput as error:
            skipped.append(f"{data.get('id')}: {error}")
            continue

        is_default = data["product"].get("default_price") == data["id"]
        first = chosen.get(row.sku)
        if first is None or (is_default and not first[1]):
            if first is not None:
                skipped.append(_repeat_reason(first[0], row))
            chosen[row.sku] = (row, is_default)
        else:
            skipped.append(_repeat_reason(row, first[0]))
    return [row for row, _ in chosen.values()], skipped


def _repeat_reason(dropped: ProductRow, first: ProductRow) -> str:
    return f"{dropped.stripe_price_id}: SKU {dropped.sku} already comes from price {first.stripe_price_id}"


def _row_from_price(price: dict[str, Any]) -> ProductRow:
    product = price.get("product")
    if not isinstance(product, dict):
        raise InvalidInput("the price's product was not expanded")
    if not product.get("active", True):
        raise InvalidInput(f"product {product.get('id')} is archived")
    if price.get("unit_amount") is None:
        raise InvalidInput("the price has no fixed unit amount (tiered or customer-chosen)")

    recurring = price.get("recurring") or {}
    interval = recurring.get("interval")
    if interval not in (None, "month", "year") or recurring.get("interval_count", 1) != 1:
        raise InvalidInput(
            f"billing every {recurring.get('interval_count', 1)} {interval} is not supported; use monthly or yearly"
        )

    sku = str((product.get("metadata") or {}).get("sku") or product["id"]).upper()
    return ProductRow(
        sku=sku,
        name=str(product.get("name") or sku)[:200],
        unit_amount=int(price["unit_amount"]),
        currency=normalize_currency(str(price["currency"])),
        recurring_interval=BillingInterval(interval) if interval else None,
        active=True,
        stripe_product_id=str(product["id"]),
        stripe_price_id=str(price["id"]),
    )
