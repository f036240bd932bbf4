import pytest

from models.errors import InvalidInput
from models.quote_text import parse_quote_text


def test_parse_quote_text_full_form() -> None:
    form = parse_quote_text(
        'Acme Corp; 3 x WIDGET-1; 2 x "Setup; onsite" @ 1,500.50; discount 10%; tax 8.25%; '
        "terms net 30; currency EUR; monthly; valid 2027-01-31; note Ships in March"
    )

    assert form.customer == "Acme Corp"
    assert [
        (line.quantity, line.sku, line.description, line.unit_price) for line in form.lines
    ] == [
        ("3", "WIDGET-1", "", ""),
        ("2", "", "Setup; onsite", "1,500.50"),
    ]
    assert form.discount == "10%"
    assert form.tax == "8.25%"
    assert form.terms == "net 30"
    assert form.currency == "EUR"
    assert form.billing == "monthly"
    assert form.valid_until == "2027-01-31"
    assert form.notes == "Ships in March"


def test_parse_quote_text_sku_with_price_override() -> None:
    form = parse_quote_text("Acme; 5 x WIDGET-1 @ 90")

    assert form.lines[0].sku == "WIDGET-1"
    assert form.lines[0].unit_price == "90"


def test_parse_quote_text_keeps_negative_quantity_for_validation() -> None:
    form = parse_quote_text("Acme; -3 x WIDGET-1")

    assert form.lines[0].quantity == "-3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Start with the customer's name"),
        ("Acme", "Add at least one line item"),
        ("Acme; discount 5%", "Add at least one line item"),
        ("Acme; 3 x WIDGET; shipping free", "'shipping free' is neither a line item"),
        ('Acme; 2 x "Setup @ 5', "double quote is not closed"),
    ],
)
def test_parse_quote_text_names_bad_part(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_quote_text(text)


def test_parse_quote_text_rejects_repeated_option() -> None:
    with pytest.raises(InvalidInput, match="'discount 20%' repeats an option"):
        parse_quote_text("Acme; 1 x W; discount 10%; discount 20%")


def test_parse_quote_text_rejects_option_without_value() -> None:
    with pytest.raises(InvalidInput, match="'discount' needs a value"):
        parse_quote_text("Acme; 1 x W; discount")
