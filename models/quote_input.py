"""Validation of quote input from the modal and the one-line `/quote` form.

Both forms reduce to a `QuoteForm` of raw strings. `validate_quote_form`
checks every field, collects every error under the field it belongs to, and
returns a `QuoteInput` only when nothing is wrong, so bad input creates
nothing.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from models.catalog import BillingInterval, Product
from models.errors import InvalidInput
from models.money import currency_exponent, normalize_currency, parse_amount, parse_percent

MAX_LINES = 19  # a Payment Link takes 20 line items, and tax needs one
MAX_QUANTITY = 1_000_000
MAX_VALIDITY_DAYS = 365
NEW_CUSTOMER_PREFIX = "new:"

PAYMENT_TERMS = {
    "due_on_receipt": ("Due on receipt", 0),
    "net_15": ("Net 15", 15),
    "net_30": ("Net 30", 30),
    "net_45": ("Net 45", 45),
    "net_60": ("Net 60", 60),
    "net_90": ("Net 90", 90),
}

BILLING_CHOICES = {
    "one_time": ("One-time", None),
    "month": ("Monthly", BillingInterval.MONTH),
    "year": ("Yearly", BillingInterval.YEAR),
}

_QUANTITY = re.compile(r"^\d{1,3}(?:,\d{3})*$|^\d+$")


class QuoteFormErrors(InvalidInput):
    """Every problem found in a quote form, keyed by field name."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = errors


@dataclass
class LineForm:
    """One line as typed: a catalog SKU or a free-text description, quantity, unit price."""

    sku: str = ""
    description: str = ""
    quantity: str = ""
    unit_price: str = ""


@dataclass
class QuoteForm:
    """A quote as typed; every value is the user's text, not yet checked.

    `customer` is a customer id, `new:<name>` for a new customer, or a name
    to look up. An empty `currency`, `terms` or `billing` takes the default.
    """

    customer: str = ""
    lines: list[LineForm] = field(default_factory=list)
    currency: str = ""
    discount: str = ""
    tax: str = ""
    terms: str = ""
    billing: str = ""
    valid_until: str = ""
    notes: str = ""


@dataclass(frozen=True)
class LineInput:
    """A checked quote line in minor units of the quote's currency."""

    description: str
    quantity: int
    unit_amount: int
    product_id: int | None = None
    sku: str | None = None
    list_unit_amount: int | None = None


@dataclass(frozen=True)
class QuoteInput:
    """A checked quote, ready to be stored."""

    customer_id: int | None
    new_customer_name: str | None
    currency: str
    lines: list[LineInput]
    discount_ppm: int
    tax_ppm: int
    payment_terms_days: int
    recurring_interval: BillingInterval | None
    valid_until: date
    notes: str


@dataclass(frozen=True)
class QuoteDefaults:
    """Company-wide defaults and limits for new quotes."""

    currency: str
    currencies: frozenset[str]
    validity_days: int
    today: date


CustomerLookup = Callable[[str], int | None]
CatalogLookup = Callable[[str], Product | None]


def validate_quote_form(
    form: QuoteForm,
    *,
    defaults: QuoteDefaults,
    find_customer: CustomerLookup,
    find_product: CatalogLookup,
) -> QuoteInput:
    """Check a quote form and return it as a QuoteInput, or raise QuoteFormErrors."""
    errors: dict[str, str] = {}

    customer_id, new_customer_name = _check_customer(form.customer, find_customer, errors)
    currency = _check_currency(form, defaults, find_product, errors)
    interval = _check_billing(form, find_product, errors)
    lines = _check_lines(form.lines, currency, interval, find_product, errors)
    discount_ppm = _check_percent(form.discount, "discount", "Discount", errors)
    tax_ppm = _check_percent(form.tax, "tax", "Tax rate", errors)
    terms_days = _check_terms(form.terms, errors)
    valid_until = _check_valid_until(form.valid_until, defaults, errors)

    notes = form.notes.strip()
    if len(notes) > 2000:
        errors["notes"] = f"Notes are {len(notes)} characters long: keep them under 2,000."

    if errors:
        raise QuoteFormErrors(errors)
    return QuoteInput(
        customer_id=customer_id,
        new_customer_name=new_customer_name,
        currency=currency,
        lines=lines,
        discount_ppm=discount_ppm,
        tax_ppm=tax_ppm,
        payment_terms_days=terms_days,
        recurring_interval=interval,
        valid_until=valid_until,
        notes=notes,
    )


def parse_terms(text: str) -> int:
    """Return the days until payment is due for terms such as `net 30`, `net30` or `due on receipt`."""
    key = re.sub(r"[\s-]+", "_", text.strip().lower())
    if key in ("now", "receipt", "due_on_receipt", "immediate", "net_0", "net0"):
        return 0
    key = re.sub(r"^net_?(\d+)$", r"net_\1", key)
    if key in PAYMENT_TERMS:
        return PAYMENT_TERMS[key][1]
    choices = ", ".join(label for label, _ in PAYMENT_TERMS.values())
    raise InvalidInput(f"Unknown payment terms '{text.strip()}': use one of {choices}.")


def terms_label(days: int) -> str:
    """Name payment terms for people: 0 is due on receipt, otherwise Net N."""
    return "Due on receipt" if days == 0 else f"Net {days}"


def _check_customer(
    text: str, find_customer: CustomerLookup, errors: dict[str, str]
) -> tuple[int | None, str | None]:
    value = text.strip()
    if not value:
        errors["customer"] = "Choose a customer, or type a name to create one."
        return None, None

    if value.startswith(NEW_CUSTOMER_PREFIX):
        name = value.removeprefix(NEW_CUSTOMER_PREFIX).strip()
        if not name or len(name) > 200:
            errors["customer"] = "A new customer needs a name of 1 to 200 characters."
            return None, None
        return None, name

    found = find_customer(value)
    if found is not None:
        return found, None
    if value.isdigit():
        errors["customer"] = f"Customer {value} was not found: choose one from the list."
        return None, None
    if len(value) > 200:
        errors["customer"] = "A customer name must be at most 200 characters."
        return None, None
    return None, value


def _check_currency(
    form: QuoteForm,
    defaults: QuoteDefaults,
    find_product: CatalogLookup,
    errors: dict[str, str],
) -> str:
    text = form.currency.strip()
    if not text:
        for line in form.lines:
            product = find_product(line.sku) if line.sku.strip() else None
            if product is not None:
                return product.currency
        return defaults.currency

    try:
        currency = normalize_currency(text)
    except InvalidInput as error:
        errors["currency"] = str(error)
        return defaults.currency
    if currency not in defaults.currencies:
        enabled = ", ".join(sorted(defaults.currencies))
        errors["currency"] = f"Currency {currency} is not enabled for quotes: use one of {enabled}."
    return currency


def _check_billing(
    form: QuoteForm, find_product: CatalogLookup, errors: dict[str, str]
) -> BillingInterval | None:
    text = form.billing.strip().lower().replace("-", "_").replace(" ", "_")
    aliases = {
        "monthly": "month",
        "yearly": "year",
        "annual": "year",
        "annually": "year",
        "once": "one_time",
    }
    key = aliases.get(text, text)
    if key in BILLING_CHOICES:
        return BILLING_CHOICES[key][1]
    if key:
        errors["billing"] = (
            f"Unknown billing '{form.billing.strip()}': use one-time, monthly or yearly."
        )
        return None

    for line in form.lines:
        product = find_product(line.sku) if line.sku.strip() else None
        if product is not None and product.recurring_interval is not None:
            return product.recurring_interval
    return None


def _check_lines(
    lines: list[LineForm],
    currency: str,
    interval: BillingInterval | None,
    find_product: CatalogLookup,
    errors: dict[str, str],
) -> list[LineInput]:
    filled = [(index, line) for index, line in enumerate(lines) if _is_filled(line)]
    if not filled:
        errors["line_0_product" if lines else "lines"] = "Add at least one line item."
        return []
    if len(filled) > MAX_LINES:
        errors["lines"] = (
            f"A quote takes at most {MAX_LINES} line items; this one has {len(filled)}."
        )
        return []

    checked: list[LineInput] = []
    for index, line in filled:
        result = _check_line(index, line, currency, interval, find_product, errors)
        if result is not None:
            checked.append(result)
    return checked


def _is_filled(line: LineForm) -> bool:
    return any(
        part.strip() for part in (line.sku, line.description, line.quantity, line.unit_price)
    )


def _check_line(
    index: int,
    line: LineForm,
    currency: str,
    interval: BillingInterval | None,
    find_product: CatalogLookup,
    errors: dict[str, str],
) -> LineInput | None:
    prefix = f"line_{index}"
    label = f"Line {index + 1}"
    failures_before = len(errors)

    quantity = _check_quantity(line.quantity, f"{prefix}_quantity", label, errors)

    product: Product | None = None
    sku = line.sku.strip()
    if sku:
        product = find_product(sku)
        if product is None or not product.active:
            errors[f"{prefix}_product"] = f"{label}: SKU '{sku}' is not in the active catalog."
        elif (product.recurring_interval or None) != interval:
            billed = _billing_word(product.recurring_interval)
            quoted = _billing_word(interval)
            errors[f"{prefix}_product"] = (
                f"{label}: {product.sku} is billed {billed} but this quote is {quoted}: "
                "put it on a separate quote."
            )

    description = line.description.strip() or (product.name if product else "")
    if not description and not sku:
        errors[f"{prefix}_description"] = f"{label}: choose a catalog product or describe the item."
    elif len(description) > 200:
        errors[f"{prefix}_description"] = (
            f"{label}: the description must be at most 200 characters."
        )

    unit_amount = None
    list_amount = product.unit_amount if product and product.currency == currency else None
    if line.unit_price.strip():
        try:
            unit_amount = parse_amount(line.unit_price, currency)
        except InvalidInput as error:
            errors[f"{prefix}_unit_price"] = f"{label}: {error}"
    elif list_amount is not None:
        unit_amount = list_amount
    elif product is not None:
        errors[f"{prefix}_unit_price"] = (
            f"{label}: {product.sku} is priced in {product.currency}, not {currency}: enter a unit price."
        )
    elif not errors.get(f"{prefix}_product"):
        errors[f"{prefix}_unit_price"] = f"{label}: enter a unit price for a free-text item."

    if len(errors) > failures_before or quantity is None or unit_amount is None:
        return None
    return LineInput(
        description=description,
        quantity=quantity,
        unit_amount=unit_amount,
        product_id=product.id if product else None,
        sku=product.sku if product else None,
        list_unit_amount=list_amount,
    )


def _billing_word(interval: BillingInterval | None) -> str:
    return {None: "one-time", BillingInterval.MONTH: "monthly", BillingInterval.YEAR: "yearly"}[
        interval
    ]


def _check_quantity(text: str, key: str, label: str, errors: dict[str, str]) -> int | None:
    raw = text.strip() or "1"
    if not _QUANTITY.match(raw):
        errors[key] = f"{label}: quantity '{text.strip()}' must be a whole number above zero."
        return None
    quantity = int(raw.replace(",", ""))
    if quantity <= 0 or quantity > MAX_QUANTITY:
        errors[key] = f"{label}: quantity {quantity:,} must be from 1 to {MAX_QUANTITY:,}."
        return None
    return quantity


def _check_percent(text: str, key: str, label: str, errors: dict[str, str]) -> int:
    if not text.strip():
        return 0
    try:
        return parse_percent(text, field=label)
    except InvalidInput as error:
        errors[key] = str(error)
        return 0


def _check_terms(text: str, errors: dict[str, str]) -> int:
    if not text.strip():
        return 0
    try:
        return parse_terms(text)
    except InvalidInput as error:
        errors["terms"] = str(error)
        return 0


def _check_valid_until(text: str, defaults: QuoteDefaults, errors: dict[str, str]) -> date:
    fallback = defaults.today + timedelta(days=defaults.validity_days)
    if not text.strip():
        return fallback
    try:
        valid_until = date.fromisoformat(text.strip())
    except ValueError:
        errors["valid_until"] = f"Valid-until date '{text.strip()}' is not a date: use YYYY-MM-DD."
        return fallback

    if valid_until < defaults.today:
        errors["valid_until"] = f"Valid-until date {valid_until} is in the past."
    elif valid_until > defaults.today + timedelta(days=MAX_VALIDITY_DAYS):
        errors["valid_until"] = (
            f"Valid-until date {valid_until} is more than {MAX_VALIDITY_DAYS} days away."
        )
    return valid_until


def minor_unit_hint(currency: str) -> str:
    """Describe how many decimals `currency` takes, for help text."""
    exponent = currency_exponent(currency)
    return "no decimals" if exponent == 0 else f"{exponent} decimals"
