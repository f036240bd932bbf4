"""`/quote`: the modal, its searches and inline errors, and the one-line form."""

import json
import time

from sqlalchemy import Engine, text

from models.customer import Customer
from tests.catalog_data import load_catalog
from tests.conftest import O2C
from tests.handlers.helpers import ephemeral_texts, quote_count, the_quote, wait_for_quote_message
from tests.slack_requests import (
    datepicker_value,
    external_select_value,
    plain_text_value,
    static_select_value,
)


def open_form(o2c: O2C) -> dict:
    response = o2c.slack.slash_command("/quote")
    assert response.status_code == 200
    o2c.wait_for(lambda: o2c.slack_api.calls_to("views.open"), "quote modal opened")
    return o2c.slack_api.calls_to("views.open")[-1].params["view"]


def form_values(**overrides: dict) -> dict:
    values = {
        "customer": {
            "customer_select": external_select_value("new:Globex", "New customer: Globex")
        },
        "line_0_product": {
            "product_select": external_select_value("WIDGET-1", "WIDGET-1 · Widget")
        },
        "line_0_description": {"value": plain_text_value("")},
        "line_0_quantity": {"value": plain_text_value("4")},
        "line_0_unit_price": {"value": plain_text_value("")},
        "line_1_product": {"product_select": {"type": "external_select", "selected_option": None}},
        "line_1_description": {"value": plain_text_value("Installation")},
        "line_1_quantity": {"value": plain_text_value("1")},
        "line_1_unit_price": {"value": plain_text_value("1,250.00")},
        "currency": {"value": static_select_value("USD", "USD")},
        "billing": {"value": static_select_value("one_time", "One-time")},
        "terms": {"value": static_select_value("net_30", "Net 30")},
        "discount": {"value": plain_text_value("5")},
        "tax": {"value": plain_text_value("")},
        "valid_until": {"value": datepicker_value("2026-12-31")},
        "notes": {
            "value": plain_text_value("Ships <!here> with the <https://evil.example|March order>")
        },
    }
    values.update(overrides)
    return values


def test_quote_command_opens_modal(o2c: O2C) -> None:
    view = open_form(o2c)

    block_ids = [block.get("block_id") for block in view["blocks"]]
    assert view["callback_id"] == "quote_form"
    assert "customer" in block_ids
    assert "line_2_unit_price" in block_ids
    assert json.loads(view["private_metadata"]) == {"channel_id": "C0SALES", "lines": 3}


def test_quote_command_help_is_ephemeral(o2c: O2C) -> None:
    response = o2c.slack.slash_command("/quote", "help")

    assert response.status_code == 200
    assert "Quick quote" in response.text
    assert quote_count(o2c) == 0


def test_customer_search_offers_create_new(o2c: O2C) -> None:
    with o2c.new_session() as session, session.begin():
        session.add(Customer(name="Acme Corp", created_by="U0REP"))
        session.add(Customer(name="Acme Labs", created_by="U0REP"))
    view = open_form(o2c)

    response = o2c.slack.block_suggestion("customer_select", "acme", block_id="customer", view=view)

    labels = [option["text"]["text"] for option in response.json()["options"]]
    assert labels == ["➕ New customer: acme", "Acme Corp", "Acme Labs"]


def test_product_search_matches_sku_or_name(o2c: O2C) -> None:
    with o2c.new_session() as session:
        load_catalog(session)
    view = open_form(o2c)

    response = o2c.slack.block_suggestion(
        "product_select", "seat", block_id="line_0_product", view=view
    )

    options = response.json()["options"]
    assert [option["value"] for option in options] == ["SEAT"]
    assert options[0]["text"]["text"] == "SEAT · Seat licence · 15.00 USD"


def test_add_line_updates_modal_in_place(o2c: O2C) -> None:
    view = open_form(o2c)
    view_id = next(iter(o2c.slack_api.views))

    o2c.slack.block_action(
        "quote_form_add_line", value="4", block_id="add_line", view={**view, "id": view_id}
    )

    o2c.wait_for(lambda: o2c.slack_api.calls_to("views.update"), "modal updated")
    updated = o2c.slack_api.calls_to("views.update")[-1].params
    assert updated["view_id"] == view_id
    assert json.loads(updated["view"]["private_metadata"])["lines"] == 4
    assert "line_3_quantity" in [block.get("block_id") for block in updated["view"]["blocks"]]


def test_modal_submission_creates_draft_and_preview(o2c: O2C) -> None:
    with o2c.new_session() as session:
        load_catalog(session)
    open_form(o2c)

    response = o2c.slack.view_submission(
        "quote_form",
        form_values(),
        private_metadata=json.dumps({"channel_id": "C0SALES", "lines": 2}),
    )

    assert response.status_code == 200
    assert response.text == ""
    message = wait_for_quote_message(o2c)
    quote = the_quote(o2c)
    assert quote.total_amount == (4 * 1999 + 125000) - 6650  # 5% of 132,996 is 6,649.8 -> 6,650
    assert quote.payment_terms_days == 30
    text = json.dumps(message["blocks"])
    assert "1,263.46 USD" in text
    assert "&lt;!here&gt;" in text
    assert "<!here>" not in text
    assert "&lt;https://evil.example|March order&gt;" in text


def test_modal_errors_show_inline_and_create_nothing(o2c: O2C) -> None:
    with o2c.new_session() as session:
        load_catalog(session)
    values = form_values(
        line_0_quantity={"value": plain_text_value("0")},
        line_1_unit_price={"value": plain_text_value("12,50")},
        discount={"value": plain_text_value("130")},
    )
    values["line_0_product"] = {"product_select": external_select_value("NOPE", "NOPE")}

    response = o2c.slack.view_submission(
        "quote_form", values, private_metadata=json.dumps({"channel_id": "C0SALES", "lines": 2})
    )

    body = response.json()
    assert body["response_action"] == "errors"
    assert "quantity 0 must be from 1" in body["errors"]["line_0_quantity"]
    assert "SKU 'NOPE' is not in the active catalog" in body["errors"]["line_0_product"]
    assert "decimal comma" in body["errors"]["line_1_unit_price"]
    assert "outside 0 to 100" in body["errors"]["discount"]
    assert quote_count(o2c) == 0


def test_modal_error_for_too_many_decimals_in_jpy(o2c: O2C) -> None:
    values = form_values(currency={"value": static_select_value("JPY", "JPY")})
    values["line_0_product"] = {
        "product_select": {"type": "external_select", "selected_option": None}
    }
    values["line_0_description"] = {"value": plain_text_value("Consulting")}
    values["line_0_unit_price"] = {"value": plain_text_value("1500.5")}

    response = o2c.slack.view_submission(
        "quote_form", values, private_metadata=json.dumps({"channel_id": "C0SALES", "lines": 2})
    )

    assert "JPY takes no decimals" in response.json()["errors"]["line_0_unit_price"]
    assert quote_count(o2c) == 0


def test_one_line_catalog_price_in_other_currency(o2c: O2C) -> None:
    with o2c.new_session() as session:
        load_catalog(session)

    o2c.slack.slash_command("/quote", 'Acme Corp; 2 x ONSITE; currency KWD; 1 x "Travel" @ 45.125')

    o2c.wait_for(lambda: ephemeral_texts(o2c), "error reply")
    assert "ONSITE is priced in USD, not KWD" in ephemeral_texts(o2c)[0]
    assert quote_count(o2c) == 0


def test_one_line_quote_in_kwd(o2c: O2C) -> None:
    o2c.slack.slash_command("/quote", 'Acme Corp; 3 x "Travel" @ 45.125; currency KWD')

    message = wait_for_quote_message(o2c)
    assert "135.375 KWD" in json.dumps(message["blocks"])
    assert the_quote(o2c).total_amount == 135375


def test_one_line_bad_input_names_each_problem(o2c: O2C) -> None:
    with o2c.new_session() as session:
        load_catalog(session)

    o2c.slack.slash_command(
        "/quote", "Acme Corp; -2 x WIDGET-1; 1 x NOPE; discount 150%; currency XYZ"
    )

    o2c.wait_for(lambda: ephemeral_texts(o2c), "error reply")
    text = ephemeral_texts(o2c)[0]
    assert "Line 1: quantity '-2' must be a whole number above zero" in text
    assert "Line 2: SKU 'NOPE' is not in the active catalog" in text
    assert "Discount '150%' is outside 0 to 100 percent" in text
    assert "Unknown currency 'XYZ'" in text
    assert quote_count(o2c) == 0
    assert o2c.slack_api.messages("C0SALES") == []


def test_one_line_unknown_segment_is_named(o2c: O2C) -> None:
    o2c.slack.slash_command("/quote", "Acme Corp; 3 x WIDGET-1; ship it fast")

    o2c.wait_for(lambda: ephemeral_texts(o2c), "error reply")
    assert "'ship it fast' is neither a line item" in ephemeral_texts(o2c)[0]
    assert quote_count(o2c) == 0


def test_one_line_quote_falls_back_to_dm(o2c: O2C) -> None:
    o2c.slack_api.add_channel("random", "C0RANDOM", member=False)

    o2c.slack.slash_command("/quote", 'Acme Corp; 1 x "Setup" @ 100', channel_id="C0RANDOM")

    o2c.wait_for(lambda: ephemeral_texts(o2c), "fallback notice")
    assert "direct messages" in ephemeral_texts(o2c)[0]
    assert the_quote(o2c).slack_channel_id.startswith("D")


def test_slash_command_with_bad_signature_is_rejected(o2c: O2C) -> None:
    response = o2c.slack.send(
        "command=%2Fquote&text=Acme%3B+1+x+W",
        headers={"X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=00"},
    )

    assert response.status_code == 401
    assert quote_count(o2c) == 0


def test_quote_takes_customer_terms_by_default(o2c: O2C) -> None:
    with o2c.new_session() as session, session.begin():
        session.add(Customer(name="Acme Corp", created_by="U0REP", payment_terms_days=45))

    o2c.slack.slash_command("/quote", 'Acme Corp; 1 x "Setup" @ 100')
    wait_for_quote_message(o2c)

    assert the_quote(o2c).payment_terms_days == 45


def test_quote_terms_override_customer_terms(o2c: O2C) -> None:
    with o2c.new_session() as session, session.begin():
        session.add(Customer(name="Acme Corp", created_by="U0REP", payment_terms_days=45))

    o2c.slack.slash_command("/quote", 'Acme Corp; 1 x "Setup" @ 100; terms due on receipt')
    wait_for_quote_message(o2c)

    assert the_quote(o2c).payment_terms_days == 0


def test_modal_opens_while_database_is_locked(o2c: O2C, engine: Engine) -> None:
    with engine.connect() as blocker:
        if engine.dialect.name == "sqlite":
            blocker.exec_driver_sql("COMMIT")  # leave the BEGIN IMMEDIATE our engine issued
            blocker.exec_driver_sql("BEGIN EXCLUSIVE")
        else:
            blocker.execute(text("LOCK TABLE customer, product, quote IN ACCESS EXCLUSIVE MODE"))
        started = time.monotonic()

        o2c.slack.slash_command("/quote")
        o2c.wait_for(lambda: o2c.slack_api.calls_to("views.open"), "modal opened", timeout=3)

        assert time.monotonic() - started < 3
        blocker.rollback()

    assert [view["callback_id"] for view in o2c.slack_api.views.values()] == ["quote_form"]
