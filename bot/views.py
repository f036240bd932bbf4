"""Block Kit for quotes, built from domain snapshots with slack_sdk's block classes.

The block classes check Slack's limits (text lengths, option counts) when a
message is built, so an oversized message fails in our tests, not in Slack.
Every piece of user text passes through `escape` first.
"""

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    ExternalDataSelectElement,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from models.money import Money, currency_exponent, format_percent
from models.quote import STATUS_LABELS, QuoteStatus
from models.quote_input import BILLING_CHOICES, PAYMENT_TERMS, terms_label
from models.summary import QuoteSummary

QUOTE_FORM_CALLBACK = "quote_form"
SEND_LINK_ACTION = "quote_send_link"
EDIT_ACTION = "quote_edit"
CANCEL_ACTION = "quote_cancel"
ADD_LINE_ACTION = "quote_form_add_line"
CREDIT_INCREASE_ACTION = "quote_request_credit_increase"
EDITABLE_STATUSES = frozenset(
    {
        QuoteStatus.DRAFT,
        QuoteStatus.APPROVED,
        QuoteStatus.SENT,
        QuoteStatus.PENDING_APPROVAL,
        QuoteStatus.CREDIT_DENIED,
    }
)
CUSTOMER_SELECT_ACTION = "customer_select"
PRODUCT_SELECT_ACTION = "product_select"
VALUE_ACTION = "value"
FIRST_FORM_LINES = 3
MAX_FORM_LINES = 19

_ESCAPED_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]+)&gt;")
_INTERVAL_WORDS = {"month": "month", "year": "year"}


def escape(text: str) -> str:
    """Escape user text for mrkdwn, so it cannot mention a channel or forge a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_message(text: str) -> str:
    """Escape a domain message for mrkdwn but keep the user mentions (`<@U123>`) we wrote in it.

    A mention cannot ping a channel or carry a link, and in an ephemeral
    reply it sends no notification.
    """
    return _ESCAPED_MENTION.sub(r"<@\1>", escape(text))


def format_money(amount: int, currency: str) -> str:
    return Money(amount, currency).format()


def plain_amount(amount: int, currency: str) -> str:
    """Format minor units as the plain number a user would type back (`1250.00`)."""
    exponent = currency_exponent(currency)
    whole, fraction = divmod(amount, 10**exponent)
    return f"{whole}.{fraction:0{exponent}d}" if exponent else str(whole)


def button_value(quote: QuoteSummary) -> str:
    """Encode the quote id and the version a message shows, so stale buttons can be detected."""
    return f"{quote.id}:{quote.version}"


def parse_button_value(value: str) -> tuple[int, int]:
    """Decode a button value from `button_value`; raise ValueError if it is not one."""
    quote_id, _, version = value.partition(":")
    return int(quote_id), int(version)


# Quote messages


def quote_text(quote: QuoteSummary) -> str:
    """Return the plain-text fallback of a quote message, which notifications show."""
    total = format_money(quote.total_amount, quote.currency)
    return f"Quote {quote.number} for {escape(quote.customer_name)}: {total} ({STATUS_LABELS[quote.status]})"


def quote_blocks(quote: QuoteSummary) -> list[Block]:
    """Build the quote message: lines, totals, terms, status and the buttons its state allows."""
    blocks: list[Block] = [
        HeaderBlock(text=f"Quote {quote.number} · version {quote.version}"),
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*{escape(quote.customer_name)}*\nOwner: <@{quote.owner_user_id}>"
                f" · Status: *{STATUS_LABELS[quote.status]}*"
            )
        ),
        DividerBlock(),
    ]
    blocks.extend(_line_sections(quote))
    blocks.append(DividerBlock())
    blocks.append(SectionBlock(fields=_total_fields(quote)))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_terms_text(quote))]))

    if quote.notes:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*Notes*\n{escape(quote.notes)}")))
    if quote.approval_note:
        blocks.append(
            ContextBlock(
                elements=[MarkdownTextObject(text=escape_message(quote.approval_note)[:2900])]
            )
        )
    if quote.payment_link_url and quote.status == QuoteStatus.SENT:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"*Payment link:* <{quote.payment_link_url}|Pay {quote.number}>"
                )
            )
        )

    actions = _quote_buttons(quote)
    if actions:
        blocks.append(ActionsBlock(block_id=f"quote_actions_{quote.id}", elements=actions))
    return blocks


def _line_sections(quote: QuoteSummary) -> Iterable[Block]:
    for line in quote.lines:
        sku = f" `{escape(line.sku)}`" if line.sku else ""
        unit = format_money(line.unit_amount, quote.currency)
        amount = format_money(line.amount, quote.currency)
        yield SectionBlock(
            text=MarkdownTextObject(
                text=f"{line.quantity:,} × {escape(line.description)}{sku} @ {unit}\n*{amount}*"
            )
        )


def _total_fields(quote: QuoteSummary) -> list[MarkdownTextObject]:
    per = _per_interval(quote)
    fields = [
        MarkdownTextObject(
            text=f"*Subtotal*\n{format_money(quote.subtotal_amount, quote.currency)}"
        )
    ]
    if quote.discount_ppm:
        discount = format_money(quote.discount_amount, quote.currency)
        fields.append(
            MarkdownTextObject(text=f"*Discount {format_percent(quote.discount_ppm)}*\n−{discount}")
        )
    if quote.tax_ppm:
        tax = format_money(quote.tax_amount, quote.currency)
        fields.append(MarkdownTextObject(text=f"*Tax {format_percent(quote.tax_ppm)}*\n{tax}"))
    fields.append(
        MarkdownTextObject(
            text=f"*Total*\n*{format_money(quote.total_amount, quote.currency)}*{per}"
        )
    )
    return fields


def _per_interval(quote: QuoteSummary) -> str:
    if quote.recurring_interval is None:
        return ""
    return f" per {_INTERVAL_WORDS[quote.recurring_interval.value]}"


def _terms_text(quote: QuoteSummary) -> str:
    billing = (
        "One-time"
        if quote.recurring_interval is None
        else f"Billed every {quote.recurring_interval.value}"
    )
    return f"{terms_label(quote.payment_terms_days)} · {billing} · Valid until {quote.valid_until.isoformat()}"


def _quote_buttons(quote: QuoteSummary) -> list[ButtonElement]:
    value = button_value(quote)
    buttons: list[ButtonElement] = []
    if quote.status in (QuoteStatus.DRAFT, QuoteStatus.APPROVED):
        buttons.append(
            ButtonElement(
                text="Create payment link", action_id=SEND_LINK_ACTION, value=value, style="primary"
            )
        )
    if quote.status == QuoteStatus.CREDIT_DENIED:
        buttons.append(
            ButtonElement(
                text="Request credit increase", action_id=CREDIT_INCREASE_ACTION, value=value
            )
        )
    if quote.status in EDITABLE_STATUSES:
        buttons.append(ButtonElement(text="Edit", action_id=EDIT_ACTION, value=value))
        buttons.append(
            ButtonElement(
                text="Cancel",
                action_id=CANCEL_ACTION,
                value=value,
                style="danger",
                confirm=ConfirmObject(
                    title="Cancel this quote?",
                    text=f"Quote {quote.number} will be cancelled and its payment link retired.",
                    confirm="Cancel quote",
                    deny="Keep it",
                ),
            )
        )
    return buttons


# Alerts


def payment_received_blocks(facts: dict[str, Any]) -> list[Block]:
    """Build the payment alert: amount, quote, customer, and anything finance should review."""
    amount = format_money(int(facts["amount"]), str(facts["currency"]))
    text = (
        f":moneybag: *Payment received: {amount}*\n"
        f"Quote {facts['quote_number']} (version {facts['version']}) · {escape(str(facts['customer_name']))}"
        f" · owner <@{facts['owner_user_id']}>"
    )
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=text))]
    concerns = facts.get("concerns") or []
    if concerns:
        listed = "\n".join(f"• {escape(str(concern))}" for concern in concerns)
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=f":warning: *Needs review*\n{listed}"))
        )
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Stripe Checkout Session `{escape(str(facts['checkout_session_id']))}`"
                )
            ]
        )
    )
    return blocks


def payment_link_blocks(facts: dict[str, Any]) -> list[Block]:
    """Build the thread reply that gives the rep the payment link to send."""
    amount = format_money(int(facts["amount"]), str(facts["currency"]))
    text = (
        f":link: Payment link for *{facts['quote_number']}* (version {facts['version']}, {amount}), "
        f"created by <@{facts['actor']}>:\n<{facts['url']}>"
    )
    return [SectionBlock(text=MarkdownTextObject(text=text))]


# The quote form


def loading_view(title: str = "Quote") -> View:
    """Build a placeholder modal to open at once while data loads."""
    return View(
        type="modal",
        title=title,
        close="Close",
        blocks=[SectionBlock(text=MarkdownTextObject(text=":hourglass_flowing_sand: Loading…"))],
    )


def message_view(title: str, text: str) -> View:
    """Build a modal that only shows a message, such as an error."""
    return View(
        type="modal",
        title=title,
        close="Close",
        blocks=[SectionBlock(text=MarkdownTextObject(text=text))],
    )


def quote_form_view(
    *,
    metadata: dict[str, Any],
    currencies: Sequence[str],
    default_currency: str,
    line_count: int,
    values: dict[str, Any] | None = None,
) -> View:
    """Build the quote modal with `line_count` line groups, prefilled from `values`.

    `values` maps block ids to the text or option to show. Block ids stay the
    same across updates, so Slack keeps what the user already typed.
    """
    values = values or {}
    editing = metadata.get("quote_id") is not None
    blocks: list[Block] = [
        InputBlock(
            block_id="customer",
            label="Customer",
            hint="Type to search, or type a new name to create the customer.",
            element=ExternalDataSelectElement(
                action_id=CUSTOMER_SELECT_ACTION,
                placeholder="Search customers",
                min_query_length=0,
                initial_option=_option(values.get("customer")),
            ),
        )
    ]
    for index in range(line_count):
        blocks.extend(_line_inputs(index, values))
    if line_count < MAX_FORM_LINES:
        blocks.append(
            ActionsBlock(
                block_id="add_line",
                elements=[
                    ButtonElement(
                        text="Add line", action_id=ADD_LINE_ACTION, value=str(line_count + 1)
                    )
                ],
            )
        )
    blocks.extend(_quote_option_inputs(currencies, default_currency, values))

    return View(
        type="modal",
        callback_id=QUOTE_FORM_CALLBACK,
        title="Edit quote" if editing else "New quote",
        submit="Save draft",
        close="Cancel",
        private_metadata=json.dumps({**metadata, "lines": line_count}),
        blocks=blocks,
    )


def _line_inputs(index: int, values: dict[str, Any]) -> list[Block]:
    label = f"Line {index + 1}"
    prefix = f"line_{index}"
    return [
        InputBlock(
            block_id=f"{prefix}_product",
            label=f"{label} · catalog product",
            optional=True,
            element=ExternalDataSelectElement(
                action_id=PRODUCT_SELECT_ACTION,
                placeholder="Search by name or SKU",
                min_query_length=0,
                initial_option=_option(values.get(f"{prefix}_product")),
            ),
        ),
        _text_input(
            f"{prefix}_description",
            f"{label} · description",
            values,
            optional=True,
            hint="Leave empty to use the product's name; required for a free-text item.",
        ),
        _text_input(
            f"{prefix}_quantity", f"{label} · quantity", values, optional=True, placeholder="1"
        ),
        _text_input(
            f"{prefix}_unit_price",
            f"{label} · unit price",
            values,
            optional=True,
            hint="Leave empty for the catalog price. Use a period for decimals: 1250.00",
        ),
    ]


def _quote_option_inputs(
    currencies: Sequence[str], default_currency: str, values: dict[str, Any]
) -> list[Block]:
    currency_options = [Option(value=code, text=code) for code in currencies]
    terms_options = [Option(value=key, text=label) for key, (label, _) in PAYMENT_TERMS.items()]
    billing_options = [Option(value=key, text=label) for key, (label, _) in BILLING_CHOICES.items()]
    chosen_currency = values.get("currency") or default_currency
    return [
        InputBlock(
            block_id="currency",
            label="Currency",
            element=StaticSelectElement(
                action_id=VALUE_ACTION,
                options=currency_options,
                initial_option=next(
                    (o for o in currency_options if o.value == chosen_currency), None
                ),
            ),
        ),
        InputBlock(
            block_id="billing",
            label="Billing",
            element=StaticSelectElement(
                action_id=VALUE_ACTION,
                options=billing_options,
                initial_option=_pick(billing_options, values.get("billing") or "one_time"),
            ),
        ),
        InputBlock(
            block_id="terms",
            label="Payment terms",
            element=StaticSelectElement(
                action_id=VALUE_ACTION,
                options=terms_options,
                initial_option=_pick(terms_options, values.get("terms") or "due_on_receipt"),
            ),
        ),
        _text_input("discount", "Discount %", values, optional=True, placeholder="0"),
        _text_input("tax", "Tax rate %", values, optional=True, placeholder="0"),
        InputBlock(
            block_id="valid_until",
            label="Valid until",
            optional=True,
            element=DatePickerElement(
                action_id=VALUE_ACTION, initial_date=values.get("valid_until") or None
            ),
        ),
        _text_input("notes", "Notes", values, optional=True, multiline=True),
    ]


def _text_input(
    block_id: str,
    label: str,
    values: dict[str, Any],
    *,
    optional: bool = False,
    multiline: bool = False,
    placeholder: str | None = None,
    hint: str | None = None,
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=label,
        optional=optional,
        hint=PlainTextObject(text=hint) if hint else None,
        element=PlainTextInputElement(
            action_id=VALUE_ACTION,
            multiline=multiline,
            placeholder=placeholder,
            initial_value=values.get(block_id) or None,
        ),
    )


def _option(value: Any) -> Option | None:
    if not value:
        return None
    return Option(value=str(value["value"]), text=str(value["text"])[:75])


def _pick(options: list[Option], value: str) -> Option | None:
    return next((option for option in options if option.value == value), None)


def options_payload(options: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """Build external-select options from (value, label) pairs; Slack takes at most 100."""
    return [Option(value=value, text=label[:75]).to_dict() for value, label in list(options)[:100]]
