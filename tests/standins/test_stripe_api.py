"""Tests for the Stripe stand-in, driven only through the official `stripe` client."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import stripe

from tests.standins.stripe_api import StripeStandIn

TEST_KEY = "sk_test_standin_suite"


@pytest.fixture
def standin() -> Iterator[StripeStandIn]:
    with StripeStandIn() as running:
        yield running


def make_client(standin: StripeStandIn, *, retries: int = 0, key: str = TEST_KEY) -> Any:
    return stripe.StripeClient(
        key, base_addresses={"api": standin.base_url}, max_network_retries=retries
    )


@pytest.fixture
def client(standin: StripeStandIn) -> Any:
    return make_client(standin)


def inline_link_params(*, limit: int = 1, order_id: str = "42") -> dict[str, Any]:
    return {
        "line_items": [
            {
                "price_data": {
                    "currency": "usd",
                    "product_data": {"name": "Widget, blue"},
                    "unit_amount": 1250,
                },
                "quantity": 4,
            },
            {
                "price_data": {
                    "currency": "usd",
                    "product_data": {"name": "Setup fee"},
                    "unit_amount": 5000,
                },
                "quantity": 1,
            },
        ],
        "metadata": {"o2c_order_id": order_id},
        "restrictions": {"completed_sessions": {"limit": limit}},
        "payment_intent_data": {"metadata": {"o2c_order_id": order_id}},
    }


def count_objects(standin: StripeStandIn, object_type: str) -> int:
    return len(standin.objects(object_type))


# --------------------------------------------------------------------------- payment links


def test_payment_link_create_inline_price_data(standin: StripeStandIn, client: Any) -> None:
    link = client.v1.payment_links.create(inline_link_params(limit=3))

    assert link.id.startswith("plink_")
    assert link.object == "payment_link"
    assert link.url.startswith("https://buy.stripe.com/test_")
    assert link.active is True
    assert link.currency == "usd"
    assert link.metadata.to_dict() == {"o2c_order_id": "42"}
    assert link.restrictions.to_dict() == {"completed_sessions": {"count": 0, "limit": 3}}
    assert link.payment_intent_data.metadata.to_dict() == {"o2c_order_id": "42"}
    assert link.subscription_data is None
    assert link.livemode is False


def test_payment_link_line_items_list(standin: StripeStandIn, client: Any) -> None:
    link = client.v1.payment_links.create(inline_link_params())

    items = client.v1.payment_links.line_items.list(link.id, {"expand": ["data.price.product"]})

    assert [item.quantity for item in items.data] == [4, 1]
    assert [item.amount_total for item in items.data] == [5000, 5000]
    assert items.data[0].description == "Widget, blue"
    assert items.data[0].price.unit_amount == 1250
    assert items.data[0].price.product.name == "Widget, blue"
    assert items.has_more is False
    assert items.url == f"/v1/payment_links/{link.id}/line_items"


def test_payment_link_records_decoded_params(standin: StripeStandIn, client: Any) -> None:
    client.v1.payment_links.create(inline_link_params(), {"idempotency_key": "order-42-link"})

    recorded = standin.requests[-1]
    assert recorded.method == "POST"
    assert recorded.path == "/v1/payment_links"
    assert recorded.idempotency_key == "order-42-link"
    assert recorded.params["line_items"][0]["quantity"] == 4
    assert recorded.params["line_items"][1]["price_data"]["product_data"]["name"] == "Setup fee"
    assert recorded.stripe_version == stripe.api_version


def test_payment_link_existing_price(standin: StripeStandIn, client: Any) -> None:
    product = client.v1.products.create({"name": "Pallet"})
    price = client.v1.prices.create({"currency": "eur", "product": product.id, "unit_amount": 900})

    link = client.v1.payment_links.create({"line_items": [{"price": price.id, "quantity": 2}]})

    assert link.currency == "eur"
    items = client.v1.payment_links.line_items.list(link.id)
    assert items.data[0].price.id == price.id
    assert items.data[0].amount_subtotal == 1800


def test_payment_link_idempotent_replay(standin: StripeStandIn, client: Any) -> None:
    options = {"idempotency_key": "quote-7-link"}

    first = client.v1.payment_links.create(inline_link_params(), options)
    second = client.v1.payment_links.create(inline_link_params(), options)

    assert second.id == first.id
    assert second.url == first.url
    assert count_objects(standin, "payment_link") == 1
    assert count_objects(standin, "product") == 2
    assert second.last_response.headers.get("Idempotent-Replayed") == "true"
    assert first.last_response.headers.get("Idempotent-Replayed") is None


def test_payment_link_conflicting_replay_rejected(standin: StripeStandIn, client: Any) -> None:
    options = {"idempotency_key": "quote-8-link"}
    client.v1.payment_links.create(inline_link_params(order_id="8"), options)

    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.payment_links.create(inline_link_params(order_id="9"), options)

    assert caught.value.http_status == 400
    assert "same parameters" in str(caught.value.user_message)
    assert count_objects(standin, "payment_link") == 1


def test_idempotency_key_other_endpoint_rejected(standin: StripeStandIn, client: Any) -> None:
    options = {"idempotency_key": "shared-key"}
    client.v1.customers.create({"email": "a@example.com"}, options)

    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.products.create({"name": "Crate"}, options)

    assert "same endpoint" in str(caught.value.user_message)
    assert count_objects(standin, "product") == 0


def test_payment_link_misspelled_nested_param(standin: StripeStandIn, client: Any) -> None:
    params = inline_link_params()
    params["line_items"][0]["price_dataa"] = params["line_items"][0].pop("price_data")

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_links.create(params)

    error = caught.value
    assert error.http_status == 400
    assert error.code == "parameter_unknown"
    assert error.param == "line_items[0][price_dataa]"
    assert error.user_message == "Received unknown parameter: line_items[0][price_dataa]"
    assert count_objects(standin, "payment_link") == 0
    assert count_objects(standin, "price") == 0


def test_payment_link_misspelled_deep_param(standin: StripeStandIn, client: Any) -> None:
    params = inline_link_params()
    params["line_items"][0]["price_data"]["product_data"]["nmae"] = "typo"

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_links.create(params)

    assert caught.value.param == "line_items[0][price_data][product_data][nmae]"


def test_payment_link_missing_line_items(standin: StripeStandIn, client: Any) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_links.create({"metadata": {"o2c_order_id": "1"}})

    assert caught.value.code == "parameter_missing"
    assert caught.value.param == "line_items"


def test_payment_link_missing_nested_quantity(standin: StripeStandIn, client: Any) -> None:
    params = inline_link_params()
    del params["line_items"][1]["quantity"]

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_links.create(params)

    assert caught.value.code == "parameter_missing"
    assert caught.value.param == "line_items[1][quantity]"


def test_payment_link_invalid_integer(standin: StripeStandIn, client: Any) -> None:
    params = inline_link_params()
    params["line_items"][0]["quantity"] = "four"

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_links.create(params)

    assert caught.value.code == "parameter_invalid_integer"
    assert caught.value.param == "line_items[0][quantity]"


def test_payment_link_unknown_price(standin: StripeStandIn, client: Any) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_links.create({"line_items": [{"price": "price_nope", "quantity": 1}]})

    assert caught.value.code == "resource_missing"
    assert caught.value.param == "line_items[0][price]"


def test_payment_link_unknown_id(standin: StripeStandIn, client: Any) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_links.retrieve("plink_doesnotexist")

    assert caught.value.http_status == 404
    assert caught.value.code == "resource_missing"


def test_payment_link_update_active_and_metadata(standin: StripeStandIn, client: Any) -> None:
    link = client.v1.payment_links.create(inline_link_params())

    updated = client.v1.payment_links.update(
        link.id, {"active": False, "metadata": {"o2c_order_id": "", "note": "cancelled"}}
    )

    assert updated.active is False
    assert updated.metadata.to_dict() == {"note": "cancelled"}
    assert client.v1.payment_links.retrieve(link.id).active is False
    with pytest.raises(ValueError, match="inactive"):
        standin.complete_checkout(link.id)


def test_payment_link_list_filters_active(standin: StripeStandIn, client: Any) -> None:
    active_link = client.v1.payment_links.create(inline_link_params())
    closed = client.v1.payment_links.create(inline_link_params())
    client.v1.payment_links.update(closed.id, {"active": False})

    listed = client.v1.payment_links.list({"active": True})

    assert [link.id for link in listed.data] == [active_link.id]


# --------------------------------------------------------------------------- checkout


def test_complete_checkout_session_fields(standin: StripeStandIn, client: Any) -> None:
    link = client.v1.payment_links.create(inline_link_params(limit=2, order_id="77"))

    session = standin.complete_checkout(link.id)

    assert session["object"] == "checkout.session"
    assert session["id"].startswith("cs_test_")
    assert session["payment_link"] == link.id
    assert session["metadata"] == {"o2c_order_id": "77"}
    assert session["amount_total"] == 10_000
    assert session["amount_subtotal"] == 10_000
    assert session["currency"] == "usd"
    assert session["mode"] == "payment"
    assert session["status"] == "complete"
    assert session["payment_status"] == "paid"
    assert session["payment_intent"].startswith("pi_")
    assert session["subscription"] is None
    assert session["customer_details"]["email"] == "buyer@example.com"
    assert client.v1.customers.retrieve(session["customer"]).email == "buyer@example.com"


def test_complete_checkout_deactivates_at_limit(standin: StripeStandIn, client: Any) -> None:
    link = client.v1.payment_links.create(inline_link_params(limit=1))

    standin.complete_checkout(link.id, amount_total=9_000, payment_status="unpaid")

    stored = client.v1.payment_links.retrieve(link.id)
    assert stored.active is False
    assert stored.restrictions.completed_sessions.count == 1
    with pytest.raises(ValueError, match="inactive"):
        standin.complete_checkout(link.id)


def test_complete_checkout_amount_override(standin: StripeStandIn, client: Any) -> None:
    link = client.v1.payment_links.create(inline_link_params(limit=1))

    session = standin.complete_checkout(link.id, amount_total=9_000, payment_status="unpaid")

    assert session["amount_total"] == 9_000
    assert session["amount_subtotal"] == 10_000
    assert session["payment_status"] == "unpaid"


def test_complete_checkout_limit_reached_after_reactivation(
    standin: StripeStandIn, client: Any
) -> None:
    link = client.v1.payment_links.create(inline_link_params(limit=1))
    standin.complete_checkout(link.id)
    client.v1.payment_links.update(link.id, {"active": True})

    with pytest.raises(ValueError, match="limit"):
        standin.complete_checkout(link.id)


def test_complete_checkout_subscription_mode(standin: StripeStandIn, client: Any) -> None:
    link = client.v1.payment_links.create(
        {
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "product_data": {"name": "Support plan"},
                        "unit_amount": 30_000,
                        "recurring": {"interval": "month"},
                    },
                    "quantity": 1,
                }
            ],
            "subscription_data": {"metadata": {"o2c_order_id": "5"}},
        }
    )

    session = standin.complete_checkout(link.id)

    assert link.subscription_data.metadata.to_dict() == {"o2c_order_id": "5"}
    assert session["mode"] == "subscription"
    assert session["subscription"].startswith("sub_")
    assert session["payment_intent"] is None
    assert session["amount_total"] == 30_000


def test_checkout_sessions_list_and_retrieve(standin: StripeStandIn, client: Any) -> None:
    link = client.v1.payment_links.create(inline_link_params(limit=5))
    other = client.v1.payment_links.create(inline_link_params(limit=5))
    first = standin.complete_checkout(link.id)
    second = standin.complete_checkout(link.id)
    standin.complete_checkout(other.id)

    listed = client.v1.checkout.sessions.list({"payment_link": link.id})
    retrieved = client.v1.checkout.sessions.retrieve(first["id"], {"expand": ["line_items"]})

    assert [s.id for s in listed.data] == [second["id"], first["id"]]
    assert retrieved.metadata.to_dict() == {"o2c_order_id": "42"}
    assert [item.quantity for item in retrieved.line_items.data] == [4, 1]


# --------------------------------------------------------------------------- webhooks


def test_event_signature_verifies(standin: StripeStandIn, client: Any) -> None:
    link = client.v1.payment_links.create(inline_link_params())
    session = standin.complete_checkout(link.id)

    payload = standin.event("checkout.session.completed", session, event_id="evt_fixed")
    event = stripe.Webhook.construct_event(payload, standin.sign(payload), standin.webhook_secret)

    assert event.id == "evt_fixed"
    assert event.type == "checkout.session.completed"
    assert event.api_version == stripe.api_version
    assert event.livemode is False
    assert event.data.object.id == session["id"]
    assert event.data.object.metadata.to_dict() == {"o2c_order_id": "42"}


def test_event_fresh_ids(standin: StripeStandIn) -> None:
    first = stripe.Webhook.construct_event_without_verification(standin.event("invoice.paid", {}))
    second = stripe.Webhook.construct_event_without_verification(standin.event("invoice.paid", {}))

    assert first.id.startswith("evt_")
    assert first.id != second.id


def test_event_wrong_secret_rejected(standin: StripeStandIn) -> None:
    payload = standin.event("invoice.overdue", {"id": "in_123", "object": "invoice"})
    header = standin.sign(payload, secret="whsec_other")

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, header, standin.webhook_secret)


def test_event_old_timestamp_rejected(standin: StripeStandIn) -> None:
    payload = standin.event("invoice.paid", {"id": "in_123", "object": "invoice"})
    header = standin.sign(payload, timestamp=int(time.time()) - 3600)

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, header, standin.webhook_secret)


# --------------------------------------------------------------------------- prices


def test_price_list_expand_and_pagination(standin: StripeStandIn, client: Any) -> None:
    crate = client.v1.products.create({"name": "Crate"})
    other = client.v1.products.create({"name": "Other"})
    created = [
        client.v1.prices.create({"currency": "usd", "product": crate.id, "unit_amount": amount})
        for amount in (100, 200, 300)
    ]
    client.v1.prices.create({"currency": "usd", "product": other.id, "unit_amount": 999})
    archived = client.v1.prices.create({"currency": "usd", "product": crate.id, "unit_amount": 1})
    client.v1.prices.update(archived.id, {"active": False})

    first_page = client.v1.prices.list(
        {"product": crate.id, "active": True, "limit": 2, "expand": ["data.product"]}
    )
    second_page = client.v1.prices.list(
        {
            "product": crate.id,
            "active": True,
            "limit": 2,
            "starting_after": first_page.data[-1].id,
        }
    )

    assert [p.unit_amount for p in first_page.data] == [300, 200]
    assert first_page.has_more is True
    assert first_page.data[0].product.name == "Crate"
    assert first_page.url == "/v1/prices"
    assert [p.id for p in second_page.data] == [created[0].id]
    assert second_page.has_more is False
    assert second_page.data[0].product == crate.id


def test_price_list_filters_type(standin: StripeStandIn, client: Any) -> None:
    product = client.v1.products.create({"name": "Plan"})
    monthly = client.v1.prices.create(
        {
            "currency": "usd",
            "product": product.id,
            "unit_amount": 500,
            "recurring": {"interval": "month"},
        }
    )
    client.v1.prices.create({"currency": "usd", "product": product.id, "unit_amount": 500})

    listed = client.v1.prices.list({"type": "recurring"})

    assert [p.id for p in listed.data] == [monthly.id]
    assert listed.data[0].recurring.interval == "month"
    assert listed.data[0].recurring.interval_count == 1


def test_price_missing_currency(standin: StripeStandIn, client: Any) -> None:
    product = client.v1.products.create({"name": "Crate"})

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.prices.create({"product": product.id, "unit_amount": 100})

    assert caught.value.code == "parameter_missing"
    assert caught.value.param == "currency"


def test_price_retrieve_expand_product(standin: StripeStandIn, client: Any) -> None:
    price = client.v1.prices.create(
        {"currency": "usd", "product_data": {"name": "Inline"}, "unit_amount": 700}
    )

    retrieved = client.v1.prices.retrieve(price.id, {"expand": ["product"]})

    assert retrieved.product.name == "Inline"
    assert retrieved.unit_amount_decimal == Decimal("700")
    assert retrieved.type == "one_time"


def test_price_invalid_expand(standin: StripeStandIn, client: Any) -> None:
    price = client.v1.prices.create(
        {"currency": "usd", "product_data": {"name": "Inline"}, "unit_amount": 700}
    )

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.prices.retrieve(price.id, {"expand": ["currency"]})

    assert caught.value.param == "expand"


# --------------------------------------------------------------------------- customers


def test_customer_search_metadata_and_email(standin: StripeStandIn, client: Any) -> None:
    acme = client.v1.customers.create(
        {"email": "ap@acme.example", "name": "Acme", "metadata": {"o2c_customer_id": "42"}}
    )
    client.v1.customers.create({"email": "ap@other.example", "metadata": {"o2c_customer_id": "7"}})

    by_metadata = client.v1.customers.search({"query": "metadata['o2c_customer_id']:'42'"})
    by_email = client.v1.customers.search({"query": "email:'AP@acme.example'"})
    nothing = client.v1.customers.search({"query": "metadata['o2c_customer_id']:'99'"})

    assert [c.id for c in by_metadata.data] == [acme.id]
    assert by_metadata.object == "search_result"
    assert by_metadata.has_more is False
    assert [c.id for c in by_email.data] == [acme.id]
    assert nothing.data == []


def test_customer_search_unsupported_query(standin: StripeStandIn, client: Any) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.search({"query": "created>0"})

    assert caught.value.param == "query"


def test_customer_update_merges_metadata(standin: StripeStandIn, client: Any) -> None:
    customer = client.v1.customers.create({"metadata": {"a": "1", "b": "2"}})

    updated = client.v1.customers.update(customer.id, {"metadata": {"b": "", "c": "3"}})

    assert updated.metadata.to_dict() == {"a": "1", "c": "3"}


# --------------------------------------------------------------------------- invoices


def create_invoiced_customer(client: Any) -> Any:
    customer = client.v1.customers.create({"email": "ap@acme.example", "name": "Acme"})
    client.v1.invoice_items.create(
        {"customer": customer.id, "amount": 120_000, "currency": "usd", "description": "Crates"}
    )
    client.v1.invoice_items.create(
        {"customer": customer.id, "amount": 5_000, "currency": "usd", "description": "Freight"}
    )
    return customer


def test_invoice_send_invoice_flow(standin: StripeStandIn, client: Any) -> None:
    customer = create_invoiced_customer(client)

    draft = client.v1.invoices.create(
        {
            "customer": customer.id,
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "pending_invoice_items_behavior": "include",
            "metadata": {"o2c_order_id": "42"},
            "auto_advance": False,
        }
    )
    before_finalize = int(time.time())
    finalized = client.v1.invoices.finalize_invoice(draft.id)
    sent = client.v1.invoices.send_invoice(draft.id)
    paid = standin.pay_invoice(draft.id)

    assert draft.status == "draft"
    assert draft.amount_due == 125_000
    assert draft.total == 125_000
    assert draft.subtotal == 125_000
    assert [line.amount for line in draft.lines.data] == [120_000, 5_000]
    assert draft.hosted_invoice_url is None
    assert draft.customer_email == "ap@acme.example"
    assert finalized.status == "open"
    assert finalized.hosted_invoice_url.startswith("https://invoice.stripe.com/i/test_")
    assert finalized.number is not None
    assert finalized.due_date >= before_finalize + 30 * 86_400
    assert finalized.amount_remaining == 125_000
    assert sent.status == "open"
    assert paid["status"] == "paid"
    assert paid["amount_paid"] == 125_000
    assert paid["amount_remaining"] == 0
    assert client.v1.invoices.retrieve(draft.id).status == "paid"
    assert client.v1.invoices.retrieve(draft.id).metadata.to_dict() == {"o2c_order_id": "42"}


def test_invoice_default_excludes_pending_items(standin: StripeStandIn, client: Any) -> None:
    customer = create_invoiced_customer(client)

    invoice = client.v1.invoices.create(
        {"customer": customer.id, "collection_method": "send_invoice", "days_until_due": 14}
    )

    assert invoice.amount_due == 0
    assert invoice.lines.data == []


def test_invoice_item_added_to_draft(standin: StripeStandIn, client: Any) -> None:
    customer = client.v1.customers.create({"email": "ap@acme.example"})
    invoice = client.v1.invoices.create(
        {"customer": customer.id, "collection_method": "send_invoice", "days_until_due": 14}
    )

    client.v1.invoice_items.create(
        {"customer": customer.id, "invoice": invoice.id, "amount": 700, "currency": "usd"}
    )

    assert client.v1.invoices.retrieve(invoice.id).amount_due == 700


def test_invoice_send_invoice_needs_due_terms(standin: StripeStandIn, client: Any) -> None:
    customer = client.v1.customers.create({"email": "ap@acme.example"})

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.invoices.create({"customer": customer.id, "collection_method": "send_invoice"})

    assert caught.value.param == "days_until_due"


def test_invoice_refinalize_rejected(standin: StripeStandIn, client: Any) -> None:
    customer = create_invoiced_customer(client)
    invoice = client.v1.invoices.create(
        {
            "customer": customer.id,
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "pending_invoice_items_behavior": "include",
        }
    )
    client.v1.invoices.finalize_invoice(invoice.id)

    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.finalize_invoice(invoice.id)


def test_invoice_void_and_list(standin: StripeStandIn, client: Any) -> None:
    customer = create_invoiced_customer(client)
    invoice = client.v1.invoices.create(
        {
            "customer": customer.id,
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "pending_invoice_items_behavior": "include",
        }
    )
    client.v1.invoices.send_invoice(invoice.id)

    voided = client.v1.invoices.void_invoice(invoice.id)
    listed = client.v1.invoices.list({"customer": customer.id, "status": "void"})

    assert voided.status == "void"
    assert voided.status_transitions.voided_at is not None
    assert [i.id for i in listed.data] == [invoice.id]
    with pytest.raises(ValueError, match="void"):
        standin.pay_invoice(invoice.id)


# --------------------------------------------------------------------------- faults and auth


def test_retry_after_injected_500(standin: StripeStandIn) -> None:
    client = make_client(standin, retries=1)
    standin.fail_next("POST", "/v1/customers", status=500)

    customer = client.v1.customers.create({"email": "ap@acme.example"})

    attempts = [r for r in standin.requests if r.path == "/v1/customers"]
    assert customer.email == "ap@acme.example"
    assert len(attempts) == 2
    assert attempts[0].idempotency_key == attempts[1].idempotency_key
    assert count_objects(standin, "customer") == 1


def test_injected_500_without_retries(standin: StripeStandIn, client: Any) -> None:
    standin.fail_next("POST", "/v1/payment_links", status=500)

    with pytest.raises(stripe.APIError):
        client.v1.payment_links.create(inline_link_params())

    assert count_objects(standin, "payment_link") == 0
    assert client.v1.payment_links.create(inline_link_params()).active is True


def test_injected_429_with_should_retry(standin: StripeStandIn) -> None:
    client = make_client(standin, retries=1)
    standin.fail_next(
        "GET", "/v1/prices", status=429, headers={"Stripe-Should-Retry": "true"}, times=1
    )

    listed = client.v1.prices.list()

    assert listed.data == []
    assert len([r for r in standin.requests if r.path == "/v1/prices"]) == 2


def test_injected_429_raises_rate_limit(standin: StripeStandIn, client: Any) -> None:
    standin.fail_next("GET", "/v1/prices", status=429, times=2)

    for _ in range(2):
        with pytest.raises(stripe.RateLimitError):
            client.v1.prices.list()

    assert client.v1.prices.list().data == []


def test_auth_rejects_live_key(standin: StripeStandIn) -> None:
    client = make_client(standin, key="sk_live_notallowed123")

    with pytest.raises(stripe.AuthenticationError) as caught:
        client.v1.products.list()

    assert caught.value.http_status == 401
    assert "sk_live_notallowed123" not in str(caught.value.user_message)


def test_auth_accepts_restricted_key(standin: StripeStandIn) -> None:
    client = make_client(standin, key="rk_test_restricted")

    assert client.v1.products.list().data == []


def test_latency_delays_responses(standin: StripeStandIn, client: Any) -> None:
    standin.latency = 0.3

    started = time.monotonic()
    client.v1.products.list()
    elapsed = time.monotonic() - started

    assert elapsed >= 0.3


def test_latency_overlaps_concurrent_requests(standin: StripeStandIn) -> None:
    standin.latency = 0.5
    clients = [make_client(standin) for _ in range(4)]
    threads = [threading.Thread(target=c.v1.products.list) for c in clients]

    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started

    assert elapsed < 1.5
    assert len(standin.requests) == 4


def test_get_unknown_id_raises(standin: StripeStandIn) -> None:
    with pytest.raises(KeyError):
        standin.get("prod_missing")
