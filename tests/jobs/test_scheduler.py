"""Only one process runs the scheduler on PostgreSQL; SQLite runs it at once."""

import time
from collections.abc import Callable

from sqlalchemy import Engine

from jobs.scheduler import SchedulerLeader, make_scheduler


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_leader_runs_one_scheduler(engine: Engine) -> None:
    first = SchedulerLeader(engine, make_scheduler("UTC"), retry_seconds=0.1)
    second = SchedulerLeader(engine, make_scheduler("UTC"), retry_seconds=0.1)
    try:
        first.start()
        assert wait_until(lambda: first.running)
        second.start()
        time.sleep(0.5)

        if engine.dialect.name == "postgresql":
            assert not second.running
            first.stop()
            assert wait_until(lambda: second.running)
        else:
            assert second.running
    finally:
        first.stop()
        second.stop()
