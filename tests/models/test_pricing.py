import random

from models.pricing import PricedLine, allocate_discount, charge_lines, compute_totals


def test_compute_totals_discount_then_tax() -> None:
    lines = [PricedLine("Widget", 3, 1999), PricedLine("Setup", 1, 50000)]

    totals = compute_totals(lines, discount_ppm=100000, tax_ppm=82500)

    assert totals.subtotal == 55997
    assert totals.discount == 5600  # 5599.7 rounds up
    assert totals.tax == 4158  # 8.25% of 50397 = 4157.75
    assert totals.total == 55997 - 5600 + 4158


def test_allocate_discount_sums_exactly() -> None:
    shares = allocate_discount([100, 100, 100], 100)

    assert sum(shares) == 100
    assert shares == [34, 33, 33]


def test_allocate_discount_zero_subtotal() -> None:
    assert allocate_discount([0, 0], 0) == [0, 0]


def test_charge_lines_keep_quantity_without_discount() -> None:
    charges = charge_lines([PricedLine("Widget", 3, 1999)], discount_ppm=0, tax_ppm=0)

    assert [(c.name, c.quantity, c.unit_amount) for c in charges] == [("Widget", 3, 1999)]


def test_charge_lines_discounted_line_is_one_unit() -> None:
    charges = charge_lines([PricedLine("Widget", 3, 1999)], discount_ppm=350000, tax_ppm=0)

    assert charges[0].quantity == 1
    assert charges[0].unit_amount == 5997 - 2099
    assert charges[0].name == "3 x Widget (35% off)"


def test_charge_lines_add_tax_line() -> None:
    charges = charge_lines([PricedLine("Widget", 1, 10000)], discount_ppm=0, tax_ppm=88750)

    assert charges[-1].name == "Tax 8.875%"
    assert charges[-1].unit_amount == 888


def test_charge_lines_leave_out_free_lines() -> None:
    charges = charge_lines([PricedLine("Onboarding", 1, 0), PricedLine("Widget", 1, 500)], 0, 0)

    assert [c.name for c in charges] == ["Widget"]


def test_charge_lines_always_sum_to_total() -> None:
    generator = random.Random(4217)
    for _ in range(2000):
        lines = [
            PricedLine(f"Item {i}", generator.randint(1, 50), generator.randint(0, 250000))
            for i in range(generator.randint(1, 19))
        ]
        discount = generator.choice([0, 1, 50000, 125000, 333333, 1000000])
        tax = generator.choice([0, 1, 70000, 88750, 200000])

        charges = charge_lines(lines, discount, tax)

        assert sum(c.amount for c in charges) == compute_totals(lines, discount, tax).total
        assert all(c.unit_amount > 0 and c.quantity > 0 for c in charges)
