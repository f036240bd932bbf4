"""Loading the product catalog from a CSV file or from Stripe's active prices.

Both paths upsert by SKU, so running them again changes only what changed.
CSV columns: `sku`, `name`, `unit_price`, `currency`, and optionally
`interval` (month, year or empty for one-time) and `active` (true or false).
"""

import csv
import io
import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from models import audit
from models.catalog import BillingInterval, Product
from models.errors import InvalidInput
from models.money import normalize_currency, parse_amount
from models.quoting import find_product

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("sku", "name", "unit_price", "currency")
_TRUE = {"", "true", "yes", "1", "active"}
_FALSE = {"false", "no", "0", "inactive"}


@dataclass(frozen=True)
class ProductRow:
    """A checked catalog row."""

    sku: str
    name: str
    unit_amount: int
    currency: str
    recurring_interval: BillingInterval | None
    active: bool
    stripe_product_id: str | None = None
    stripe_price_id: str | None = None


@dataclass
class ImportReport:
    """The outcome of an import: counts, and each rejected row with its line number and reason."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, {len(self.rejected)} rejected"
        ]
        lines.extend(f"  line {line}: {reason}" for line, reason in self.rejected)
        return "\n".join(lines)


def read_catalog_csv(text: str) -> tuple[list[tuple[int, ProductRow]], list[tuple[int, str]]]:
    """Parse catalog CSV into checked rows and rejections, each with its line number."""
    reader = csv.DictReader(io.StringIO(text))
    columns = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise InvalidInput(
            f"The CSV header lacks the column(s) {', '.join(missing)}; it needs {', '.join(REQUIRED_COLUMNS)}."
        )

    rows: list[tuple[int, ProductRow]] = []
    rejected: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        values = {
            (key or "").strip().lower(): (value or "").strip()
            for key, value in raw.items()
            if key is not None
        }
        try:
            row = _check_row(values)
        except InvalidInput as error:
            rejected.append((line, str(error)))
            continue
        if row.sku in seen:
            rejected.append(
                (line, f"SKU {row.sku} repeats line {seen[row.sku]}; only the first is kept.")
            )
            continue
        seen[row.sku] = line
        rows.append((line, row))
    return rows, rejected


def upsert_products(
    session: Session, rows: list[ProductRow], actor: str, at: datetime
) -> ImportReport:
    """Create or update products by SKU in the caller's transaction."""
    report = ImportReport()
    for row in rows:
        product = find_product(session, row.sku)
        if product is None:
            product = Product(
                sku=row.sku, name=row.name, unit_amount=row.unit_amount, currency=row.currency
            )
            report.created += 1
        elif _same(product, row):
            report.unchanged += 1
            continue
        else:
            report.updated += 1

        product.name = row.name
        product.unit_amount = row.unit_amount
        product.currency = row.currency
        product.recurring_interval = row.recurring_interval
        product.active = row.active
        product.stripe_product_id = row.stripe_product_id or product.stripe_product_id
        product.stripe_price_id = row.stripe_price_id or product.stripe_price_id
        product.updated_at = at
        session.add(product)
        session.flush()
        assert product.id is not None
        audit.record(
            session,
            entity="product",
            entity_id=product.id,
            action="product_saved",
            actor=actor,
            at=at,
            sku=row.sku,
            unit_amount=row.unit_amount,
            currency=row.currency,
        )
    return report


def _check_row(values: dict[str, str]) -> ProductRow:
    sku = values.get("sku", "").upper()
    if not sku or len(sku) > 64 or any(character.isspace() for character in sku):
        raise InvalidInput(
            f"SKU '{values.get('sku', '')}' must be 1 to 64 characters without spaces."
        )
    name = values.get("name", "")
    if not name or len(name) > 200:
        raise InvalidInput(f"{sku}: name must be 1 to 200 characters.")

    currency_text = values.get("currency", "")
    if not currency_text:
        raise InvalidInput(f"{sku}: currency is missing; use an ISO 4217 code such as USD.")
    try:
        currency = normalize_currency(currency_text)
    except InvalidInput as error:
        raise InvalidInput(f"{sku}: {error}") from None
    try:
        unit_amount = parse_amount(values.get("unit_price", ""), currency)
    except InvalidInput as error:
        raise InvalidInput(f"{sku}: {error}") from None

    interval_text = values.get("interval", "").lower()
    intervals = {
        "": None,
        "one_time": None,
        "one-time": None,
        "month": BillingInterval.MONTH,
        "monthly": BillingInterval.MONTH,
        "year": BillingInterval.YEAR,
        "yearly": BillingInterval.YEAR,
    }
    if interval_text not in intervals:
        raise InvalidInput(
            f"{sku}: interval '{interval_text}' must be month, year or empty for one-time."
        )

    active_text = values.get("active", "").lower()
    if active_text not in _TRUE | _FALSE:
        raise InvalidInput(f"{sku}: active '{active_text}' must be true or false.")

    return ProductRow(
        sku=sku,
        name=name,
        unit_amount=unit_amount,
        currency=currency,
        recurring_interval=intervals[interval_text],
        active=active_text in _TRUE,
    )


def _same(product: Product, row: ProductRow) -> bool:
    return (
        product.name == row.name
        and product.unit_amount == row.unit_amount
        and product.currency == row.currency
        and product.recurring_interval == row.recurring_interval
        and product.active == row.active
        and (row.stripe_price_id is None or product.stripe_price_id == row.stripe_price_id)
    )
