"""`POST /stripe/webhook`: signatures, redeliveries, event types and payments."""

import threading
import time

from sqlmodel import select

from models.outbox import OutboxAlert
from models.payment import Payment
from models.quote import QuoteStatus
from models.stripe_event import ProcessedStripeEvent
from tests.conftest import O2C
from tests.handlers.helpers import buttons, current, the_quote
from tests.handlers.test_quote_actions import make_quote, send_link


def sent_quote(o2c: O2C) -> dict:
    message = make_quote(o2c)
    return send_link(o2c, message)


def test_webhook_payment_redraws_quote_message(o2c: O2C) -> None:
    message = make_quote(o2c)
    link = send_link(o2c, message)
    checkout = o2c.stripe_api.complete_checkout(link["id"])

    o2c.post_stripe_event("checkout.session.completed", checkout)
    o2c.deliver_alerts()

    shown = current(o2c, message)
    assert "Status: *Paid*" in str(shown["blocks"])
    assert buttons(shown) == {}
    assert len(o2c.slack_api.messages("C0PAYMENTS")) == 1


def payments(o2c: O2C) -> list[Payment]:
    with o2c.new_session() as session:
        return list(session.exec(select(Payment)).all())


def alerts(o2c: O2C, kind: str = "payment_received") -> list[OutboxAlert]:
    with o2c.new_session() as session:
        return list(session.exec(select(OutboxAlert).where(OutboxAlert.kind == kind)).all())


def processed_events(o2c: O2C) -> list[ProcessedStripeEvent]:
    with o2c.new_session() as session:
        return list(session.exec(select(ProcessedStripeEvent)).all())


def test_webhook_checkout_completed_marks_paid(o2c: O2C) -> None:
    link = sent_quote(o2c)
    checkout = o2c.stripe_api.complete_checkout(link["id"])

    response = o2c.post_stripe_event("checkout.session.completed", checkout)

    assert response.status_code == 200
    assert the_quote(o2c).status == QuoteStatus.PAID
    [payment] = payments(o2c)
    assert payment.amount == the_quote(o2c).total_amount
    assert payment.currency == "USD"
    assert payment.stripe_checkout_session_id == checkout["id"]
    assert payment.stripe_payment_intent_id == checkout["payment_intent"]
    assert len(alerts(o2c)) == 2


def test_webhook_bad_signature_changes_nothing(o2c: O2C) -> None:
    link = sent_quote(o2c)
    checkout = o2c.stripe_api.complete_checkout(link["id"])
    payload = o2c.stripe_api.event("checkout.session.completed", checkout)
    wrong = o2c.stripe_api.sign(payload, secret="whsec_not_ours")

    response = o2c.http.post(
        f"{o2c.url}/stripe/webhook", content=payload, headers={"Stripe-Signature": wrong}
    )

    assert response.status_code == 400
    assert response.json() == {"error": "invalid signature"}
    assert the_quote(o2c).status == QuoteStatus.SENT
    assert payments(o2c) == []
    assert processed_events(o2c) == []


def test_webhook_stale_signature_is_rejected(o2c: O2C) -> None:
    link = sent_quote(o2c)
    checkout = o2c.stripe_api.complete_checkout(link["id"])
    payload = o2c.stripe_api.event("checkout.session.completed", checkout)
    stale = o2c.stripe_api.sign(payload, timestamp=int(time.time()) - 600)

    response = o2c.http.post(
        f"{o2c.url}/stripe/webhook", content=payload, headers={"Stripe-Signature": stale}
    )

    assert response.status_code == 400
    assert payments(o2c) == []


def test_webhook_tampered_body_is_rejected(o2c: O2C) -> None:
    link = sent_quote(o2c)
    checkout = o2c.stripe_api.complete_checkout(link["id"])
    payload = o2c.stripe_api.event("checkout.session.completed", checkout)
    signature = o2c.stripe_api.sign(payload)
    tampered = payload.replace(b'"amount_total": ', b'"amount_total": 1')

    response = o2c.http.post(
        f"{o2c.url}/stripe/webhook", content=tampered, headers={"Stripe-Signature": signature}
    )

    assert response.status_code == 400
    assert payments(o2c) == []


def test_webhook_missing_signature_header(o2c: O2C) -> None:
    response = o2c.http.post(f"{o2c.url}/stripe/webhook", content=b"{}")

    assert response.status_code == 400
    assert response.json() == {"error": "missing Stripe-Signature header"}


def test_webhook_signed_garbage_is_rejected(o2c: O2C) -> None:
    payload = b"not json"

    response = o2c.http.post(
        f"{o2c.url}/stripe/webhook",
        content=payload,
        headers={"Stripe-Signature": o2c.stripe_api.sign(payload)},
    )

    assert response.status_code == 400


def test_webhook_event_without_object_is_rejected(o2c: O2C) -> None:
    payload = b'{"id": "evt_1", "type": "checkout.session.completed", "data": {}}'

    response = o2c.http.post(
        f"{o2c.url}/stripe/webhook",
        content=payload,
        headers={"Stripe-Signature": o2c.stripe_api.sign(payload)},
    )

    assert response.status_code == 400
    assert processed_events(o2c) == []


def test_webhook_ignores_unhandled_type(o2c: O2C) -> None:
    response = o2c.post_stripe_event("customer.created", {"id": "cus_1", "object": "customer"})

    assert response.status_code == 200
    assert response.json() == {"received": True, "handled": False}
    assert processed_events(o2c) == []


def test_webhook_redelivery_changes_nothing(o2c: O2C) -> None:
    link = sent_quote(o2c)
    checkout = o2c.stripe_api.complete_checkout(link["id"])
    first = o2c.post_stripe_event(
        "checkout.session.completed", checkout, event_id="evt_redelivered"
    )

    second = o2c.post_stripe_event(
        "checkout.session.completed", checkout, event_id="evt_redelivered"
    )

    assert first.json()["handled"] is True
    assert second.status_code == 200
    assert second.json()["duplicate"] is True
    assert len(payments(o2c)) == 1
    assert len(alerts(o2c)) == 2
    assert len(processed_events(o2c)) == 1


def test_webhook_concurrent_redelivery_records_once(o2c: O2C) -> None:
    link = sent_quote(o2c)
    checkout = o2c.stripe_api.complete_checkout(link["id"])
    statuses: list[int] = []

    def deliver() -> None:
        statuses.append(
            o2c.post_stripe_event(
                "checkout.session.completed", checkout, event_id="evt_race"
            ).status_code
        )

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200, 200, 200, 200]
    assert len(payments(o2c)) == 1
    assert len(alerts(o2c)) == 2


def test_webhook_same_session_in_two_events_pays_once(o2c: O2C) -> None:
    link = sent_quote(o2c)
    checkout = o2c.stripe_api.complete_checkout(link["id"])

    o2c.post_stripe_event("checkout.session.completed", checkout)
    o2c.post_stripe_event("checkout.session.async_payment_succeeded", checkout)

    assert len(payments(o2c)) == 1


def test_webhook_unpaid_session_waits_for_async_success(o2c: O2C) -> None:
    link = sent_quote(o2c)
    checkout = o2c.stripe_api.complete_checkout(link["id"], payment_status="unpaid")

    o2c.post_stripe_event("checkout.session.completed", checkout)
    assert the_quote(o2c).status == QuoteStatus.SENT

    o2c.post_stripe_event(
        "checkout.session.async_payment_succeeded", {**checkout, "payment_status": "paid"}
    )
    assert the_quote(o2c).status == QuoteStatus.PAID


def test_webhook_amount_mismatch_flags_review(o2c: O2C) -> None:
    link = sent_quote(o2c)
    checkout = o2c.stripe_api.complete_checkout(link["id"], amount_total=100)

    o2c.post_stripe_event("checkout.session.completed", checkout)
    o2c.deliver_alerts()

    [message] = o2c.slack_api.messages("C0PAYMENTS")
    assert "Needs review" in str(message["blocks"])
    assert "1.00 USD was paid but 1,032.67 USD was expected" in str(message["blocks"])


def test_webhook_foreign_checkout_is_ignored(o2c: O2C) -> None:
    response = o2c.post_stripe_event(
        "checkout.session.completed",
        {
            "id": "cs_foreign",
            "object": "checkout.session",
            "payment_status": "paid",
            "amount_total": 500,
            "currency": "usd",
            "metadata": {},
        },
    )

    assert response.status_code == 200
    assert payments(o2c) == []


def test_webhook_payment_deactivates_link(o2c: O2C) -> None:
    from jobs.maintenance import retire_links

    link = sent_quote(o2c)
    checkout = o2c.stripe_api.complete_checkout(link["id"])
    o2c.post_stripe_event("checkout.session.completed", checkout)

    retire_links(o2c.runtime.services.new_session, o2c.runtime.services.gateway)

    deactivations = [
        r
        for r in o2c.stripe_api.requests
        if r.path == f"/v1/payment_links/{link['id']}" and r.method == "POST"
    ]
    assert len(deactivations) == 1
    assert deactivations[0].params == {"active": False}


def test_webhook_underpayment_shows_on_quote(o2c: O2C) -> None:
    message = make_quote(o2c)
    link = send_link(o2c, message)
    checkout = o2c.stripe_api.complete_checkout(link["id"], amount_total=100)

    o2c.post_stripe_event("checkout.session.completed", checkout)
    o2c.deliver_alerts()

    shown = str(current(o2c, message)["blocks"])
    assert "Payments received (1.00 USD) do not match the total of 1,032.67 USD" in shown
