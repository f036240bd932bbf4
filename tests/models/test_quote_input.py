from datetime import date

import pytest

from models.catalog import BillingInterval, Product
from models.quote_input import (
    LineForm,
    QuoteDefaults,
    QuoteForm,
    QuoteFormErrors,
    validate_quote_form,
)

TODAY = date(2026, 12, 4)
DEFAULTS = QuoteDefaults(
    currency="USD", currencies=frozenset({"USD", "EUR", "JPY"}), validity_days=30, today=TODAY
)
CATALOG = {
    "WIDGET-1": Product(id=1, sku="WIDGET-1", name="Widget", unit_amount=1999, currency="USD"),
    "SEAT": Product(
        id=2,
        sku="SEAT",
        name="Seat licence",
        unit_amount=1500,
        currency="USD",
        recurring_interval=BillingInterval.MONTH,
    ),
    "OLD": Product(id=3, sku="OLD", name="Retired", unit_amount=100, currency="USD", active=False),
    "YEN": Product(id=4, sku="YEN", name="Tokyo widget", unit_amount=2500, currency="JPY"),
}
CUSTOMERS = {"acme corp": 7, "7": 7}


def validate(form: QuoteForm):
    return validate_quote_form(
        form,
        defaults=DEFAULTS,
        find_customer=lambda text: CUSTOMERS.get(text.lower()),
        find_product=lambda sku: CATALOG.get(sku.upper()),
    )


def errors_of(form: QuoteForm) -> dict[str, str]:
    with pytest.raises(QuoteFormErrors) as raised:
        validate(form)
    return raised.value.errors


def test_validate_catalog_line_takes_list_price() -> None:
    data = validate(QuoteForm(customer="Acme Corp", lines=[LineForm(sku="widget-1", quantity="3")]))

    assert data.customer_id == 7
    assert data.currency == "USD"
    assert data.lines[0].unit_amount == 1999
    assert data.lines[0].list_unit_amount == 1999
    assert data.lines[0].description == "Widget"
    assert data.valid_until == date(2027, 1, 3)


def test_validate_unknown_name_makes_new_customer() -> None:
    data = validate(
        QuoteForm(
            customer="Globex", lines=[LineForm(description="Setup", quantity="1", unit_price="500")]
        )
    )

    assert data.customer_id is None
    assert data.new_customer_name == "Globex"


def test_validate_new_customer_prefix() -> None:
    data = validate(
        QuoteForm(customer="new:Initech", lines=[LineForm(description="Setup", unit_price="5")])
    )

    assert data.new_customer_name == "Initech"


def test_validate_recurring_billing_inferred_from_catalog() -> None:
    data = validate(QuoteForm(customer="7", lines=[LineForm(sku="SEAT", quantity="10")]))

    assert data.recurring_interval == BillingInterval.MONTH


def test_validate_currency_from_catalog_product() -> None:
    data = validate(QuoteForm(customer="7", lines=[LineForm(sku="YEN", quantity="2")]))

    assert data.currency == "JPY"
    assert data.lines[0].unit_amount == 2500


@pytest.mark.parametrize(
    ("line", "key", "message"),
    [
        (LineForm(sku="WIDGET-1", quantity="0"), "line_0_quantity", "from 1 to 1,000,000"),
        (LineForm(sku="WIDGET-1", quantity="-2"), "line_0_quantity", "whole number above zero"),
        (LineForm(sku="WIDGET-1", quantity="1.5"), "line_0_quantity", "whole number above zero"),
        (
            LineForm(sku="NOPE", quantity="1"),
            "line_0_product",
            "SKU 'NOPE' is not in the active catalog",
        ),
        (LineForm(sku="OLD", quantity="1"), "line_0_product", "not in the active catalog"),
        (LineForm(sku="SEAT", quantity="1"), "line_0_product", None),
        (LineForm(description="Setup", quantity="1"), "line_0_unit_price", "enter a unit price"),
        (
            LineForm(description="Setup", quantity="1", unit_price="12,50"),
            "line_0_unit_price",
            "decimal comma",
        ),
        (
            LineForm(description="Setup", quantity="1", unit_price="12.505"),
            "line_0_unit_price",
            "too many decimals",
        ),
        (LineForm(quantity="1", unit_price="5"), "line_0_description", "describe the item"),
    ],
)
def test_validate_line_errors(line: LineForm, key: str, message: str | None) -> None:
    form = QuoteForm(customer="7", billing="one_time" if line.sku == "SEAT" else "", lines=[line])

    errors = errors_of(form)

    assert key in errors
    if message:
        assert message in errors[key]


def test_validate_recurring_product_on_one_time_quote() -> None:
    errors = errors_of(QuoteForm(customer="7", billing="one_time", lines=[LineForm(sku="SEAT")]))

    assert "billed monthly but this quote is one-time" in errors["line_0_product"]


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        ({"discount": "120"}, "discount", "outside 0 to 100"),
        ({"discount": "-5"}, "discount", "outside 0 to 100"),
        ({"tax": "abc"}, "tax", "not a percentage"),
        ({"currency": "XYZ"}, "currency", "Unknown currency 'XYZ'"),
        ({"currency": "GBP"}, "currency", "not enabled for quotes"),
        ({"terms": "net 17"}, "terms", "Unknown payment terms"),
        ({"billing": "weekly"}, "billing", "Unknown billing"),
        ({"valid_until": "2026-12-01"}, "valid_until", "in the past"),
        ({"valid_until": "2028-01-01"}, "valid_until", "more than 365 days"),
        ({"valid_until": "tomorrow"}, "valid_until", "use YYYY-MM-DD"),
        ({"customer": ""}, "customer", "Choose a customer"),
        ({"customer": "999"}, "customer", "Customer 999 was not found"),
        ({"notes": "x" * 2001}, "notes", "under 2,000"),
    ],
)
def test_validate_quote_field_errors(changes: dict[str, str], key: str, message: str) -> None:
    form = QuoteForm(customer="7", lines=[LineForm(sku="WIDGET-1", quantity="1")])
    for name, value in changes.items():
        setattr(form, name, value)

    errors = errors_of(form)

    assert message in errors[key]


def test_validate_collects_every_error() -> None:
    form = QuoteForm(customer="7", discount="200", lines=[LineForm(sku="NOPE", quantity="0")])

    errors = errors_of(form)

    assert set(errors) == {"discount", "line_0_product", "line_0_quantity"}


def test_validate_requires_a_line() -> None:
    errors = errors_of(QuoteForm(customer="7", lines=[LineForm()]))

    assert errors == {"line_0_product": "Add at least one line item."}


def test_validate_rejects_more_than_19_lines() -> None:
    lines = [LineForm(sku="WIDGET-1") for _ in range(20)]

    errors = errors_of(QuoteForm(customer="7", lines=lines))

    assert "at most 19 line items" in errors["lines"]


def test_validate_terms_words() -> None:
    for text, days in [("net30", 30), ("Net 60", 60), ("due on receipt", 0), ("now", 0)]:
        data = validate(QuoteForm(customer="7", terms=text, lines=[LineForm(sku="WIDGET-1")]))
        assert data.payment_terms_days == days
