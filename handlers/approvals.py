"""Approval request buttons (Approve, Reject, Request changes), the reason modal, and follow-ups."""

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.approval_views import (
    APPROVE_ACTION,
    CHANGES_ACTION,
    FOLLOW_UP_DONE_ACTION,
    REASON_CALLBACK,
    REJECT_ACTION,
    reason_view,
)
from bot.quote_messages import refresh_quote_message
from bot.services import Services
from bot.views import escape_message
from handlers.replies import reject
from models.approval import Decision, RequestStatus
from models.approvals import DecisionOutcome, complete_follow_up, decide
from models.errors import DomainError, InvalidInput
from models.gateway import GatewayError
from models.payment_links import send_quote
from models.quoting import Actor, get_quote

logger = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    """Attach the approval and follow-up listeners to the Bolt app."""

    @app.action(APPROVE_ACTION)
    def approve_pressed(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        request_id, version = _parse(action["value"])
        try:
            outcome = _decide(
                services, request_id, version, body["user"]["id"], Decision.APPROVED, ""
            )
        except DomainError as error:
            reject(respond, error, body["user"]["id"], request_id=request_id)
            return
        _after_decision(client, services, outcome)

    @app.action(REJECT_ACTION)
    def reject_pressed(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        request_id, version = _parse(action["value"])
        client.views_open(
            trigger_id=body["trigger_id"], view=reason_view(request_id, version, Decision.REJECTED)
        )

    @app.action(CHANGES_ACTION)
    def changes_pressed(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        request_id, version = _parse(action["value"])
        client.views_open(
            trigger_id=body["trigger_id"],
            view=reason_view(request_id, version, Decision.CHANGES_REQUESTED),
        )

    @app.view(REASON_CALLBACK)
    def reason_submitted(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        request_id, version, decision_value = view["private_metadata"].split(":")
        reason = str(view["state"]["values"].get("reason", {}).get("value", {}).get("value") or "")
        try:
            outcome = _decide(
                services,
                int(request_id),
                int(version),
                body["user"]["id"],
                Decision(decision_value),
                reason,
            )
        except DomainError as error:
            ack(response_action="errors", errors={"reason": str(error)[:2000]})
            return
        ack()
        _after_decision(client, services, outcome)

    @app.action(FOLLOW_UP_DONE_ACTION)
    def follow_up_done(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        user_id = body["user"]["id"]
        try:
            with services.new_session() as session, session.begin():
                task = complete_follow_up(
                    session, int(action["value"]), services.actor(user_id), services.clock()
                )
                text = task.text
        except DomainError as error:
            reject(respond, error, user_id, task_id=action["value"])
            return
        respond(text=f":white_check_mark: Done: {escape_message(text)}", replace_original=True)


def _parse(value: str) -> tuple[int, int]:
    request_id, _, version = value.partition(":")
    if not request_id.isdigit() or not version.isdigit():
        raise InvalidInput(f"Button value '{value}' is not a request id and version.")
    return int(request_id), int(version)


def _decide(
    services: Services, request_id: int, version: int, user_id: str, decision: Decision, reason: str
) -> DecisionOutcome:
    with services.new_session() as session, session.begin():
        return decide(
            session,
            request_id,
            version,
            user_id,
            decision,
            reason,
            services.policy,
            services.directory,
            services.clock(),
        )


def _after_decision(client: WebClient, services: Services, outcome: DecisionOutcome) -> None:
    """Deliver the updates; once every tier approved, create the payment link the rep asked for."""
    services.outbox.wake()
    refresh_quote_message(client, services, outcome.quote_id)
    if outcome.request_status == RequestStatus.APPROVED:
        services.run_later(_send_approved_quote, client, services, outcome.quote_id)


def _send_approved_quote(client: WebClient, services: Services, quote_id: int) -> None:
    with services.new_session() as session:
        owner = get_quote(session, quote_id).owner_user_id
    try:
        send_quote(
            services.new_session,
            quote_id,
            Actor(user_id=owner, managers=services.settings.manager_ids),
            services.gateway,
            services.clock,
        )
    except (DomainError, GatewayError) as error:
        logger.warning(
            "payment link after approval failed: %s", error, extra={"quote_id": quote_id}
        )
        client.chat_postMessage(
            channel=owner,
            text=f"Quote {quote_id} is approved, but its payment link was not created: {escape_message(str(error))} Press Create payment link to try again.",
        )
        return
    services.outbox.wake()
    refresh_quote_message(client, services, quote_id)
