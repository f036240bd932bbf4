"""The buttons on a quote message: Create payment link, Edit and Cancel."""

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.quote_messages import refresh_quote_message
from bot.services import Services
from bot.views import (
    CANCEL_ACTION,
    CREDIT_INCREASE_ACTION,
    EDIT_ACTION,
    FIRST_FORM_LINES,
    SEND_LINK_ACTION,
    escape_message,
    loading_view,
    message_view,
    parse_button_value,
    quote_form_view,
)
from handlers.forms import prefill_from_quote
from handlers.replies import reject
from models.approvals import request_credit_increase, submit_for_approval
from models.errors import DomainError
from models.gateway import GatewayError
from models.payment_links import send_quote
from models.permissions import ensure_can_manage, ensure_current_version
from models.quoting import cancel_quote, get_quote
from models.summary import summarize

logger = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    """Attach the quote button listeners to the Bolt app."""

    @app.action(SEND_LINK_ACTION)
    def send_link_pressed(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        user_id = body["user"]["id"]
        quote_id, version = parse_button_value(action["value"])
        try:
            _check_press(services, quote_id, version, user_id)
        except DomainError as error:
            reject(respond, error, user_id, quote_id=quote_id)
            return
        services.run_later(send_or_submit, client, respond, services, quote_id, user_id)

    @app.action(CREDIT_INCREASE_ACTION)
    def credit_increase_pressed(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        user_id = body["user"]["id"]
        quote_id, version = parse_button_value(action["value"])
        try:
            _check_press(services, quote_id, version, user_id)
            with services.new_session() as session, session.begin():
                request_credit_increase(
                    session,
                    quote_id,
                    services.actor(user_id),
                    services.policy,
                    services.channels,
                    services.clock(),
                )
        except DomainError as error:
            reject(respond, error, user_id, quote_id=quote_id)
            return
        services.outbox.wake()
        respond(
            text="Finance has your request for a credit increase, with the numbers.",
            response_type="ephemeral",
            replace_original=False,
        )

    @app.action(EDIT_ACTION)
    def edit_pressed(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        user_id = body["user"]["id"]
        opened = client.views_open(trigger_id=body["trigger_id"], view=loading_view("Edit quote"))
        view_id = opened["view"]["id"]

        quote_id, version = parse_button_value(action["value"])
        try:
            _check_press(services, quote_id, version, user_id)
            with services.new_session() as session:
                quote = summarize(session, get_quote(session, quote_id))
        except DomainError as error:
            client.views_update(
                view_id=view_id,
                view=message_view("Edit quote", f":no_entry: {escape_message(str(error))}"),
            )
            return

        metadata = {
            "quote_id": quote.id,
            "version": quote.version,
            "channel_id": quote.slack_channel_id,
        }
        line_count = max(len(quote.lines), FIRST_FORM_LINES)
        client.views_update(
            view_id=view_id,
            view=quote_form_view(
                metadata=metadata,
                currencies=sorted(services.settings.currency_codes),
                default_currency=quote.currency,
                line_count=line_count,
                values=prefill_from_quote(quote),
            ),
        )

    @app.action(CANCEL_ACTION)
    def cancel_pressed(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        user_id = body["user"]["id"]
        quote_id, version = parse_button_value(action["value"])
        try:
            _check_press(services, quote_id, version, user_id)
            with services.new_session() as session, session.begin():
                cancel_quote(session, quote_id, services.actor(user_id), services.clock())
        except DomainError as error:
            reject(respond, error, user_id, quote_id=quote_id)
            return

        services.link_retirement.wake()
        refresh_quote_message(client, services, quote_id)


def _check_press(services: Services, quote_id: int, version: int, user_id: str) -> None:
    """Refuse a press by someone without rights over the quote, or on an outdated message."""
    with services.new_session() as session:
        quote = get_quote(session, quote_id)
        ensure_can_manage(quote, user_id, services.settings.manager_ids)
        ensure_current_version(quote, version)


def send_or_submit(
    client: WebClient, respond: Respond, services: Services, quote_id: int, user_id: str
) -> None:
    """Send a quote that is inside policy; submit one outside it to the deal desk.

    Runs off Bolt's listener threads because creating the link calls Stripe.
    """
    try:
        with services.new_session() as session, session.begin():
            submitted = submit_for_approval(
                session,
                quote_id,
                services.actor(user_id),
                services.policy,
                services.directory,
                services.channels,
                services.clock(),
            )
        if not submitted.needs_approval:
            outcome = send_quote(
                services.new_session,
                quote_id,
                services.actor(user_id),
                services.gateway,
                services.clock,
            )
            logger.info(
                "quote sent",
                extra={"quote_id": quote_id, "user_id": user_id, "link_created": outcome.created},
            )
    except (DomainError, GatewayError) as error:
        reject(respond, error, user_id, quote_id=quote_id)
        return

    services.outbox.wake()
    refresh_quote_message(client, services, quote_id)
