"""Database engine, sessions and migrations."""

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine

import migrations

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(migrations.__file__).parent


def make_engine(database_url: str) -> Engine:
    """Create the engine; SQLite gets a busy timeout, WAL and write-locking transactions.

    Every SQLite transaction starts with BEGIN IMMEDIATE, so two threads that
    read then write the same rows take turns instead of one failing with
    "database is locked" when it tries to write after the other committed.
    PostgreSQL gets the same effect from SELECT ... FOR UPDATE.
    """
    url = _normalize_url(database_url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def session_factory(engine: Engine) -> Callable[[], Session]:
    """Return a callable that opens a session whose objects stay readable after commit."""

    def new_session() -> Session:
        return Session(engine, expire_on_commit=False)

    return new_session


def upgrade(database_url: str) -> None:
    """Apply every pending migration."""
    command.upgrade(alembic_config(database_url), "head")
    logger.info("database migrated to the latest revision")


def alembic_config(database_url: str) -> Config:
    """Build the Alembic configuration for our migrations folder."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", _normalize_url(database_url).replace("%", "%%"))
    return config


def _normalize_url(database_url: str) -> str:
    """Use the psycopg 3 driver for plain `postgresql://` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url.removeprefix(prefix)
    return database_url


def _configure_sqlite(connection: Any, _record: Any) -> None:
    connection.isolation_level = None  # let the "begin" listener issue BEGIN itself
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")
