"""`/customer`: the customer card, the list of matches, and finance's credit changes."""

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from models.audit import AuditEntry
from models.customer import CreditStatus, Customer
from models.payment import Payment
from models.quote import Quote, QuoteStatus
from tests.conftest import O2C
from tests.handlers.helpers import buttons
from tests.handlers.test_quote_actions import prefilled_state
from tests.slack_requests import plain_text_value, static_select_value

FINANCE_ID = "U0FIN"
CHANNEL = "C0SALES"


@pytest.fixture
def finance_o2c(o2c_factory: Callable[..., O2C], tmp_path: Path) -> O2C:
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[finance]\nusers = ["{FINANCE_ID}"]\n', encoding="utf-8")
    o2c = o2c_factory(config_path=str(policy))
    o2c.slack_api.add_user(FINANCE_ID, "fin", "Finley Finance")
    return o2c


def add_customer(o2c: O2C, name: str = "Acme Corp", **fields: Any) -> int:
    values: dict[str, Any] = {
        "email": "ap@acme.example",
        "payment_terms_days": 30,
        "credit_limit": 1_000_000,
        "credit_currency": "USD",
        "created_by": "U0REP",
    }
    values.update(fields)
    with o2c.new_session() as session, session.begin():
        customer = Customer(name=name, **values)
        session.add(customer)
        session.flush()
        assert customer.id is not None
        return customer.id


def add_quote(
    o2c: O2C, customer_id: int, total: int, currency: str = "USD", status: str = "sent"
) -> str:
    with o2c.new_session() as session, session.begin():
        quote = Quote(
            customer_id=customer_id,
            owner_user_id="U0REP",
            currency=currency,
            valid_until=date(2026, 12, 31),
            status=QuoteStatus(status),
            subtotal_amount=total,
            total_amount=total,
        )
        session.add(quote)
        session.flush()
        return quote.number


def add_payment(o2c: O2C, customer_id: int, amount: int, paid_at: datetime) -> str:
    number = add_quote(o2c, customer_id, amount, status="paid")
    with o2c.new_session() as session, session.begin():
        quote_id = int(number.removeprefix("Q-"))
        session.add(
            Payment(
                quote_id=quote_id,
                quote_version=1,
                amount=amount,
                currency="USD",
                stripe_checkout_session_id=f"cs_test_{quote_id}",
                paid_at=paid_at,
            )
        )
    return number


def the_customer(o2c: O2C, customer_id: int) -> Customer:
    with o2c.new_session() as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None
        return customer


def audit_rows(o2c: O2C) -> list[AuditEntry]:
    with o2c.new_session() as session:
        statement = select(AuditEntry).where(AuditEntry.entity == "customer")
        return list(session.exec(statement).all())


def show_card(o2c: O2C, text: str, user_id: str = "U0REP") -> dict[str, Any]:
    """Run `/customer TEXT` and return the ephemeral reply as the stand-in stored it."""
    before = len(o2c.slack_api.ephemerals())
    response = o2c.slack.slash_command("/customer", text, user_id=user_id, channel_id=CHANNEL)
    assert response.status_code == 200
    o2c.wait_for(lambda: len(o2c.slack_api.ephemerals()) > before, "/customer reply")
    return o2c.slack_api.ephemerals()[-1]


def press_on_card(
    o2c: O2C, card: dict[str, Any], action_id: str, user_id: str
) -> dict[str, Any] | None:
    """Press a card button and return the next post to a response URL, if one arrives."""
    before = len(o2c.slack_api.responses)
    button = buttons(card)[action_id]
    o2c.slack.block_action(
        action_id,
        value=button["value"],
        block_id=button["block_id"],
        message=card,
        channel_id=CHANNEL,
        user_id=user_id,
    )
    o2c.wait_for(lambda: len(o2c.slack_api.responses) > before, f"reply to {action_id}")
    return o2c.slack_api.responses[-1].body


def card_text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False)


def open_credit_form(o2c: O2C, customer_id: int) -> dict[str, Any]:
    card = show_card(o2c, "Acme Corp", user_id=FINANCE_ID)
    button = buttons(card)["customer_change_credit"]
    o2c.slack.block_action(
        "customer_change_credit",
        value=button["value"],
        block_id=button["block_id"],
        message=card,
        channel_id=CHANNEL,
        user_id=FINANCE_ID,
    )
    o2c.wait_for(
        lambda: any(
            call.params["view"].get("callback_id") == "customer_credit_form"
            for call in o2c.slack_api.calls_to("views.update")
        ),
        "credit form shown",
    )
    view = o2c.slack_api.calls_to("views.update")[-1].params["view"]
    assert json.loads(view["private_metadata"])["customer_id"] == customer_id
    return view


def submit_credit_form(
    o2c: O2C, view: dict[str, Any], changes: dict[str, Any], user_id: str = FINANCE_ID
) -> Any:
    values = prefilled_state(view)
    values.update(changes)
    response = o2c.slack.view_submission(
        "customer_credit_form",
        values,
        private_metadata=view["private_metadata"],
        user_id=user_id,
    )
    assert response.status_code == 200
    return response


# --------------------------------------------------------------------------- the card


def test_card_shows_credit_quotes_and_payments(o2c: O2C) -> None:
    customer_id = add_customer(o2c)
    paid = add_payment(o2c, customer_id, 20_000, datetime(2026, 11, 20, 10, 0, tzinfo=UTC))
    sent_usd = add_quote(o2c, customer_id, 50_000)
    sent_eur = add_quote(o2c, customer_id, 30_000, currency="EUR")
    draft = add_quote(o2c, customer_id, 12_000, status="draft")
    cancelled = add_quote(o2c, customer_id, 99_000, status="cancelled")

    card = show_card(o2c, "acme corp")

    text = card_text(card)
    assert "Acme Corp" in text
    assert "ap@acme.example" in text
    assert "Net 30" in text
    assert "10,000.00 USD" in text
    assert "*Exposure*\\n500.00 USD" in text
    assert "9,500.00 USD available" in text
    assert "800.00" not in text
    assert "not counted against the USD limit: 300.00 EUR" in text
    assert text.index(draft) < text.index(sent_eur) < text.index(sent_usd)
    assert cancelled not in text
    assert f"`{paid}` · 200.00 USD" in text
    assert "*Credit status*\\nGood" in text


def test_card_hides_finance_buttons_from_others(finance_o2c: O2C) -> None:
    add_customer(finance_o2c)

    rep_card = show_card(finance_o2c, "Acme Corp")
    finance_card = show_card(finance_o2c, "Acme Corp", user_id=FINANCE_ID)

    assert buttons(rep_card) == {}
    assert set(buttons(finance_card)) == {"customer_change_credit", "customer_hold"}


def test_card_exposure_per_currency_without_limit(o2c: O2C) -> None:
    customer_id = add_customer(o2c, credit_limit=None, credit_currency=None)
    add_quote(o2c, customer_id, 50_000)
    add_quote(o2c, customer_id, 30_000, currency="EUR")

    text = card_text(show_card(o2c, "Acme Corp"))

    assert "*Credit limit*\\nNo limit" in text
    assert "*Exposure*\\n300.00 EUR\\n500.00 USD" in text
    assert "800.00" not in text


def test_card_marks_hold(o2c: O2C) -> None:
    add_customer(o2c, credit_status=CreditStatus.HOLD)

    text = card_text(show_card(o2c, "Acme Corp"))

    assert ":no_entry: On hold" in text


def test_exact_name_wins_over_partial(o2c: O2C) -> None:
    add_customer(o2c, "Acme")
    add_customer(o2c, "Acme Corp")

    card = show_card(o2c, "ACME")

    assert card["blocks"][0]["type"] == "header"
    assert card["blocks"][0]["text"]["text"] == "Acme"


def test_several_matches_listed(o2c: O2C) -> None:
    add_customer(o2c, "Acme Corp")
    labs_id = add_customer(o2c, "Acme Labs")
    add_customer(o2c, "Beta GmbH")

    reply = show_card(o2c, "acme")

    text = card_text(reply)
    assert "2 customers match 'acme'" in text
    assert "Acme Corp" in text
    assert "Acme Labs" in text
    assert "Beta GmbH" not in text

    show = next(
        block["accessory"]
        for block in reply["blocks"]
        if block.get("accessory") and "Acme Labs" in block["text"]["text"]
    )
    before = len(o2c.slack_api.responses)
    o2c.slack.block_action("customer_show", value=show["value"], message=reply, channel_id=CHANNEL)
    o2c.wait_for(lambda: len(o2c.slack_api.responses) > before, "card shown")
    card_reply = o2c.slack_api.responses[-1].body
    assert show["value"] == str(labs_id)
    assert card_reply["replace_original"] is True
    assert card_reply["blocks"][0]["text"]["text"] == "Acme Labs"


def test_no_match_message(o2c: O2C) -> None:
    add_customer(o2c)

    reply = show_card(o2c, "Zeta <!channel>")

    assert reply["text"].startswith("No customer matches 'Zeta &lt;!channel&gt;'")
    assert reply["blocks"] == []


def test_no_text_shows_usage(o2c: O2C) -> None:
    response = o2c.slack.slash_command("/customer", "  ")

    assert "Usage: `/customer NAME`" in response.text


def test_like_wildcards_match_literally(o2c: O2C) -> None:
    add_customer(o2c, "Acme Corp")

    reply = show_card(o2c, "%")

    assert reply["text"].startswith("No customer matches '%'")


# --------------------------------------------------------------------------- hold and release


def test_non_finance_hold_refused(finance_o2c: O2C) -> None:
    customer_id = add_customer(finance_o2c)
    finance_card = show_card(finance_o2c, "Acme Corp", user_id=FINANCE_ID)

    reply = press_on_card(finance_o2c, finance_card, "customer_hold", user_id="U0REP")

    assert reply is not None
    assert "Only finance users can change" in reply["text"]
    assert reply["replace_original"] is False
    assert the_customer(finance_o2c, customer_id).credit_status == CreditStatus.GOOD
    assert audit_rows(finance_o2c) == []


def test_hold_refused_without_finance_users(o2c: O2C) -> None:
    customer_id = add_customer(o2c)
    card = show_card(o2c, "Acme Corp")
    forged = {
        **card,
        "blocks": [
            *card["blocks"],
            {
                "type": "actions",
                "block_id": "forged",
                "elements": [
                    {"type": "button", "action_id": "customer_hold", "value": str(customer_id)}
                ],
            },
        ],
    }

    reply = press_on_card(o2c, forged, "customer_hold", user_id="U0REP")

    assert reply is not None
    assert "Only finance users can change" in reply["text"]
    assert the_customer(o2c, customer_id).credit_status == CreditStatus.GOOD
    assert audit_rows(o2c) == []


def test_finance_hold_and_release_audited(finance_o2c: O2C) -> None:
    customer_id = add_customer(finance_o2c)
    card = show_card(finance_o2c, "Acme Corp", user_id=FINANCE_ID)

    hold_reply = press_on_card(finance_o2c, card, "customer_hold", user_id=FINANCE_ID)

    assert hold_reply is not None
    assert hold_reply["replace_original"] is True
    assert ":no_entry: On hold" in card_text(hold_reply)
    assert "customer_release" in buttons(hold_reply)
    assert the_customer(finance_o2c, customer_id).credit_status == CreditStatus.HOLD
    rows = audit_rows(finance_o2c)
    assert [row.action for row in rows] == ["customer_credit_status_changed"]
    assert rows[0].actor == FINANCE_ID
    assert rows[0].entity_id == customer_id
    assert json.loads(rows[0].detail) == {"old": "good", "new": "hold"}

    redrawn = {**card, "blocks": hold_reply["blocks"]}
    released = press_on_card(finance_o2c, redrawn, "customer_release", user_id=FINANCE_ID)

    assert released is not None
    assert "customer_hold" in buttons(released)
    assert the_customer(finance_o2c, customer_id).credit_status == CreditStatus.GOOD
    assert len(audit_rows(finance_o2c)) == 2


# --------------------------------------------------------------------------- the credit form


def test_change_credit_refused_for_non_finance(finance_o2c: O2C) -> None:
    add_customer(finance_o2c)
    finance_card = show_card(finance_o2c, "Acme Corp", user_id=FINANCE_ID)

    reply = press_on_card(finance_o2c, finance_card, "customer_change_credit", user_id="U0REP")

    assert reply is not None
    assert "Only finance users can change" in reply["text"]
    assert finance_o2c.slack_api.calls_to("views.open") == []


def test_credit_form_prefilled(finance_o2c: O2C) -> None:
    customer_id = add_customer(finance_o2c)

    view = open_credit_form(finance_o2c, customer_id)

    state = prefilled_state(view)
    assert state["credit_limit"]["value"]["value"] == "10000.00"
    assert state["credit_currency"]["value"]["selected_option"]["value"] == "USD"
    assert state["payment_terms"]["value"]["selected_option"]["value"] == "net_30"
    assert state["credit_status"]["value"]["selected_option"]["value"] == "good"
    opened = finance_o2c.slack_api.calls_to("views.open")
    assert len(opened) == 1


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("12,50", "uses a decimal comma"),
        ("-100", "is negative"),
        ("10.123", "too many decimals"),
        ("ten", "is not a number"),
        ("30000000", "is too large"),
    ],
)
def test_credit_form_rejects_bad_limit(finance_o2c: O2C, limit: str, message: str) -> None:
    customer_id = add_customer(finance_o2c)
    view = open_credit_form(finance_o2c, customer_id)

    response = submit_credit_form(
        finance_o2c,
        view,
        {
            "credit_limit": {"value": plain_text_value(limit)},
            "credit_status": {"value": static_select_value("hold", "On hold")},
        },
    )

    body = response.json()
    assert body["response_action"] == "errors"
    assert list(body["errors"]) == ["credit_limit"]
    assert message in body["errors"]["credit_limit"]
    customer = the_customer(finance_o2c, customer_id)
    assert customer.credit_limit == 1_000_000
    assert customer.credit_status == CreditStatus.GOOD
    assert audit_rows(finance_o2c) == []


def test_credit_form_saves_every_field(finance_o2c: O2C) -> None:
    customer_id = add_customer(finance_o2c)
    view = open_credit_form(finance_o2c, customer_id)

    response = submit_credit_form(
        finance_o2c,
        view,
        {
            "credit_limit": {"value": plain_text_value("25,000.50")},
            "credit_currency": {"value": static_select_value("EUR", "EUR")},
            "payment_terms": {"value": static_select_value("net_60", "Net 60")},
            "credit_status": {"value": static_select_value("hold", "On hold")},
        },
    )

    assert response.text == ""
    finance_o2c.wait_for(lambda: finance_o2c.slack_api.calls_to("chat.postMessage"), "DM sent")
    customer = the_customer(finance_o2c, customer_id)
    assert customer.credit_limit == 2_500_050
    assert customer.credit_currency == "EUR"
    assert customer.payment_terms_days == 60
    assert customer.credit_status == CreditStatus.HOLD
    rows = audit_rows(finance_o2c)
    assert sorted(row.action for row in rows) == [
        "customer_credit_currency_changed",
        "customer_credit_limit_changed",
        "customer_credit_status_changed",
        "customer_payment_terms_days_changed",
    ]
    assert {row.actor for row in rows} == {FINANCE_ID}
    limit_row = next(row for row in rows if row.action == "customer_credit_limit_changed")
    assert json.loads(limit_row.detail) == {"old": 1_000_000, "new": 2_500_050}

    dm = finance_o2c.slack_api.calls_to("chat.postMessage")[-1].params
    assert dm["channel"] == FINANCE_ID
    blocks = json.dumps(dm["blocks"])
    assert "Updated credit limit, limit currency, payment terms, credit status" in blocks
    assert "25,000.50 EUR" in blocks
    assert "Net 60" in blocks


def test_credit_form_empty_limit_removes_limit(finance_o2c: O2C) -> None:
    customer_id = add_customer(finance_o2c)
    view = open_credit_form(finance_o2c, customer_id)

    submit_credit_form(finance_o2c, view, {"credit_limit": {"value": plain_text_value("")}})

    finance_o2c.wait_for(lambda: finance_o2c.slack_api.calls_to("chat.postMessage"), "DM sent")
    customer = the_customer(finance_o2c, customer_id)
    assert customer.credit_limit is None
    assert customer.credit_currency is None
    assert sorted(row.action for row in audit_rows(finance_o2c)) == [
        "customer_credit_currency_changed",
        "customer_credit_limit_changed",
    ]


def test_credit_form_unchanged_writes_no_audit(finance_o2c: O2C) -> None:
    customer_id = add_customer(finance_o2c)
    view = open_credit_form(finance_o2c, customer_id)

    submit_credit_form(finance_o2c, view, {})

    finance_o2c.wait_for(lambda: finance_o2c.slack_api.calls_to("chat.postMessage"), "DM sent")
    assert audit_rows(finance_o2c) == []
    dm = finance_o2c.slack_api.calls_to("chat.postMessage")[-1].params
    assert "Nothing changed for Acme Corp" in dm["text"]


def test_credit_form_submission_refused_for_non_finance(finance_o2c: O2C) -> None:
    customer_id = add_customer(finance_o2c)
    view = open_credit_form(finance_o2c, customer_id)

    response = submit_credit_form(
        finance_o2c,
        view,
        {"credit_status": {"value": static_select_value("hold", "On hold")}},
        user_id="U0REP",
    )

    body = response.json()
    assert body["response_action"] == "update"
    assert "Only finance users can change" in json.dumps(body["view"])
    assert the_customer(finance_o2c, customer_id).credit_status == CreditStatus.GOOD
    assert audit_rows(finance_o2c) == []
    assert finance_o2c.slack_api.calls_to("chat.postMessage") == []
