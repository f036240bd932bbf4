"""`/quote`: the quote modal, the one-line form, and the modal's searches and submission."""

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.quote_messages import post_quote_message, refresh_quote_message
from bot.services import Services
from bot.views import (
    ADD_LINE_ACTION,
    CUSTOMER_SELECT_ACTION,
    FIRST_FORM_LINES,
    MAX_FORM_LINES,
    PRODUCT_SELECT_ACTION,
    QUOTE_FORM_CALLBACK,
    escape,
    escape_message,
    format_money,
    options_payload,
    quote_form_view,
)
from handlers.forms import form_from_state, prefill_from_state, read_metadata
from models.catalog_search import search_customers, search_products
from models.errors import DomainError
from models.quote_input import NEW_CUSTOMER_PREFIX, QuoteFormErrors
from models.quote_text import HELP_TEXT, parse_quote_text
from models.quoting import check_quote_form, create_quote, revise_quote
from models.summary import QuoteSummary, summarize

logger = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    """Attach the `/quote` listeners to the Bolt app."""

    @app.command("/quote")
    def quote_command(
        ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        text = command.get("text", "").strip()
        if text.lower() in ("help", "?"):
            ack(text=HELP_TEXT)
            return
        ack()

        if not text:
            client.views_open(
                trigger_id=command["trigger_id"], view=_new_form(services, command["channel_id"])
            )
            return
        _create_from_text(client, respond, services, command, text)

    @app.options(CUSTOMER_SELECT_ACTION)
    def customer_options(ack: Ack, payload: dict[str, Any]) -> None:
        query = payload.get("value", "").strip()
        with services.new_session() as session:
            found = search_customers(session, query)
        options = [(str(customer_id), name) for customer_id, name in found]
        if query and not any(name.lower() == query.lower() for _, name in found):
            options.insert(0, (f"{NEW_CUSTOMER_PREFIX}{query[:90]}", f"➕ New customer: {query}"))
        ack(options=options_payload(options))

    @app.options(PRODUCT_SELECT_ACTION)
    def product_options(ack: Ack, payload: dict[str, Any]) -> None:
        query = payload.get("value", "").strip()
        with services.new_session() as session:
            products = search_products(session, query)
        options = [
            (
                product.sku,
                f"{product.sku} · {product.name} · {format_money(product.unit_amount, product.currency)}",
            )
            for product in products
        ]
        ack(options=options_payload(options))

    @app.action(ADD_LINE_ACTION)
    def add_line(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        view = body["view"]
        metadata = read_metadata(view)
        line_count = min(int(metadata.get("lines", FIRST_FORM_LINES)) + 1, MAX_FORM_LINES)
        client.views_update(
            view_id=view["id"],
            hash=view.get("hash"),
            view=_form(services, metadata, line_count, prefill_from_state(view)),
        )

    @app.view(QUOTE_FORM_CALLBACK)
    def quote_form_submitted(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        user_id = body["user"]["id"]
        metadata = read_metadata(view)
        form = form_from_state(view)
        try:
            with services.new_session() as session:
                data = check_quote_form(
                    session, form, services.settings.quote_defaults(services.clock())
                )
        except QuoteFormErrors as errors:
            ack(
                response_action="errors",
                errors=_inline_errors(errors.errors, int(metadata.get("lines", 1))),
            )
            return
        quote_id = metadata.get("quote_id")
        if quote_id is None:
            ack()
            _store_new_quote(client, services, data, user_id, metadata.get("channel_id") or user_id)
            return

        # An edit is saved before the ack, so a refusal can be shown in the form.
        try:
            summary = _save_revision(
                services, int(quote_id), data, user_id, metadata.get("version")
            )
        except DomainError as error:
            ack(response_action="errors", errors={"customer": str(error)[:2000]})
            return
        ack()
        _announce_revision(client, services, summary, user_id)


def _create_from_text(
    client: WebClient, respond: Respond, services: Services, command: dict[str, Any], text: str
) -> None:
    user_id = command["user_id"]
    try:
        form = parse_quote_text(text)
        with services.new_session() as session:
            data = check_quote_form(
                session, form, services.settings.quote_defaults(services.clock())
            )
    except QuoteFormErrors as errors:
        listed = "\n".join(f"• {escape(message)}" for message in errors.errors.values())
        respond(text=f"The quote was not created:\n{listed}\nType `/quote help` for the format.")
        return
    except DomainError as error:
        respond(
            text=f"The quote was not created: {escape_message(str(error))}\nType `/quote help` for the format."
        )
        return

    posted = _store_new_quote(client, services, data, user_id, command["channel_id"])
    if posted != command["channel_id"]:
        respond(
            text="I can't post in this channel, so the quote is in our direct messages. Invite me with `/invite` to quote here."
        )


def _store_new_quote(
    client: WebClient, services: Services, data: Any, user_id: str, channel_id: str
) -> str:
    with services.new_session() as session, session.begin():
        quote = create_quote(session, data, user_id, services.clock())
        summary = summarize(session, quote)
    return post_quote_message(client, services, summary, channel_id, user_id)


def _save_revision(
    services: Services, quote_id: int, data: Any, user_id: str, form_version: Any
) -> QuoteSummary:
    expected = int(form_version) if form_version is not None else None
    with services.new_session() as session, session.begin():
        quote = revise_quote(
            session,
            quote_id,
            data,
            services.actor(user_id),
            services.clock(),
            expected_version=expected,
        )
        return summarize(session, quote)


def _announce_revision(
    client: WebClient, services: Services, summary: QuoteSummary, user_id: str
) -> None:
    services.link_retirement.wake()
    services.outbox.wake()
    refresh_quote_message(client, services, summary.id)
    if summary.slack_channel_id and summary.slack_message_ts:
        client.chat_postMessage(
            channel=summary.slack_channel_id,
            thread_ts=summary.slack_message_ts,
            text=f"<@{user_id}> updated {summary.number}; it is now version {summary.version}. Any earlier payment link no longer works.",
        )


def _new_form(services: Services, channel_id: str) -> Any:
    return _form(services, {"channel_id": channel_id}, FIRST_FORM_LINES, {})


def _form(
    services: Services, metadata: dict[str, Any], line_count: int, values: dict[str, Any]
) -> Any:
    settings = services.settings
    return quote_form_view(
        metadata=metadata,
        currencies=sorted(settings.currency_codes),
        default_currency=settings.default_currency.upper(),
        line_count=line_count,
        values=values,
    )


def _inline_errors(errors: dict[str, str], line_count: int) -> dict[str, str]:
    """Map error keys onto block ids in the modal; form-wide errors go on the first line."""
    mapped: dict[str, str] = {}
    for key, message in errors.items():
        block_id = "line_0_product" if key == "lines" else key
        if block_id.startswith("line_") and int(block_id.split("_")[1]) >= line_count:
            block_id = "line_0_product"
        mapped[block_id] = message[:2000]
    return mapped
