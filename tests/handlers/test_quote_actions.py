"""The quote message's buttons: payment link, edit and cancel, and who may press them."""

import json
import threading

from sqlmodel import select

from jobs.maintenance import retire_links
from models.audit import AuditEntry
from models.payment import PaymentLink
from models.quote import QuoteStatus
from tests.catalog_data import load_catalog
from tests.conftest import MANAGER_ID, O2C
from tests.handlers.helpers import (
    buttons,
    current,
    ephemeral_texts,
    press,
    replies,
    the_quote,
    wait_for_quote_message,
)
from tests.slack_requests import plain_text_value


def make_quote(
    o2c: O2C, text: str = 'Acme Corp; 3 x WIDGET-1; 2 x "Setup" @ 500; discount 10%; tax 8.25%'
) -> dict:
    with o2c.new_session() as session:
        load_catalog(session)
    o2c.slack.slash_command("/quote", text)
    return wait_for_quote_message(o2c)


def send_link(o2c: O2C, message: dict, user_id: str = "U0REP") -> dict:
    press(o2c, message, "quote_send_link", user_id=user_id)
    o2c.wait_for(lambda: the_quote(o2c).status == QuoteStatus.SENT, "quote sent")
    o2c.wait_for(lambda: "quote_send_link" not in buttons(current(o2c, message)), "message redrawn")
    return o2c.stripe_api.objects("payment_link")[0]


def link_rows(o2c: O2C) -> list[PaymentLink]:
    with o2c.new_session() as session:
        return list(session.exec(select(PaymentLink)).all())


def test_send_link_charges_exactly_the_total(o2c: O2C) -> None:
    message = make_quote(o2c)

    link = send_link(o2c, message)

    quote = the_quote(o2c)
    request = next(
        r for r in o2c.stripe_api.requests if r.method == "POST" and r.path == "/v1/payment_links"
    )
    charged = sum(
        item["price_data"]["unit_amount"] * item["quantity"]
        for item in request.params["line_items"]
    )
    assert charged == quote.total_amount
    assert "1,032.67 USD" in json.dumps(current(o2c, message)["blocks"])
    assert request.params["restrictions"] == {"completed_sessions": {"limit": 1}}
    assert request.params["metadata"]["o2c_quote_version"] == "1"
    assert request.params["payment_intent_data"]["metadata"]["o2c_quote_id"] == str(quote.id)
    assert request.idempotency_key == f"o2c-quote-{quote.id}-v1-payment-link"
    assert link["active"] is True


def test_send_link_posts_link_in_thread(o2c: O2C) -> None:
    message = make_quote(o2c)

    link = send_link(o2c, message)
    o2c.deliver_alerts()

    thread = replies(o2c, message)
    assert len(thread) == 1
    assert link["url"] in thread[0]["text"]
    assert "Pay Q-" in json.dumps(current(o2c, message)["blocks"])


def test_recurring_quote_gets_subscription_link(o2c: O2C) -> None:
    message = make_quote(o2c, "Acme Corp; 10 x SEAT")

    send_link(o2c, message)

    request = next(r for r in o2c.stripe_api.requests if r.path == "/v1/payment_links")
    assert request.params["line_items"][0]["price_data"]["recurring"] == {"interval": "month"}
    assert request.params["line_items"][0]["quantity"] == 10
    assert "subscription_data" in request.params
    assert "per month" in json.dumps(current(o2c, message)["blocks"])


def test_other_rep_press_is_refused(o2c: O2C) -> None:
    message = make_quote(o2c)

    press(o2c, message, "quote_send_link", user_id="U0OTHER")

    o2c.wait_for(lambda: ephemeral_texts(o2c), "refusal")
    assert "Only <@U0REP>, who owns quote" in ephemeral_texts(o2c)[0]
    assert the_quote(o2c).status == QuoteStatus.DRAFT
    assert o2c.stripe_api.requests == []


def test_manager_may_send_link(o2c: O2C) -> None:
    message = make_quote(o2c)

    send_link(o2c, message, user_id=MANAGER_ID)

    with o2c.new_session() as session:
        sent = session.exec(select(AuditEntry).where(AuditEntry.action == "quote_sent")).one()
    assert sent.actor == MANAGER_ID


def test_double_press_makes_one_link(o2c: O2C) -> None:
    message = make_quote(o2c)

    threads = [
        threading.Thread(target=press, args=(o2c, message, "quote_send_link")) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    o2c.wait_for(lambda: the_quote(o2c).status == QuoteStatus.SENT, "quote sent")
    # Each press ends by redrawing the quote message, whether or not it called Stripe.
    o2c.wait_for(
        lambda: len(o2c.slack_api.calls_to("chat.update")) == 2,
        "both presses finished and redrew the message",
    )
    o2c.deliver_alerts()

    assert len(o2c.stripe_api.objects("payment_link")) == 1
    assert len(link_rows(o2c)) == 1
    assert len(replies(o2c, message)) == 1


def test_stripe_failure_leaves_draft(o2c: O2C) -> None:
    message = make_quote(o2c)
    o2c.stripe_api.fail_next(
        "POST",
        "/v1/payment_links",
        status=400,
        error={"type": "invalid_request_error", "message": "Amount too small"},
    )

    press(o2c, message, "quote_send_link")

    o2c.wait_for(lambda: ephemeral_texts(o2c), "error reply")
    assert "Stripe could not create the payment link" in ephemeral_texts(o2c)[0]
    assert the_quote(o2c).status == QuoteStatus.DRAFT
    assert link_rows(o2c) == []


def test_expired_quote_gets_no_link(o2c: O2C) -> None:
    message = make_quote(o2c, "Acme Corp; 1 x WIDGET-1; valid 2026-12-10")
    o2c.clock.advance(days=7)

    press(o2c, message, "quote_send_link")

    o2c.wait_for(lambda: ephemeral_texts(o2c), "refusal")
    assert "expired on 2026-12-10" in ephemeral_texts(o2c)[0]
    assert o2c.stripe_api.requests == []


def edit_quote(o2c: O2C, message: dict, quantity: str) -> None:
    press(o2c, message, "quote_edit")
    o2c.wait_for(
        lambda: any(
            c.params["view"].get("callback_id") == "quote_form"
            for c in o2c.slack_api.calls_to("views.update")
        ),
        "edit form shown",
    )
    form = next(
        c
        for c in reversed(o2c.slack_api.calls_to("views.update"))
        if c.params["view"].get("callback_id") == "quote_form"
    )
    metadata = form.params["view"]["private_metadata"]
    values = prefilled_state(form.params["view"])
    values["line_0_quantity"] = {"value": plain_text_value(quantity)}

    response = o2c.slack.view_submission("quote_form", values, private_metadata=metadata)
    assert response.text == ""


def prefilled_state(view: dict) -> dict:
    """Turn a view's initial values into the state Slack would submit unchanged."""
    state: dict = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        action_id = element["action_id"]
        if "initial_option" in element:
            state[block["block_id"]] = {
                action_id: {"type": element["type"], "selected_option": element["initial_option"]}
            }
        elif element["type"] == "datepicker":
            state[block["block_id"]] = {
                action_id: {"type": "datepicker", "selected_date": element.get("initial_date")}
            }
        else:
            state[block["block_id"]] = {
                action_id: {"type": element["type"], "value": element.get("initial_value")}
            }
    return state


def test_edit_sent_quote_retires_link(o2c: O2C) -> None:
    message = make_quote(o2c)
    link = send_link(o2c, message)

    edit_quote(o2c, current(o2c, message), "5")
    o2c.wait_for(lambda: the_quote(o2c).version == 2, "new version")
    retire_links(o2c.runtime.services.new_session, o2c.runtime.services.gateway)

    quote = the_quote(o2c)
    assert quote.status == QuoteStatus.DRAFT
    assert quote.lines[0].quantity == 5
    assert o2c.stripe_api.get(link["id"])["active"] is False
    assert [row.retire_pending for row in link_rows(o2c)] == [False]
    o2c.wait_for(
        lambda: "version 2" in json.dumps(current(o2c, message)["blocks"]),
        "message shows version 2",
    )
    assert "quote_send_link" in buttons(current(o2c, message))


def test_stale_button_names_current_version(o2c: O2C) -> None:
    message = make_quote(o2c)
    send_link(o2c, message)
    edit_quote(o2c, current(o2c, message), "5")
    o2c.wait_for(lambda: the_quote(o2c).version == 2, "new version")

    press(o2c, message, "quote_send_link", value=f"{the_quote(o2c).id}:1")

    o2c.wait_for(lambda: ephemeral_texts(o2c), "refusal")
    assert "is now at version 2" in ephemeral_texts(o2c)[-1]
    assert len(link_rows(o2c)) == 1


def test_edit_by_other_rep_shows_refusal(o2c: O2C) -> None:
    message = make_quote(o2c)

    press(o2c, message, "quote_edit", user_id="U0OTHER")

    o2c.wait_for(lambda: o2c.slack_api.calls_to("views.update"), "refusal view")
    view = o2c.slack_api.calls_to("views.update")[-1].params["view"]
    assert "Only <@U0REP>" in json.dumps(view["blocks"])


def test_cancel_retires_link_and_removes_buttons(o2c: O2C) -> None:
    message = make_quote(o2c)
    link = send_link(o2c, message)

    press(o2c, current(o2c, message), "quote_cancel")
    o2c.wait_for(lambda: the_quote(o2c).status == QuoteStatus.CANCELLED, "cancelled")
    retire_links(o2c.runtime.services.new_session, o2c.runtime.services.gateway)

    assert o2c.stripe_api.get(link["id"])["active"] is False
    o2c.wait_for(lambda: buttons(current(o2c, message)) == {}, "buttons removed")


def test_stale_edit_form_rejected(o2c: O2C) -> None:
    message = make_quote(o2c)
    send_link(o2c, message)
    press(o2c, current(o2c, message), "quote_edit")
    o2c.wait_for(
        lambda: any(
            c.params["view"].get("callback_id") == "quote_form"
            for c in o2c.slack_api.calls_to("views.update")
        ),
        "first form",
    )
    stale_form = next(
        c
        for c in o2c.slack_api.calls_to("views.update")
        if c.params["view"].get("callback_id") == "quote_form"
    ).params["view"]

    edit_quote(o2c, current(o2c, message), "5")
    o2c.wait_for(lambda: the_quote(o2c).version == 2, "first edit saved")
    values = prefilled_state(stale_form)
    values["line_0_quantity"] = {"value": plain_text_value("9")}
    response = o2c.slack.view_submission(
        "quote_form", values, private_metadata=stale_form["private_metadata"]
    )

    assert response.json()["response_action"] == "errors"
    assert "changed to version 2 while this form was open" in response.json()["errors"]["customer"]
    assert the_quote(o2c).lines[0].quantity == 5
    assert the_quote(o2c).version == 2


def test_edit_form_other_rep_rejected(o2c: O2C) -> None:
    message = make_quote(o2c)
    press(o2c, message, "quote_edit")
    o2c.wait_for(
        lambda: any(
            c.params["view"].get("callback_id") == "quote_form"
            for c in o2c.slack_api.calls_to("views.update")
        ),
        "form",
    )
    form = next(
        c
        for c in o2c.slack_api.calls_to("views.update")
        if c.params["view"].get("callback_id") == "quote_form"
    ).params["view"]

    response = o2c.slack.view_submission(
        "quote_form",
        prefilled_state(form),
        private_metadata=form["private_metadata"],
        user_id="U0OTHER",
    )

    assert "Only <@U0REP>" in response.json()["errors"]["customer"]
    assert the_quote(o2c).version == 1


def test_text_fallbacks_escape_customer_name(o2c: O2C) -> None:
    message = make_quote(o2c, 'Evil <!channel> <https://evil.example|Inc>; 1 x "Setup" @ 100')

    send_link(o2c, message)
    o2c.deliver_alerts()

    texts = [
        call.params.get("text", "")
        for call in o2c.slack_api.calls
        if call.method in ("chat.postMessage", "chat.update")
    ]
    assert texts
    assert not any("<!channel>" in text or "<https://evil" in text for text in texts)
    assert "Evil &lt;!channel&gt;" in current(o2c, message)["text"]


def test_total_above_stripe_maximum_is_refused(o2c: O2C) -> None:
    message = make_quote(o2c, 'Acme Corp; 1 x "Plant" @ 1,000,000.00')

    press(o2c, message, "quote_send_link")

    o2c.wait_for(lambda: ephemeral_texts(o2c), "refusal")
    assert "more than Stripe takes in one payment (999,999.99 USD)" in ephemeral_texts(o2c)[0]
    assert o2c.stripe_api.requests == []
