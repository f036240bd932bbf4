"""Building the process: database, Stripe gateway, Bolt app, outbox dispatcher and jobs."""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from sqlalchemy import Engine

from bot.alert_content import DatabaseAlertContent
from bot.db import make_engine, session_factory, upgrade
from bot.directory import SlackApproverDirectory
from bot.services import Services
from bot.settings import Settings
from bot.slack_delivery import SlackPoster
from bot.stripe_gateway import StripeGateway, make_client
from handlers import approvals, customers, quote_actions, quote_command
from jobs.approval_reminders import remind_approvers, remind_reps
from jobs.maintenance import expire_due_quotes, retire_links
from jobs.outbox import OutboxDispatcher
from jobs.scheduler import JobWaker, SchedulerLeader, add_interval_job, make_scheduler
from models.clock import Clock, system_clock

logger = logging.getLogger(__name__)

OUTBOX_JOB = "outbox_delivery"
RETIRE_LINKS_JOB = "payment_link_retirement"
EXPIRE_QUOTES_JOB = "quote_expiry"
APPROVAL_REMINDERS_JOB = "approval_reminders"
FOLLOW_UPS_JOB = "follow_up_reminders"

APOLOGY = ":warning: Sorry, something went wrong on our side and nothing was changed. Try again, or ask your o2c-bot admin to check the logs."


@dataclass
class Runtime:
    """Everything one process runs, wired together."""

    settings: Settings
    engine: Engine
    services: Services
    bolt: App
    scheduler: BackgroundScheduler
    leader: SchedulerLeader
    dispatcher: OutboxDispatcher


def build_runtime(
    settings: Settings, *, clock: Clock = system_clock, migrate: bool = True
) -> Runtime:
    """Wire the process from settings; the scheduler is created but not started."""
    if migrate:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    new_session = session_factory(engine)
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None

    stripe_key = (
        settings.stripe_api_key.get_secret_value() if settings.stripe_api_key else "sk_test_unset"
    )
    gateway = StripeGateway(make_client(stripe_key, settings.stripe_api_base))
    services = Services(settings=settings, new_session=new_session, gateway=gateway, clock=clock)

    # No retry handlers: a resent chat.postMessage after a dropped connection
    # could post twice, so the dispatcher decides about every retry itself.
    delivery_client = WebClient(token=token, base_url=settings.slack_api_url, retry_handlers=[])
    content = DatabaseAlertContent(new_session, settings.policy)
    dispatcher = OutboxDispatcher(new_session, SlackPoster(delivery_client, content), clock)

    scheduler = make_scheduler(settings.timezone)
    add_interval_job(
        scheduler, OUTBOX_JOB, dispatcher.deliver_due, settings.outbox_interval_seconds
    )
    add_interval_job(
        scheduler, RETIRE_LINKS_JOB, retire_links, 60, new_session=new_session, gateway=gateway
    )
    add_interval_job(
        scheduler,
        EXPIRE_QUOTES_JOB,
        expire_due_quotes,
        3600,
        new_session=new_session,
        clock=clock,
        today=lambda: settings.today(clock()),
    )
    services.outbox = JobWaker(scheduler, OUTBOX_JOB)
    services.link_retirement = JobWaker(scheduler, RETIRE_LINKS_JOB)

    services.directory = SlackApproverDirectory(
        WebClient(token=token, base_url=settings.slack_api_url)
    )
    add_interval_job(
        scheduler,
        APPROVAL_REMINDERS_JOB,
        remind_approvers,
        300,
        new_session=new_session,
        policy=settings.policy,
        directory_of=lambda: services.directory,
        clock=clock,
    )
    add_interval_job(
        scheduler,
        FOLLOW_UPS_JOB,
        remind_reps,
        300,
        new_session=new_session,
        policy=settings.policy,
        clock=clock,
    )
    bolt = build_bolt_app(settings, services, token)
    return Runtime(
        settings, engine, services, bolt, scheduler, SchedulerLeader(engine, scheduler), dispatcher
    )


def build_bolt_app(settings: Settings, services: Services, token: str | None) -> App:
    """Create the Bolt app with every listener registered and one error hook."""
    client = WebClient(token=token, base_url=settings.slack_api_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    signing_secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )

    app = App(
        client=client,
        signing_secret=signing_secret,
        token_verification_enabled=False,
        request_verification_enabled=not settings.socket_mode,
        logger=logging.getLogger("slack_bolt"),
        # Bolt runs each listener, ack included, on this pool (5 threads by
        # default in slack-bolt 1.30). Listeners hand Stripe calls to
        # Services.run_later, so these threads only wait for the database.
        listener_executor=ThreadPoolExecutor(max_workers=32, thread_name_prefix="bolt-listener"),
    )
    quote_command.register(app, services)
    quote_actions.register(app, services)
    approvals.register(app, services)
    customers.register(app, services)

    @app.error
    def report_error(error: Exception, body: dict[str, Any], respond: Any) -> BoltResponse | None:
        user = (body.get("user") or {}).get("id") or body.get("user_id")
        logger.error(
            "listener failed: %r",
            error,
            exc_info=error,
            extra={"user_id": user, "type": body.get("type") or body.get("command")},
        )
        if body.get("response_url"):
            try:
                respond(text=APOLOGY, response_type="ephemeral", replace_original=False)
            except Exception:
                logger.exception("could not send the apology", extra={"user_id": user})
        return None

    return app
