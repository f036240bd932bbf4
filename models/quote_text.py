"""The one-line `/quote` form.

Segments are separated by semicolons; the first names the customer, and the
rest are line items or options, in any order::

    /quote Acme Corp; 3 x WIDGET-1; 2 x "Setup" @ 500; discount 10%;
           tax 8.25%; terms net 30; currency EUR; monthly; valid 2027-01-31;
           note Ships with the March order

A line is `QUANTITY x SKU` (catalog price) or `QUANTITY x SKU @ PRICE`
(override), or `QUANTITY x "Description" @ PRICE` for a free-text item.
"""

import re

from models.errors import InvalidInput
from models.quote_input import LineForm, QuoteForm

HELP_TEXT = (
    "Quick quote: `/quote CUSTOMER; LINE; LINE; OPTION; ...`\n"
    "• Line from the catalog: `3 x WIDGET-1`, or with a price of your own `3 x WIDGET-1 @ 90`\n"
    '• Free-text line: `2 x "Setup" @ 500`\n'
    "• Options: `discount 10%`, `tax 8.25%`, `terms net 30` (or `due on receipt`), "
    "`currency EUR`, `monthly` or `yearly`, `valid 2027-01-31`, `note TEXT`\n"
    "Prices use a period for decimals (`1,250.50` is fine; `1250,50` is not).\n"
    "`/quote` alone opens the full form."
)

_LINE = re.compile(
    r"""^(?P<quantity>\S+)\s*[x×*]\s*
        (?:"(?P<description>[^"]*)"|(?P<sku>[^\s@"]+))
        (?:\s*@\s*(?P<price>\S+))?$""",
    re.VERBOSE | re.IGNORECASE,
)
_OPTION = re.compile(r"^(?P<key>[a-z-]+)(?:\s*[:=]?\s*(?P<value>.*))?$", re.IGNORECASE | re.DOTALL)
_OPTION_FIELDS = {
    "discount": "discount",
    "tax": "tax",
    "terms": "terms",
    "currency": "currency",
    "billing": "billing",
    "valid": "valid_until",
    "valid-until": "valid_until",
    "expires": "valid_until",
    "note": "notes",
    "notes": "notes",
}
_NUMBER_START = re.compile(r"^[-+]?[\d.,]")
_BILLING_WORDS = {"monthly", "yearly", "annual", "annually", "one-time", "one_time", "once"}


def parse_quote_text(text: str) -> QuoteForm:
    """Split one-line quote text into a QuoteForm; raise InvalidInput naming the bad segment."""
    segments = _split_segments(text)
    if not segments or not segments[0]:
        raise InvalidInput("Start with the customer's name, then `;` and the line items.")

    form = QuoteForm(customer=segments[0])
    for segment in segments[1:]:
        if not segment:
            continue
        line = _LINE.match(segment)
        if line is not None and _NUMBER_START.match(line["quantity"]):
            form.lines.append(
                LineForm(
                    sku=line["sku"] or "",
                    description=line["description"] or "",
                    quantity=line["quantity"],
                    unit_price=line["price"] or "",
                )
            )
            continue
        _apply_option(form, segment)

    if not form.lines:
        raise InvalidInput("Add at least one line item, such as `3 x WIDGET-1`.")
    return form


def _split_segments(text: str) -> list[str]:
    """Split on semicolons outside double quotes; raise InvalidInput on an unclosed quote."""
    segments: list[str] = []
    current: list[str] = []
    quoted = False
    for character in text:
        if character == '"':
            quoted = not quoted
        if character == ";" and not quoted:
            segments.append("".join(current).strip())
            current = []
            continue
        current.append(character)
    if quoted:
        raise InvalidInput(
            'A double quote is not closed: write free-text items as `2 x "Setup" @ 500`.'
        )
    segments.append("".join(current).strip())
    return segments


def _apply_option(form: QuoteForm, segment: str) -> None:
    lowered = segment.lower()
    if lowered in _BILLING_WORDS:
        _set_once(form, "billing", lowered, segment)
        return

    match = _OPTION.match(segment)
    key = match["key"].lower() if match else ""
    value = (match["value"] or "").strip() if match else ""
    if key in ("due", "net") or lowered == "due on receipt":
        _set_once(form, "terms", segment, segment)
    elif key in _OPTION_FIELDS:
        if key in ("valid", "valid-until", "expires"):
            value = value.removeprefix("until").strip()
        _set_once(form, _OPTION_FIELDS[key], value, segment)
    else:
        raise InvalidInput(
            f"'{segment}' is neither a line item (`3 x SKU`) nor an option "
            "(discount, tax, terms, currency, monthly, yearly, valid, note)."
        )


def _set_once(form: QuoteForm, field_name: str, value: str, segment: str) -> None:
    """Set an option, raising InvalidInput when it has no value or the text already gave it."""
    if not value.strip():
        raise InvalidInput(f"'{segment}' needs a value, such as `discount 10%` or `terms net 30`.")
    if getattr(form, field_name):
        raise InvalidInput(f"'{segment}' repeats an option given earlier: give each option once.")
    setattr(form, field_name, value)
