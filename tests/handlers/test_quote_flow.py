"""The whole path: /quote, the payment link button, Stripe's webhook and the alert."""

from sqlmodel import select

from models.quote import Quote, QuoteStatus
from tests.catalog_data import load_catalog
from tests.conftest import O2C


def preview_message(o2c: O2C, channel: str = "C0SALES") -> dict:
    o2c.wait_for(lambda: o2c.slack_api.messages(channel), "quote preview posted")
    return o2c.slack_api.messages(channel)[0]


def replies(o2c: O2C, parent: dict, channel: str = "C0SALES") -> list[dict]:
    return [
        m
        for m in o2c.slack_api.messages(channel)
        if m.get("thread_ts") == parent["ts"] and m["ts"] != parent["ts"]
    ]


def press(o2c: O2C, message: dict, action_id: str, user_id: str = "U0REP"):
    actions = next(block for block in message["blocks"] if block["type"] == "actions")
    button = next(element for element in actions["elements"] if element["action_id"] == action_id)
    return o2c.slack.block_action(
        action_id,
        value=button["value"],
        block_id=actions["block_id"],
        message=message,
        user_id=user_id,
    )


def test_quick_quote_to_payment_alert(o2c: O2C) -> None:
    with o2c.new_session() as session:
        load_catalog(session)

    response = o2c.slack.slash_command(
        "/quote",
        'Acme Corp; 3 x WIDGET-1; 2 x "Setup" @ 500; discount 10%; tax 8.25%; terms net 30',
    )
    assert response.status_code == 200

    message = preview_message(o2c)
    with o2c.new_session() as session:
        quote = session.exec(select(Quote)).one()
    assert quote.number in message["text"]
    assert quote.status == QuoteStatus.DRAFT
    # 105,997 subtotal, 10% off is 10,599.7 -> 10,600, 8.25% tax on 95,397 is 7,870.25 -> 7,870
    assert quote.total_amount == 103267

    press(o2c, message, "quote_send_link")
    o2c.wait_for(lambda: o2c.stripe_api.objects("payment_link"), "payment link created")
    o2c.wait_for(lambda: _status(o2c) == QuoteStatus.SENT, "quote sent")

    link = o2c.stripe_api.objects("payment_link")[0]
    assert link["metadata"]["o2c_quote_id"] == str(quote.id)
    assert o2c.deliver_alerts() == 1
    thread = replies(o2c, message)
    assert link["url"] in thread[0]["text"]

    session_object = o2c.stripe_api.complete_checkout(link["id"])
    response = o2c.post_stripe_event("checkout.session.completed", session_object)
    assert response.status_code == 200
    assert _status(o2c) == QuoteStatus.PAID
    assert o2c.deliver_alerts() == 3  # channel alert, thread reply, message redraw
    payments = o2c.slack_api.messages("C0PAYMENTS")
    assert len(payments) == 1
    assert "Payment received" in payments[0]["text"]


def _status(o2c: O2C) -> QuoteStatus:
    with o2c.new_session() as session:
        return session.exec(select(Quote)).one().status
