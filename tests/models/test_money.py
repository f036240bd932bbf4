import pytest

from models.errors import InvalidInput
from models.money import (
    Money,
    apply_ppm,
    currency_exponent,
    format_percent,
    parse_amount,
    parse_percent,
)


@pytest.mark.parametrize(
    ("currency", "exponent"), [("JPY", 0), ("USD", 2), ("eur", 2), ("KWD", 3), ("CLF", 4)]
)
def test_currency_exponent_follows_iso_4217(currency: str, exponent: int) -> None:
    assert currency_exponent(currency) == exponent


def test_currency_exponent_rejects_unknown_code() -> None:
    with pytest.raises(InvalidInput, match="Unknown currency 'XYZ'"):
        currency_exponent("XYZ")


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12", "USD", 1200),
        ("12.5", "USD", 1250),
        ("12.05", "USD", 1205),
        ("0.10", "USD", 10),
        ("12,500.50", "USD", 1250050),
        ("1,000,000", "JPY", 1000000),
        ("1500", "JPY", 1500),
        ("1.234", "KWD", 1234),
        ("0", "USD", 0),
    ],
)
def test_parse_amount_gives_minor_units(text: str, currency: str, minor: int) -> None:
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("12,50", "EUR", "decimal comma"),
        ("1,2345", "USD", "misplaced thousands separators"),
        ("12.345", "USD", "too many decimals: USD takes at most 2 decimals"),
        ("100.5", "JPY", "JPY takes no decimals"),
        ("1.2345", "KWD", "at most 3 decimals"),
        ("-5", "USD", "negative"),
        ("abc", "USD", "not a number"),
        ("1e3", "USD", "not a number"),
        ("", "USD", "not a number"),
        ("1 000", "USD", "not a number"),
        ("$500", "EUR", "not a number"),
    ],
)
def test_parse_amount_rejects_bad_text(text: str, currency: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_amount(text, currency)


def test_parse_amount_rejects_zero_when_asked() -> None:
    with pytest.raises(InvalidInput, match="is zero"):
        parse_amount("0.00", "USD", allow_zero=False)


@pytest.mark.parametrize(
    ("text", "ppm"),
    [("10", 100000), ("10%", 100000), ("8.875", 88750), ("0", 0), ("100", 1000000), ("0.0001", 1)],
)
def test_parse_percent_gives_parts_per_million(text: str, ppm: int) -> None:
    assert parse_percent(text, field="Discount") == ppm


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("101", "outside 0 to 100"),
        ("-1", "outside 0 to 100"),
        ("ten", "not a percentage"),
        ("1.23456", "more than 4 decimals"),
    ],
)
def test_parse_percent_rejects_bad_text(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_percent(text, field="Discount")


def test_format_percent_drops_trailing_zeros() -> None:
    assert format_percent(125000) == "12.5%"
    assert format_percent(350000) == "35%"
    assert format_percent(88750) == "8.875%"


def test_apply_ppm_rounds_half_up() -> None:
    assert apply_ppm(5, 100000) == 1  # 0.5 rounds up
    assert apply_ppm(4, 100000) == 0  # 0.4 rounds down
    assert apply_ppm(999, 88750) == 89  # 88.66


def test_money_format_uses_currency_decimals() -> None:
    assert Money(123456, "USD").format() == "1,234.56 USD"
    assert Money(1500, "JPY").format() == "1,500 JPY"
    assert Money(1234, "KWD").format() == "1.234 KWD"
    assert Money(-5, "USD").format() == "-0.05 USD"
