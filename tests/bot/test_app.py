"""The process wiring: every scheduled job is registered under its stable id."""

from collections.abc import Callable

from tests.conftest import O2C


def test_runtime_schedules_every_job(o2c_factory: Callable[..., O2C]) -> None:
    o2c = o2c_factory()

    job_ids = {job.id for job in o2c.runtime.scheduler.get_jobs()}

    assert job_ids == {
        "outbox_delivery",
        "payment_link_retirement",
        "quote_expiry",
        "approval_reminders",
        "follow_up_reminders",
    }
