"""The audit trail: one row per state change, with who made it and when."""

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Column, Field, Session, SQLModel

from models.columns import UTCDateTime

if TYPE_CHECKING:
    from models.quote import Quote


class AuditEntry(SQLModel, table=True):
    """A past-tense action on an entity (`quote_sent`) at one version of it."""

    id: int | None = Field(default=None, primary_key=True)
    entity: str = Field(max_length=32, index=True)
    entity_id: int = Field(index=True)
    version: int | None = None
    action: str = Field(max_length=64)
    actor: str = Field(max_length=64)
    detail: str = Field(default="{}")
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


def record(
    session: Session,
    *,
    entity: str,
    entity_id: int,
    action: str,
    actor: str,
    at: datetime,
    version: int | None = None,
    **detail: Any,
) -> AuditEntry:
    """Add an audit row to the caller's transaction."""
    entry = AuditEntry(
        entity=entity,
        entity_id=entity_id,
        version=version,
        action=action,
        actor=actor,
        detail=json.dumps(detail, sort_keys=True, default=str),
        at=at,
    )
    session.add(entry)
    return entry


def record_quote(
    session: Session, quote: "Quote", *, action: str, actor: str, at: datetime, **detail: Any
) -> AuditEntry:
    """Add an audit row for an action on a quote at its current version."""
    assert quote.id is not None
    return record(
        session,
        entity="quote",
        entity_id=quote.id,
        version=quote.version,
        action=action,
        actor=actor,
        at=at,
        **detail,
    )
