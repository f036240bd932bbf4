"""Quote totals and the charge lines sent to Stripe.

Rounding happens once, on the quote: the discount is taken off the subtotal
and tax is charged on the discounted amount, each rounded half up to the
minor unit. The charge lines split that exact total across the quote's lines,
so the amount Stripe is asked to charge always equals the total shown.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from models.money import apply_ppm, format_percent


@dataclass(frozen=True)
class PricedLine:
    """The pricing facts of one quote line."""

    description: str
    quantity: int
    unit_amount: int

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_amount


@dataclass(frozen=True)
class Totals:
    """A quote's amounts in minor units."""

    subtotal: int
    discount: int
    tax: int
    total: int


@dataclass(frozen=True)
class ChargeLine:
    """One line of a Stripe Payment Link: `quantity` times `unit_amount`."""

    name: str
    quantity: int
    unit_amount: int

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_amount


def compute_totals(lines: Sequence[PricedLine], discount_ppm: int, tax_ppm: int) -> Totals:
    """Compute subtotal, discount, tax and total for the given lines and rates."""
    subtotal = sum(line.amount for line in lines)
    discount = apply_ppm(subtotal, discount_ppm)
    tax = apply_ppm(subtotal - discount, tax_ppm)
    return Totals(subtotal=subtotal, discount=discount, tax=tax, total=subtotal - discount + tax)


def allocate_discount(amounts: Sequence[int], discount: int) -> list[int]:
    """Split `discount` across `amounts` in proportion, by largest remainder.

    The shares sum exactly to `discount` and no share exceeds its amount.
    """
    subtotal = sum(amounts)
    if subtotal == 0 or discount == 0:
        return [0 for _ in amounts]

    shares = [amount * discount // subtotal for amount in amounts]
    remainders = [amount * discount % subtotal for amount in amounts]
    leftover = discount - sum(shares)
    by_remainder = sorted(range(len(amounts)), key=lambda index: (-remainders[index], index))
    for index in by_remainder[:leftover]:
        shares[index] += 1
    return shares


def charge_lines(lines: Sequence[PricedLine], discount_ppm: int, tax_ppm: int) -> list[ChargeLine]:
    """Build the Stripe charge lines whose amounts sum to the quote total.

    A line without a discount share keeps its quantity and unit price. A
    discounted line is charged as one unit of its net amount, because a
    discounted unit price may not be a whole minor unit. A line discounted to
    zero is left out. Tax, if any, is a line of its own.
    """
    totals = compute_totals(lines, discount_ppm, tax_ppm)
    shares = allocate_discount([line.amount for line in lines], totals.discount)
    percent = format_percent(discount_ppm)

    charges: list[ChargeLine] = []
    for line, share in zip(lines, shares, strict=True):
        if line.amount == 0:
            continue
        if share == 0:
            charges.append(ChargeLine(line.description, line.quantity, line.unit_amount))
            continue
        if line.amount - share > 0:
            name = f"{line.quantity} x {line.description} ({percent} off)"
            charges.append(ChargeLine(name, 1, line.amount - share))

    if totals.tax:
        charges.append(ChargeLine(f"Tax {format_percent(tax_ppm)}", 1, totals.tax))

    assert sum(charge.amount for charge in charges) == totals.total
    return charges
