"""Block Kit for `/customer`: the customer card, the list of matches and the credit form."""

import json
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
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

from bot.views import VALUE_ACTION, escape, format_money, plain_amount
from models.customer import CreditStatus
from models.customers import MATCH_LIMIT, CustomerCard, CustomerMatch, terms_key
from models.money import Money
from models.quote import STATUS_LABELS
from models.quote_input import PAYMENT_TERMS, terms_label

CREDIT_FORM_CALLBACK = "customer_credit_form"
SHOW_CUSTOMER_ACTION = "customer_show"
CHANGE_CREDIT_ACTION = "customer_change_credit"
HOLD_ACTION = "customer_hold"
RELEASE_ACTION = "customer_release"

CUSTOMER_USAGE = (
    "Usage: `/customer NAME` shows a customer's contact, payment terms, credit limit, "
    "exposure, open quotes and recent payments. Part of the name is enough, such as "
    "`/customer acme`."
)

_HEADER_MAX = 150
_STATUS_LABELS = {CreditStatus.GOOD: "Good", CreditStatus.HOLD: ":no_entry: On hold"}
_FIELD_LABELS = {
    "credit_limit": "credit limit",
    "credit_currency": "limit currency",
    "payment_terms_days": "payment terms",
    "credit_status": "credit status",
}


def customer_card_text(card: CustomerCard) -> str:
    """Return the plain-text fallback of the card, which notifications show."""
    return (
        f"Customer {escape(card.name)}: credit limit {_limit_text(card)}, "
        f"credit status {card.credit_status.value}"
    )


def customer_card_blocks(card: CustomerCard, *, can_change: bool) -> list[Block]:
    """Build the card, with the finance buttons when `can_change` is True."""
    blocks: list[Block] = [
        HeaderBlock(text=_clip(card.name, _HEADER_MAX)),
        SectionBlock(
            fields=[
                MarkdownTextObject(text=f"*Contact*\n{_contact_text(card)}"),
                MarkdownTextObject(text=f"*Payment terms*\n{terms_label(card.payment_terms_days)}"),
                MarkdownTextObject(text=f"*Credit limit*\n{_limit_text(card)}"),
                MarkdownTextObject(text=f"*Exposure*\n{_exposure_text(card)}"),
                MarkdownTextObject(text=f"*Credit status*\n{_STATUS_LABELS[card.credit_status]}"),
            ]
        ),
    ]
    uncounted = card.uncounted_exposure
    if uncounted:
        listed = ", ".join(money.format() for money in uncounted)
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"Sent quotes in other currencies are not counted against the "
                        f"{card.credit_currency} limit: {listed}."
                    )
                ]
            )
        )

    blocks.append(DividerBlock())
    blocks.append(SectionBlock(text=MarkdownTextObject(text=_open_quotes_text(card))))
    blocks.append(SectionBlock(text=MarkdownTextObject(text=_payments_text(card))))

    if can_change:
        blocks.append(
            ActionsBlock(block_id=f"customer_actions_{card.id}", elements=_finance_buttons(card))
        )
    return blocks


def _contact_text(card: CustomerCard) -> str:
    return escape(card.email) if card.email else "No email on file"


def _limit_text(card: CustomerCard) -> str:
    # A limit without a currency is not checked by the credit rule either.
    if card.credit_limit is None or card.credit_currency is None:
        return "No limit"
    return format_money(card.credit_limit, card.credit_currency)


def _exposure_text(card: CustomerCard) -> str:
    if card.credit_currency is None or card.exposure is None:
        if not card.exposure_by_currency:
            return "None"
        return "\n".join(money.format() for money in card.exposure_by_currency)

    text = format_money(card.exposure, card.credit_currency)
    if card.credit_limit is None:
        return text
    headroom = card.credit_limit - card.exposure
    if headroom >= 0:
        return f"{text}\n{format_money(headroom, card.credit_currency)} available"
    return f"{text}\n:warning: {format_money(-headroom, card.credit_currency)} over the limit"


def _open_quotes_text(card: CustomerCard) -> str:
    if not card.open_quotes:
        return "*Open quotes*\nNone"
    lines = [
        f"`{quote.number}` · {STATUS_LABELS[quote.status]} · "
        f"{format_money(quote.total_amount, quote.currency)}"
        for quote in card.open_quotes
    ]
    hidden = card.open_quote_count - len(card.open_quotes)
    if hidden > 0:
        lines.append(f"…and {hidden} older")
    return f"*Open quotes* ({card.open_quote_count})\n" + "\n".join(lines)


def _payments_text(card: CustomerCard) -> str:
    if not card.recent_payments:
        return "*Recent payments*\nNone"
    lines = []
    for payment in card.recent_payments:
        # Slack shows the date in the reader's own time zone, and the fallback in UTC.
        seconds = int(payment.paid_at.timestamp())
        fallback = payment.paid_at.strftime("%Y-%m-%d %H:%M UTC")
        paid = f"<!date^{seconds}^{{date_short}}|{fallback}>"
        amount = format_money(payment.amount, payment.currency)
        lines.append(f"`{payment.quote_number}` · {amount} · {paid}")
    return "*Recent payments*\n" + "\n".join(lines)


def _finance_buttons(card: CustomerCard) -> list[ButtonElement]:
    value = str(card.id)
    name = _clip(card.name, 100)
    change = ButtonElement(text="Change credit", action_id=CHANGE_CREDIT_ACTION, value=value)
    if card.on_hold:
        toggle = ButtonElement(
            text="Release hold",
            action_id=RELEASE_ACTION,
            value=value,
            style="primary",
            confirm=ConfirmObject(
                title="Release the credit hold?",
                text=f"{name} goes back to good credit status.",
                confirm="Release hold",
                deny="Keep the hold",
            ),
        )
    else:
        toggle = ButtonElement(
            text="Put on hold",
            action_id=HOLD_ACTION,
            value=value,
            style="danger",
            confirm=ConfirmObject(
                title="Put on credit hold?",
                text=f"{name} goes on credit hold until finance releases it.",
                confirm="Put on hold",
                deny="Cancel",
            ),
        )
    return [change, toggle]


def credit_change_text(card: CustomerCard, changed: Sequence[str]) -> str:
    """Describe a saved credit change: which fields changed, or that none did."""
    if not changed:
        return f"Nothing changed for {escape(card.name)}: the form had the values already saved."
    fields = ", ".join(_FIELD_LABELS.get(name, name) for name in changed)
    return f"Updated {fields} for {escape(card.name)}."


def credit_changed_blocks(card: CustomerCard, changed: Sequence[str]) -> list[Block]:
    """Build the direct message sent after a credit form is saved: what changed, then the card."""
    icon = ":white_check_mark:" if changed else ":information_source:"
    summary = SectionBlock(
        text=MarkdownTextObject(text=f"{icon} {credit_change_text(card, changed)}")
    )
    return [summary, *customer_card_blocks(card, can_change=True)]


# The list of matches


def customer_matches_blocks(query: str, matches: Sequence[CustomerMatch]) -> list[Block]:
    """Build the list shown when several customers match, each with a Show button."""
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"{len(matches)} customers match '{escape(query)}'. Choose one:"
            )
        )
    ]
    for match in matches:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=escape(match.name)),
                accessory=ButtonElement(
                    text="Show", action_id=SHOW_CUSTOMER_ACTION, value=str(match.id)
                ),
            )
        )
    if len(matches) >= MATCH_LIMIT:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"Only the first {MATCH_LIMIT} are listed. "
                        "Type more of the name to narrow the list."
                    )
                ]
            )
        )
    return blocks


def customer_matches_text(query: str, matches: Sequence[CustomerMatch]) -> str:
    """Return the plain-text fallback of the list of matches."""
    names = ", ".join(escape(match.name) for match in matches)
    return f"{len(matches)} customers match '{escape(query)}': {names}"


# The credit form


def credit_form_view(card: CustomerCard, currencies: Sequence[str], default_currency: str) -> View:
    """Build the finance modal that changes a customer's limit, terms and credit status.

    The customer's current limit currency stays selectable even when it is no
    longer among `currencies`, so saving the form unchanged cannot switch it.
    """
    codes = list(currencies)
    if card.credit_currency and card.credit_currency not in codes:
        codes.append(card.credit_currency)
    currency_options = [Option(value=code, text=code) for code in codes]
    terms_options = [Option(value=key, text=label) for key, (label, _) in PAYMENT_TERMS.items()]
    status_options = [
        Option(value=CreditStatus.GOOD.value, text="Good"),
        Option(value=CreditStatus.HOLD.value, text="On hold"),
    ]

    limit_value = None
    if card.credit_limit is not None and card.credit_currency is not None:
        limit_value = plain_amount(card.credit_limit, card.credit_currency)
    current_terms = terms_key(card.payment_terms_days)
    terms_hint = (
        None
        if current_terms is not None
        else PlainTextObject(
            text=f"The saved terms ({terms_label(card.payment_terms_days)}) are not a listed "
            "choice: choose one."
        )
    )
    exposure = (
        Money(card.exposure, card.credit_currency).format()
        if card.exposure is not None and card.credit_currency
        else "no credit currency set"
    )

    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*{escape(card.name)}*\nCurrent exposure: {exposure}"
                + ("" if limit_value is not None else " · no credit limit")
            )
        ),
        InputBlock(
            block_id="credit_limit",
            label="Credit limit",
            optional=True,
            hint="Leave empty for no limit. Use a period for decimals: 25000.00",
            element=PlainTextInputElement(
                action_id=VALUE_ACTION, placeholder="No limit", initial_value=limit_value
            ),
        ),
        InputBlock(
            block_id="credit_currency",
            label="Limit currency",
            hint="The credit limit applies to quotes in this currency only.",
            element=StaticSelectElement(
                action_id=VALUE_ACTION,
                options=currency_options,
                initial_option=_pick(currency_options, card.credit_currency or default_currency),
            ),
        ),
        InputBlock(
            block_id="payment_terms",
            label="Payment terms",
            hint=terms_hint,
            element=StaticSelectElement(
                action_id=VALUE_ACTION,
                options=terms_options,
                initial_option=_pick(terms_options, current_terms),
            ),
        ),
        InputBlock(
            block_id="credit_status",
            label="Credit status",
            element=StaticSelectElement(
                action_id=VALUE_ACTION,
                options=status_options,
                initial_option=_pick(status_options, card.credit_status.value),
            ),
        ),
    ]
    return View(
        type="modal",
        callback_id=CREDIT_FORM_CALLBACK,
        title="Change credit",
        submit="Save",
        close="Cancel",
        private_metadata=json.dumps(
            {"customer_id": card.id, "credit_currency": card.credit_currency}
        ),
        blocks=blocks,
    )


def _pick(options: list[Option], value: str | None) -> Option | None:
    return next((option for option in options if option.value == value), None)


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
