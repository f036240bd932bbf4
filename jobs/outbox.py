"""The outbox dispatcher: delivers queued alerts to Slack, once each.

Per alert: claim it (status posting, committed), check Slack for a message
with its delivery key if an earlier attempt may have posted it, post, then
mark it sent with the message ts. A crash after posting leaves the alert in
posting. Once its claim times out, the next dispatcher finds the message by
its key instead of posting it again. A 429 puts the alert back until
Slack's `Retry-After` has passed and ends the pass; other errors back off
exponentially, and an alert that keeps failing is marked failed and logged.
"""

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import timedelta

from sqlmodel import Session

from bot.slack_delivery import DeliveryError, Posted, RateLimited, SlackPoster
from models.clock import Clock
from models.outbox import AlertStatus, OutboxAlert, claim_next

logger = logging.getLogger(__name__)

CLAIM_TIMEOUT = timedelta(seconds=120)  # well above WebClient's 30 s request timeout
MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(minutes=15)


class OutboxDispatcher:
    """Delivers due alerts; one pass at a time per process."""

    def __init__(
        self,
        new_session: Callable[[], Session],
        poster: SlackPoster,
        clock: Clock,
        *,
        batch_size: int = 50,
    ) -> None:
        self._new_session = new_session
        self._poster = poster
        self._clock = clock
        self._batch_size = batch_size
        self._lock = threading.Lock()

    def deliver_due(self) -> int:
        """Deliver due alerts until none is left or Slack rate-limits us; return how many were sent."""
        if not self._lock.acquire(blocking=False):
            return 0
        try:
            sent = 0
            for _ in range(self._batch_size):
                with self._new_session() as session, session.begin():
                    alert = claim_next(session, self._clock(), CLAIM_TIMEOUT)
                if alert is None:
                    break
                outcome = self._deliver(alert)
                if outcome == "rate_limited":
                    break
                sent += outcome == "sent"
            return sent
        finally:
            self._lock.release()

    def _deliver(self, alert: OutboxAlert) -> str:
        ids = {"alert_id": alert.id, "delivery_key": alert.delivery_key, "attempt": alert.attempts}
        try:
            posted = self._poster.deliver(alert, maybe_posted=alert.attempts > 1)
        except RateLimited as limit:
            logger.warning("Slack rate limit; alert waits %s s", limit.retry_after, extra=ids)
            self._reschedule(
                alert, timedelta(seconds=limit.retry_after), str(limit), count_attempt=False
            )
            return "rate_limited"
        except DeliveryError as error:
            self._record_failure(alert, error, ids)
            return "failed"

        self._mark_sent(alert, posted)
        logger.info(
            "alert delivered", extra={**ids, "channel_id": posted.channel_id, "ts": posted.ts}
        )
        return "sent"

    def _mark_sent(self, alert: OutboxAlert, posted: Posted) -> None:
        with self._new_session() as session, session.begin():
            row = session.get(OutboxAlert, alert.id)
            assert row is not None
            row.status = AlertStatus.SENT
            row.slack_channel_id = posted.channel_id
            row.slack_ts = posted.ts
            row.sent_at = self._clock()
            row.last_error = None
            session.add(row)

    def _record_failure(
        self, alert: OutboxAlert, error: DeliveryError, ids: Mapping[str, object]
    ) -> None:
        if error.permanent or alert.attempts >= MAX_ATTEMPTS:
            logger.error("alert delivery failed for good: %s", error, extra=ids)
            with self._new_session() as session, session.begin():
                row = session.get(OutboxAlert, alert.id)
                assert row is not None
                row.status = AlertStatus.FAILED
                row.last_error = str(error)[:500]
                session.add(row)
            return

        delay = min(timedelta(seconds=2**alert.attempts), MAX_BACKOFF)
        logger.warning(
            "alert delivery failed; retrying in %s s: %s",
            int(delay.total_seconds()),
            error,
            extra=ids,
        )
        self._reschedule(alert, delay, str(error), count_attempt=True)

    def _reschedule(
        self, alert: OutboxAlert, delay: timedelta, reason: str, *, count_attempt: bool
    ) -> None:
        with self._new_session() as session, session.begin():
            row = session.get(OutboxAlert, alert.id)
            assert row is not None
            row.status = AlertStatus.PENDING
            row.next_attempt_at = self._clock() + delay
            row.last_error = reason[:500]
            if not count_attempt:
                row.attempts -= 1
            session.add(row)
