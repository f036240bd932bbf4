"""Column types shared by the tables."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, DateTime
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite stores no offset, so values are written as UTC and read back with
    the UTC zone attached. A naive datetime is rejected instead of guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store timezone-aware UTC timestamps")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def enum_column(
    enum_type: type[StrEnum], *, nullable: bool = False, index: bool = False
) -> Column[Any]:
    """Build a column that stores a StrEnum's values as text and loads them as members."""
    return Column(
        SAEnum(
            enum_type,
            native_enum=False,
            length=24,
            values_callable=lambda members: [member.value for member in members],
        ),
        nullable=nullable,
        index=index,
    )
