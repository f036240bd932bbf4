"""`/customer NAME`: the customer card, and finance's credit form and hold buttons."""

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.customer_views import (
    CHANGE_CREDIT_ACTION,
    CREDIT_FORM_CALLBACK,
    CUSTOMER_USAGE,
    HOLD_ACTION,
    RELEASE_ACTION,
    SHOW_CUSTOMER_ACTION,
    credit_change_text,
    credit_changed_blocks,
    credit_form_view,
    customer_card_blocks,
    customer_card_text,
    customer_matches_blocks,
    customer_matches_text,
)
from bot.services import Services
from bot.views import VALUE_ACTION, escape, escape_message, loading_view, message_view
from handlers.forms import read_metadata
from handlers.replies import log_rejection, reject
from models.credit import CreditChange, change_credit
from models.customer import CreditStatus
from models.customers import (
    CreditForm,
    CreditFormErrors,
    CustomerCard,
    check_credit_form,
    ensure_finance_user,
    find_customers,
    load_customer_card,
)
from models.errors import DomainError, InvalidInput
from models.money import normalize_currency

logger = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    """Attach the `/customer` command, the card's buttons and the credit form to the Bolt app."""

    def finance_users() -> frozenset[str]:
        return services.settings.policy.finance_users

    def card_reply(card: CustomerCard, user_id: str) -> dict[str, Any]:
        return {
            "text": customer_card_text(card),
            "blocks": customer_card_blocks(card, can_change=user_id in finance_users()),
        }

    @app.command("/customer")
    def customer_command(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        text = command.get("text", "").strip()
        if not text or text.lower() in ("help", "?"):
            ack(text=CUSTOMER_USAGE)
            return
        ack()

        user_id = command["user_id"]
        with services.new_session() as session:
            matches = find_customers(session, text)
            card = load_customer_card(session, matches[0].id) if len(matches) == 1 else None

        if card is not None:
            respond(response_type="ephemeral", **card_reply(card, user_id))
        elif matches:
            respond(
                response_type="ephemeral",
                text=customer_matches_text(text, matches),
                blocks=customer_matches_blocks(text, matches),
            )
        else:
            respond(
                response_type="ephemeral",
                text=f"No customer matches '{escape(text)}'. Check the spelling, or type part "
                "of the name, such as `/customer acme`.",
            )

    @app.action(SHOW_CUSTOMER_ACTION)
    def show_pressed(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        user_id = body["user"]["id"]
        try:
            with services.new_session() as session:
                card = load_customer_card(session, _customer_id(action))
        except DomainError as error:
            reject(
                respond,
                error,
                user_id,
                action_id=action.get("action_id"),
                customer_id=action.get("value"),
            )
            return
        respond(replace_original=True, **card_reply(card, user_id))

    @app.action(CHANGE_CREDIT_ACTION)
    def change_credit_pressed(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        user_id = body["user"]["id"]
        try:
            ensure_finance_user(user_id, finance_users())
        except DomainError as error:
            reject(
                respond,
                error,
                user_id,
                action_id=action.get("action_id"),
                customer_id=action.get("value"),
            )
            return

        opened = client.views_open(
            trigger_id=body["trigger_id"], view=loading_view("Change credit")
        )
        view_id = opened["view"]["id"]
        try:
            with services.new_session() as session:
                card = load_customer_card(session, _customer_id(action))
        except DomainError as error:
            log_rejection(
                error, user_id, action_id=action.get("action_id"), customer_id=action.get("value")
            )
            client.views_update(
                view_id=view_id,
                view=message_view("Change credit", f":no_entry: {escape_message(str(error))}"),
            )
            return

        settings = services.settings
        client.views_update(
            view_id=view_id,
            view=credit_form_view(
                card, sorted(settings.currency_codes), settings.default_currency.upper()
            ),
        )

    @app.action(HOLD_ACTION)
    def hold_pressed(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        _set_status(services, body, action, respond, CreditStatus.HOLD)

    @app.action(RELEASE_ACTION)
    def release_pressed(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        _set_status(services, body, action, respond, CreditStatus.GOOD)

    @app.view(CREDIT_FORM_CALLBACK)
    def credit_form_submitted(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        user_id = body["user"]["id"]
        metadata = read_metadata(view)
        customer_id = int(metadata["customer_id"])
        try:
            ensure_finance_user(user_id, finance_users())
        except DomainError as error:
            logger.info(
                "credit form rejected: %s",
                error,
                extra={"user_id": user_id, "customer_id": customer_id},
            )
            ack(
                response_action="update",
                view=message_view("Change credit", f":no_entry: {escape_message(str(error))}"),
            )
            return

        currencies = services.settings.currency_codes | _saved_currency(metadata)
        try:
            change = check_credit_form(_credit_form(view), currencies)
        except CreditFormErrors as errors:
            ack(response_action="errors", errors=errors.errors)
            return
        ack()

        try:
            with services.new_session() as session, session.begin():
                changed = change_credit(
                    session, customer_id, change, user_id, finance_users(), services.clock()
                )
                card = load_customer_card(session, customer_id)
        except DomainError as error:
            logger.warning(
                "credit change not saved: %s",
                error,
                extra={"user_id": user_id, "customer_id": customer_id},
            )
            client.chat_postMessage(
                channel=user_id,
                text=f"The credit change was not saved: {escape_message(str(error))}",
            )
            return

        client.chat_postMessage(
            channel=user_id,
            text=credit_change_text(card, changed),
            blocks=credit_changed_blocks(card, changed),
        )


def _set_status(
    services: Services,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    status: CreditStatus,
) -> None:
    """Put a customer on hold or release it, then redraw the card in place."""
    user_id = body["user"]["id"]
    finance_users = services.settings.policy.finance_users
    try:
        ensure_finance_user(user_id, finance_users)
        customer_id = _customer_id(action)
        with services.new_session() as session, session.begin():
            change_credit(
                session,
                customer_id,
                CreditChange(credit_status=status),
                user_id,
                finance_users,
                services.clock(),
            )
            card = load_customer_card(session, customer_id)
    except DomainError as error:
        reject(
            respond,
            error,
            user_id,
            action_id=action.get("action_id"),
            customer_id=action.get("value"),
        )
        return

    respond(
        replace_original=True,
        text=customer_card_text(card),
        blocks=customer_card_blocks(card, can_change=True),
    )


def _customer_id(action: dict[str, Any]) -> int:
    value = str(action.get("value", ""))
    if not value.isdigit():
        raise InvalidInput(f"Button value '{value}' is not a customer id.")
    return int(value)


def _saved_currency(metadata: dict[str, Any]) -> frozenset[str]:
    """Return the customer's limit currency when the form was opened, so it stays valid."""
    saved = metadata.get("credit_currency")
    if not isinstance(saved, str):
        return frozenset()
    try:
        return frozenset({normalize_currency(saved)})
    except InvalidInput:
        return frozenset()


def _credit_form(view: dict[str, Any]) -> CreditForm:
    values = view.get("state", {}).get("values", {})

    def text(block_id: str) -> str:
        return str((values.get(block_id, {}).get(VALUE_ACTION) or {}).get("value") or "")

    def selected(block_id: str) -> str:
        option = (values.get(block_id, {}).get(VALUE_ACTION) or {}).get("selected_option") or {}
        return str(option.get("value") or "")

    return CreditForm(
        credit_limit=text("credit_limit"),
        credit_currency=selected("credit_currency"),
        payment_terms=selected("payment_terms"),
        credit_status=selected("credit_status"),
    )
