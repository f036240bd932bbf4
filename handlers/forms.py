"""Reading Slack modal state into our quote form, and quotes back into form values."""

import json
from typing import Any

from bot.views import CUSTOMER_SELECT_ACTION, PRODUCT_SELECT_ACTION, VALUE_ACTION, plain_amount
from models.money import format_percent
from models.quote_input import PAYMENT_TERMS, LineForm, QuoteForm
from models.summary import QuoteSummary


def read_metadata(view: dict[str, Any]) -> dict[str, Any]:
    """Decode the modal's private metadata (JSON), or return an empty dict."""
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except json.JSONDecodeError:
        return {}
    return metadata if isinstance(metadata, dict) else {}


def form_from_state(view: dict[str, Any]) -> QuoteForm:
    """Build a QuoteForm from a submitted quote modal."""
    values = view.get("state", {}).get("values", {})
    line_count = int(read_metadata(view).get("lines", 0))

    lines = [
        LineForm(
            sku=_selected(values, f"line_{index}_product", PRODUCT_SELECT_ACTION),
            description=_text(values, f"line_{index}_description"),
            quantity=_text(values, f"line_{index}_quantity"),
            unit_price=_text(values, f"line_{index}_unit_price"),
        )
        for index in range(line_count)
    ]
    return QuoteForm(
        customer=_selected(values, "customer", CUSTOMER_SELECT_ACTION),
        lines=lines,
        currency=_selected(values, "currency", VALUE_ACTION),
        discount=_text(values, "discount"),
        tax=_text(values, "tax"),
        terms=_selected(values, "terms", VALUE_ACTION),
        billing=_selected(values, "billing", VALUE_ACTION),
        valid_until=(values.get("valid_until", {}).get(VALUE_ACTION, {}) or {}).get("selected_date")
        or "",
        notes=_text(values, "notes"),
    )


def prefill_from_state(view: dict[str, Any]) -> dict[str, Any]:
    """Collect what the user has entered so far, keyed by block id, to redraw the modal."""
    prefill: dict[str, Any] = {}
    for block_id, actions in view.get("state", {}).get("values", {}).items():
        for state in actions.values():
            if state.get("selected_option"):
                option = state["selected_option"]
                is_select_of_ours = block_id == "customer" or block_id.endswith("_product")
                prefill[block_id] = (
                    {"value": option["value"], "text": option["text"]["text"]}
                    if is_select_of_ours
                    else option["value"]
                )
            elif state.get("selected_date"):
                prefill[block_id] = state["selected_date"]
            elif state.get("value"):
                prefill[block_id] = state["value"]
    return prefill


def prefill_from_quote(quote: QuoteSummary) -> dict[str, Any]:
    """Turn a stored quote into modal values for editing."""
    prefill: dict[str, Any] = {
        "customer": {"value": str(quote.customer_id), "text": quote.customer_name},
        "currency": quote.currency,
        "billing": quote.recurring_interval.value if quote.recurring_interval else "one_time",
        "terms": _terms_key(quote.payment_terms_days),
        "discount": format_percent(quote.discount_ppm).removesuffix("%")
        if quote.discount_ppm
        else "",
        "tax": format_percent(quote.tax_ppm).removesuffix("%") if quote.tax_ppm else "",
        "valid_until": quote.valid_until.isoformat(),
        "notes": quote.notes,
    }
    for index, line in enumerate(quote.lines):
        prefix = f"line_{index}"
        if line.sku:
            prefill[f"{prefix}_product"] = {
                "value": line.sku,
                "text": f"{line.sku} · {line.description}",
            }
        prefill[f"{prefix}_description"] = line.description
        prefill[f"{prefix}_quantity"] = str(line.quantity)
        if line.sku is None or line.unit_amount != line.list_unit_amount:
            prefill[f"{prefix}_unit_price"] = plain_amount(line.unit_amount, quote.currency)
    return prefill


def _terms_key(days: int) -> str:
    for key, (_, term_days) in PAYMENT_TERMS.items():
        if term_days == days:
            return key
    return "due_on_receipt"


def _text(values: dict[str, Any], block_id: str) -> str:
    return str(values.get(block_id, {}).get(VALUE_ACTION, {}).get("value") or "")


def _selected(values: dict[str, Any], block_id: str, action_id: str) -> str:
    option = values.get(block_id, {}).get(action_id, {}).get("selected_option") or {}
    return str(option.get("value") or "")
