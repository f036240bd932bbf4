"""The HTTP server: Slack's events, Stripe's webhook and a health check, on uvicorn.

Bolt's `dispatch` blocks, so it runs in Starlette's thread pool; calling it
inside the event loop would queue every request behind the one before it.
"""

import contextlib
import logging
from collections.abc import AsyncIterator

from slack_bolt.request import BoltRequest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.app import Runtime
from handlers.stripe_webhook import handle_stripe_webhook

logger = logging.getLogger(__name__)


def create_web_app(runtime: Runtime, *, run_scheduler: bool) -> Starlette:
    """Build the ASGI app; with `run_scheduler` the process also runs the jobs."""

    async def slack_events(request: Request) -> Response:
        body = (await request.body()).decode("utf-8")
        bolt_request = BoltRequest(
            body=body, query=request.url.query, headers=dict(request.headers)
        )
        bolt_response = await run_in_threadpool(runtime.bolt.dispatch, bolt_request)
        return Response(
            status_code=bolt_response.status,
            content=bolt_response.body,
            headers=bolt_response.first_headers_without_set_cookie(),
        )

    async def stripe_webhook(request: Request) -> Response:
        body = await request.body()
        result = await run_in_threadpool(
            handle_stripe_webhook, runtime.services, body, request.headers.get("stripe-signature")
        )
        return JSONResponse(result.body, status_code=result.status)

    async def healthz(_request: Request) -> Response:
        try:
            await run_in_threadpool(_ping_database, runtime)
        except Exception as error:
            logger.warning("health check failed: %r", error)
            return JSONResponse(
                {"status": "unavailable", "database": "unreachable"}, status_code=503
            )
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if run_scheduler:
            runtime.leader.start()
        try:
            yield
        finally:
            if run_scheduler:
                runtime.leader.stop()

    routes = [
        Route("/slack/events", slack_events, methods=["POST"]),
        Route("/stripe/webhook", stripe_webhook, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _ping_database(runtime: Runtime) -> None:
    with runtime.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
