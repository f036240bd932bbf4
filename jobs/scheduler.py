"""The in-process APScheduler and the PostgreSQL advisory lock that elects one scheduler.

Several `o2c worker` or `o2c run` processes may share a PostgreSQL database.
Only the one holding the advisory lock runs the jobs, and another takes over
when that process's connection ends. On SQLite there is one process, so it
always runs them.
"""

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Connection, Engine, text

logger = logging.getLogger(__name__)

SCHEDULER_LOCK_KEY = 0x0_2C_B0_7  # arbitrary, fixed: the advisory lock id for the scheduler
LEADER_RETRY_SECONDS = 15


def make_scheduler(timezone: str) -> BackgroundScheduler:
    """Create a scheduler whose jobs coalesce missed runs and tolerate a late start."""
    return BackgroundScheduler(
        timezone=timezone,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
    )


def add_interval_job(
    scheduler: BackgroundScheduler,
    job_id: str,
    func: Callable[..., Any],
    seconds: float,
    **arguments: Any,
) -> None:
    """Add or replace a job that runs every `seconds` under a stable id."""
    scheduler.add_job(
        func, "interval", seconds=seconds, id=job_id, kwargs=arguments, replace_existing=True
    )


class JobWaker:
    """Runs one job's function now on the scheduler's pool instead of waiting for its next tick."""

    def __init__(self, scheduler: BackgroundScheduler, job_id: str) -> None:
        self._scheduler = scheduler
        self._job_id = job_id

    def wake(self) -> None:
        job = self._scheduler.get_job(self._job_id)
        if job is None or not self._scheduler.running:
            return
        self._scheduler.add_job(
            job.func,
            id=f"{self._job_id}_now",
            kwargs=job.kwargs,
            next_run_time=datetime.now(UTC),
            replace_existing=True,
            misfire_grace_time=30,
        )


class SchedulerLeader:
    """Starts the scheduler once this process holds the scheduler lock."""

    def __init__(
        self,
        engine: Engine,
        scheduler: BackgroundScheduler,
        *,
        retry_seconds: float = LEADER_RETRY_SECONDS,
    ) -> None:
        self._engine = engine
        self._scheduler = scheduler
        self._retry_seconds = retry_seconds
        self._stop = threading.Event()
        self._connection: Connection | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._engine.dialect.name != "postgresql":
            self._scheduler.start()
            logger.info("scheduler started")
            return
        self._thread = threading.Thread(target=self._campaign, name="scheduler-leader", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        """True while this process runs the scheduler."""
        return bool(self._scheduler.running)

    def stop(self) -> None:
        self._stop.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
            logger.info("scheduler stopped")
        if self._connection is not None:
            self._connection.close()

    def _campaign(self) -> None:
        while not self._stop.is_set():
            try:
                if self._try_lock():
                    self._scheduler.start()
                    logger.info("scheduler lock acquired; scheduler started")
                    return
            except Exception:
                logger.exception("scheduler lock attempt failed")
            logger.info("another process runs the scheduler; retrying in %s s", self._retry_seconds)
            self._stop.wait(self._retry_seconds)

    def _try_lock(self) -> bool:
        connection = self._engine.connect()
        acquired = bool(
            connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": SCHEDULER_LOCK_KEY}
            ).scalar()
        )
        connection.commit()
        if acquired:
            self._connection = connection
        else:
            connection.close()
        return acquired
