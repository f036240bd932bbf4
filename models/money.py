"""Money as an integer count of a currency's minor unit.

Amounts never pass through a float. User text is parsed digit by digit into
the minor unit, and percentages are integers in parts per million. So every
total is exact, and the amount shown in Slack is the amount Stripe charges.
"""

import re
from dataclasses import dataclass

from models.errors import InvalidInput

# Minor-unit exponents of the active ISO 4217 currency codes (list one as of
# 2025, with XCG and ZWG). Every code not named in the smaller tables has two.
_EXPONENT_0 = frozenset(
    """
    BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF
    """.split()  # noqa: SIM905 - a table of codes reads better as text
)
_EXPONENT_3 = frozenset(
    """
    BHD IQD JOD KWD LYD OMR TND
    """.split()  # noqa: SIM905 - a table of codes reads better as text
)
_EXPONENT_4 = frozenset(
    """
    CLF UYW
    """.split()  # noqa: SIM905 - a table of codes reads better as text
)
_EXPONENT_2 = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL
    BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP
    DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR
    ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD
    MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN
    PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP
    STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES
    WST XCD XCG YER ZAR ZMW ZWG
    """.split()  # noqa: SIM905 - a table of codes reads better as text
)

PPM_PER_PERCENT = 10_000
MILLION = 1_000_000

_AMOUNT = re.compile(r"^(?P<sign>[-+]?)(?P<whole>\d+)(?:\.(?P<fraction>\d+))?$")
_GROUPED = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d{1,2}$")


def currency_exponent(code: str) -> int:
    """Return the ISO 4217 minor-unit exponent of `code` (JPY 0, USD 2, KWD 3)."""
    currency = normalize_currency(code)
    if currency in _EXPONENT_0:
        return 0
    if currency in _EXPONENT_3:
        return 3
    if currency in _EXPONENT_4:
        return 4
    return 2


def normalize_currency(code: str) -> str:
    """Return `code` upper-cased, raising InvalidInput when ISO 4217 has no such code."""
    currency = code.strip().upper()
    known = _EXPONENT_0 | _EXPONENT_2 | _EXPONENT_3 | _EXPONENT_4
    if currency not in known:
        raise InvalidInput(f"Unknown currency '{code.strip()}': use an ISO 4217 code such as USD.")
    return currency


def parse_amount(text: str, currency: str, *, allow_zero: bool = True) -> int:
    """Parse a user's amount into minor units of `currency`.

    A period is the decimal mark. Commas are accepted only as thousands
    separators in groups of three (`12,500.50`); a decimal comma (`12,50`),
    more decimals than the currency has, and negative amounts are rejected
    with a message that names the text.
    """
    raw = text.strip()
    exponent = currency_exponent(currency)

    if _DECIMAL_COMMA.match(raw) and not _GROUPED.match(raw):
        raise InvalidInput(
            f"Amount '{text}' uses a decimal comma: write it with a period, such as "
            f"'{raw.replace(',', '.')}'."
        )
    if "," in raw:
        if not _GROUPED.match(raw):
            raise InvalidInput(
                f"Amount '{text}' has misplaced thousands separators: write it as digits, "
                "such as 12500.50 or 12,500.50."
            )
        raw = raw.replace(",", "")

    match = _AMOUNT.match(raw)
    if match is None:
        raise InvalidInput(f"Amount '{text}' is not a number: write digits such as 1250.00.")
    if match["sign"] == "-":
        raise InvalidInput(f"Amount '{text}' is negative: amounts must be zero or more.")

    fraction = match["fraction"] or ""
    if len(fraction) > exponent:
        places = "no decimals" if exponent == 0 else f"at most {exponent} decimals"
        raise InvalidInput(f"Amount '{text}' has too many decimals: {currency} takes {places}.")

    minor = int(match["whole"]) * 10**exponent + int(fraction.ljust(exponent, "0") or "0")
    if minor == 0 and not allow_zero:
        raise InvalidInput(f"Amount '{text}' is zero: enter a price above zero.")
    return minor


def parse_percent(text: str, *, field: str, maximum_decimals: int = 4) -> int:
    """Parse a percentage from 0 to 100 into parts per million (12.5% -> 125000)."""
    raw = text.strip().removesuffix("%").strip()
    match = _AMOUNT.match(raw)
    if match is None:
        raise InvalidInput(f"{field} '{text}' is not a percentage: write a number such as 12.5.")

    fraction = match["fraction"] or ""
    if len(fraction) > maximum_decimals:
        raise InvalidInput(f"{field} '{text}' has more than {maximum_decimals} decimals.")

    ppm = int(match["whole"]) * PPM_PER_PERCENT + int(fraction.ljust(4, "0")[:4] or "0")
    if match["sign"] == "-" or ppm > 100 * PPM_PER_PERCENT:
        raise InvalidInput(f"{field} '{text}' is outside 0 to 100 percent.")
    return ppm


def format_percent(ppm: int) -> str:
    """Format parts per million as a percentage without trailing zeros (125000 -> '12.5%')."""
    whole, fraction = divmod(ppm, PPM_PER_PERCENT)
    digits = f"{fraction:04d}".rstrip("0")
    return f"{whole}.{digits}%" if digits else f"{whole}%"


def apply_ppm(amount: int, ppm: int) -> int:
    """Return `amount` times `ppm` parts per million, rounded half up to the minor unit."""
    quotient, remainder = divmod(amount * ppm, MILLION)
    return quotient + (1 if remainder * 2 >= MILLION else 0)


@dataclass(frozen=True)
class Money:
    """An amount in minor units of an ISO 4217 currency."""

    amount: int
    currency: str

    def format(self) -> str:
        """Render as `1,234.50 USD`, with the currency's own number of decimals."""
        exponent = currency_exponent(self.currency)
        sign = "-" if self.amount < 0 else ""
        whole, fraction = divmod(abs(self.amount), 10**exponent)
        text = f"{whole:,}"
        if exponent:
            text += f".{fraction:0{exponent}d}"
        return f"{sign}{text} {self.currency}"
