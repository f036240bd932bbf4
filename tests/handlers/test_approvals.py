"""Deal-desk approvals end to end: tiers, authority, races, versions, credit and reminders."""

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import select

from jobs.approval_reminders import remind_approvers, remind_reps
from models.approval import (
    ApprovalDecision,
    ApprovalRequest,
    FollowUpStatus,
    FollowUpTask,
    RequestStatus,
)
from models.audit import AuditEntry
from models.customer import CreditStatus, Customer
from models.outbox import OutboxAlert
from models.quote import QuoteStatus
from tests.catalog_data import load_catalog
from tests.conftest import O2C
from tests.handlers.helpers import (
    buttons,
    current,
    ephemeral_texts,
    press,
    replies,
    the_quote,
    wait_for_quote_message,
)
from tests.handlers.test_quote_actions import edit_quote
from tests.slack_requests import plain_text_value

POLICY = """
[approvals]
reminder_after = "4h"
escalate_after = "24h"

[[approvals.tiers]]
name = "manager"
label = "Sales manager"
users = ["U0MGR", "U0MGR2"]
escalates_to = "vp"

[[approvals.tiers]]
name = "vp"
label = "VP"
users = ["U0VP"]

[[approvals.tiers]]
name = "finance"
label = "Finance"
usergroups = ["S0FIN"]

[[approvals.rules]]
kind = "discount_above"
percent = "15"
tier = "manager"

[[approvals.rules]]
kind = "discount_above"
percent = "30"
tier = "vp"

[[approvals.rules]]
kind = "credit"
tier = "finance"

[finance]
users = ["U0FIN"]
follow_up_every = "1d"
"""


@pytest.fixture
def desk(o2c_factory: Callable[..., O2C], tmp_path: Path) -> O2C:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    o2c = o2c_factory(config_path=str(policy), deal_desk_channel="deal-desk")
    for user_id, name in [("U0MGR2", "manager2"), ("U0VP", "vp"), ("U0FIN", "finance")]:
        o2c.slack_api.add_user(user_id, name, name.title())
    o2c.slack_api.add_usergroup("S0FIN", "finance", ["U0FIN"])
    with o2c.new_session() as session:
        load_catalog(session)
    return o2c


def quote_for(o2c: O2C, text: str, *, credit_limit: int | None = None, hold: bool = False) -> dict:
    with o2c.new_session() as session, session.begin():
        customer = Customer(
            name="Acme Corp",
            created_by="U0REP",
            credit_limit=credit_limit,
            credit_currency="USD" if credit_limit is not None else None,
            credit_status=CreditStatus.HOLD if hold else CreditStatus.GOOD,
        )
        session.add(customer)
    o2c.slack.slash_command("/quote", f"Acme Corp; {text}")
    return wait_for_quote_message(o2c)


def submit(o2c: O2C, message: dict) -> ApprovalRequest:
    press(o2c, message, "quote_send_link")
    o2c.wait_for(
        lambda: the_quote(o2c).status == QuoteStatus.PENDING_APPROVAL, "quote pending approval"
    )
    o2c.deliver_alerts()
    return the_request(o2c)


def the_request(o2c: O2C) -> ApprovalRequest:
    with o2c.new_session() as session:
        return session.exec(select(ApprovalRequest).order_by(ApprovalRequest.id.desc())).first()  # type: ignore[union-attr]


def decisions(o2c: O2C) -> list[ApprovalDecision]:
    with o2c.new_session() as session:
        return list(session.exec(select(ApprovalDecision).order_by(ApprovalDecision.id)).all())


def request_message(o2c: O2C) -> dict:
    [message] = [
        m
        for m in o2c.slack_api.messages("C0DEALDESK")
        if m.get("blocks") and m.get("thread_ts") in (None, m["ts"])
    ]
    return message


def decide_button(
    o2c: O2C, message: dict, action_id: str, user_id: str, expect_decisions: int | None = None
) -> None:
    before = len(decisions(o2c))
    press(o2c, message, action_id, user_id=user_id)
    if expect_decisions is None:
        o2c.wait_for(
            lambda: len(decisions(o2c)) > before or len(ephemeral_texts(o2c)) > 0,
            f"{user_id} pressed {action_id}",
        )
    else:
        o2c.wait_for(
            lambda: len(decisions(o2c)) == expect_decisions, f"{expect_decisions} decisions"
        )
    o2c.deliver_alerts()


def submit_reason(o2c: O2C, message: dict, action_id: str, user_id: str, reason: str):
    press(o2c, message, action_id, user_id=user_id)
    o2c.wait_for(
        lambda: any(
            c.params["view"].get("callback_id") == "approval_reason"
            for c in o2c.slack_api.calls_to("views.open")
        ),
        "reason modal opened",
    )
    view = [
        c
        for c in o2c.slack_api.calls_to("views.open")
        if c.params["view"].get("callback_id") == "approval_reason"
    ][-1].params["view"]
    return o2c.slack.view_submission(
        "approval_reason",
        {"reason": {"value": plain_text_value(reason)}},
        user_id=user_id,
        private_metadata=view["private_metadata"],
    )


def links(o2c: O2C) -> list[dict]:
    return o2c.stripe_api.objects("payment_link")


def test_quote_inside_policy_gets_link(desk: O2C) -> None:
    message = quote_for(desk, "2 x WIDGET-1; discount 10%")

    press(desk, message, "quote_send_link")

    desk.wait_for(lambda: the_quote(desk).status == QuoteStatus.SENT, "quote sent")
    assert the_request(desk) is None


def test_three_tiers_approve_in_turn(desk: O2C) -> None:
    message = quote_for(desk, "10 x ONSITE; discount 35%", credit_limit=500000)

    request = submit(desk, message)

    assert request.tier_names() == ["manager", "vp", "finance"]
    deal_desk = request_message(desk)
    text = json.dumps(deal_desk["blocks"])
    assert "Discount 35% is above 15%" in text
    assert "Discount 35% is above 30%" in text
    assert "over the credit limit of 5,000.00 USD" in text
    assert set(buttons(deal_desk)) == {
        "approval_approve",
        "approval_reject",
        "approval_request_changes",
    }
    assert links(desk) == []
    assert "needs approval from Sales manager, VP and Finance" in replies(desk, message)[0]["text"]

    decide_button(desk, deal_desk, "approval_approve", "U0OTHER")
    assert "Only approvers of Sales manager, VP and Finance can decide" in ephemeral_texts(desk)[-1]
    assert decisions(desk) == []

    decide_button(desk, deal_desk, "approval_approve", "U0MGR", expect_decisions=1)
    assert links(desk) == []
    assert "Sales manager*: approved by <@U0MGR>" in json.dumps(current(desk, deal_desk)["blocks"])

    decide_button(desk, deal_desk, "approval_approve", "U0VP", expect_decisions=2)
    assert links(desk) == []
    assert the_quote(desk).status == QuoteStatus.PENDING_APPROVAL

    decide_button(desk, deal_desk, "approval_approve", "U0FIN", expect_decisions=3)
    desk.wait_for(
        lambda: the_quote(desk).status == QuoteStatus.SENT, "link created after the last approval"
    )
    desk.deliver_alerts()

    assert len(links(desk)) == 1
    assert [(d.tier, d.actor, d.quote_version) for d in decisions(desk)] == [
        ("manager", "U0MGR", 1),
        ("vp", "U0VP", 1),
        ("finance", "U0FIN", 1),
    ]
    final = current(desk, deal_desk)
    assert buttons(final) == {}
    assert "Approved" in json.dumps(final["blocks"])
    assert links(desk)[0]["url"] in json.dumps([m["text"] for m in replies(desk, message)])
    assert "Status: *Sent*" in json.dumps(current(desk, message)["blocks"])
    dm_copies = [
        a for a in _alerts(desk) if a.kind == "approval_request" and a.channel.startswith("U")
    ]
    assert {a.channel for a in dm_copies} == {"U0MGR", "U0MGR2", "U0VP", "U0FIN"}


def test_second_press_sees_first_decider(desk: O2C) -> None:
    message = quote_for(desk, "1 x WIDGET-1; discount 20%")
    submit(desk, message)
    deal_desk = request_message(desk)

    decide_button(desk, deal_desk, "approval_approve", "U0MGR", expect_decisions=1)
    decide_button(desk, deal_desk, "approval_approve", "U0MGR2")

    assert len(decisions(desk)) == 1
    assert "This request for" in ephemeral_texts(desk)[-1]
    assert "<@U0MGR> approved it" in ephemeral_texts(desk)[-1]


def test_race_of_two_approvers_one_decision(desk: O2C) -> None:
    message = quote_for(desk, "1 x WIDGET-1; discount 35%")
    submit(desk, message)
    deal_desk = request_message(desk)

    threads = [
        threading.Thread(
            target=press, args=(desk, deal_desk, "approval_approve"), kwargs={"user_id": user}
        )
        for user in ("U0MGR", "U0MGR2")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    desk.wait_for(
        lambda: len(decisions(desk)) == 1 and len(ephemeral_texts(desk)) == 1,
        "one decision and one refusal",
    )

    [decision] = decisions(desk)
    loser = "U0MGR2" if decision.actor == "U0MGR" else "U0MGR"
    assert decision.tier == "manager"
    assert f"already approved by <@{decision.actor}>" in ephemeral_texts(desk)[0]
    assert loser not in ephemeral_texts(desk)[0]


def test_stale_request_names_current_version(desk: O2C) -> None:
    message = quote_for(desk, "1 x WIDGET-1; discount 20%")
    submit(desk, message)
    deal_desk = request_message(desk)

    edit_quote(desk, current(desk, message), "2")
    desk.wait_for(lambda: the_quote(desk).version == 2, "new version")
    desk.deliver_alerts()
    decide_button(desk, deal_desk, "approval_approve", "U0MGR")

    assert "is now at version 2" in ephemeral_texts(desk)[-1]
    assert decisions(desk) == []
    assert the_request(desk).status == RequestStatus.SUPERSEDED
    assert buttons(current(desk, deal_desk)) == {}


def test_reject_requires_reason(desk: O2C) -> None:
    message = quote_for(desk, "1 x WIDGET-1; discount 20%")
    submit(desk, message)
    deal_desk = request_message(desk)

    response = submit_reason(desk, deal_desk, "approval_reject", "U0MGR", "   ")

    assert response.json()["response_action"] == "errors"
    assert "Give a reason" in response.json()["errors"]["reason"]
    assert decisions(desk) == []


def test_reject_returns_quote_to_draft(desk: O2C) -> None:
    message = quote_for(desk, "1 x WIDGET-1; discount 20%")
    submit(desk, message)
    deal_desk = request_message(desk)

    response = submit_reason(
        desk, deal_desk, "approval_reject", "U0MGR", "Margin too thin <!channel>"
    )
    desk.wait_for(lambda: the_quote(desk).status == QuoteStatus.DRAFT, "quote back to draft")
    desk.deliver_alerts()

    assert response.text == ""
    assert the_request(desk).status == RequestStatus.REJECTED
    thread = " ".join(m["text"] for m in replies(desk, message))
    assert "rejected" in thread
    assert "Margin too thin" in thread
    shown = json.dumps(current(desk, message)["blocks"])
    assert "Rejected by <@U0MGR>: Margin too thin &lt;!channel&gt;" in shown
    assert "quote_send_link" in buttons(current(desk, message))


def test_request_changes_then_resubmit_reuses_request(desk: O2C) -> None:
    message = quote_for(desk, "1 x WIDGET-1; discount 20%")
    first = submit(desk, message)
    deal_desk = request_message(desk)
    submit_reason(desk, deal_desk, "approval_request_changes", "U0MGR", "Drop the discount to 18%")
    desk.wait_for(lambda: the_quote(desk).status == QuoteStatus.DRAFT, "draft again")
    desk.deliver_alerts()

    edit_quote(desk, current(desk, message), "1")
    desk.wait_for(
        lambda: "version 2" in json.dumps(current(desk, message)["blocks"]),
        "message shows version 2",
    )
    second = submit(desk, current(desk, message))

    assert second.id == first.id
    assert second.revision == 2
    assert second.quote_version == 2
    assert second.status == RequestStatus.OPEN
    assert len([m for m in desk.slack_api.messages("C0DEALDESK") if m.get("blocks")]) == 1
    assert "version 2" in json.dumps(current(desk, deal_desk)["blocks"])
    decide_button(desk, current(desk, deal_desk), "approval_approve", "U0MGR", expect_decisions=2)
    assert [d.quote_version for d in decisions(desk)] == [1, 2]


def test_credit_denial_leaves_follow_up(desk: O2C) -> None:
    message = quote_for(desk, "10 x ONSITE", credit_limit=500000)
    submit(desk, message)
    deal_desk = request_message(desk)

    submit_reason(desk, deal_desk, "approval_reject", "U0FIN", "Two invoices overdue")
    desk.wait_for(lambda: the_quote(desk).status == QuoteStatus.CREDIT_DENIED, "credit denied")
    desk.deliver_alerts()

    assert the_request(desk).status == RequestStatus.CREDIT_DENIED
    [task] = _tasks(desk)
    assert task.owner_user_id == "U0REP"
    assert "payment terms or prepayment" in task.text
    shown = current(desk, message)
    assert set(buttons(shown)) == {"quote_request_credit_increase", "quote_edit", "quote_cancel"}
    assert links(desk) == []

    press(desk, shown, "quote_request_credit_increase")
    desk.wait_for(
        lambda: any(a.kind == "credit_increase" for a in _alerts(desk)), "credit increase queued"
    )
    desk.deliver_alerts()
    to_finance = [a for a in _alerts(desk) if a.kind == "credit_increase" and a.channel == "U0FIN"]
    assert (
        "limit 5,000.00 USD, exposure 0.00 USD, a limit of at least 12,000.00 USD"
        in to_finance[0].text
    )


def test_follow_up_reminders_until_done(desk: O2C) -> None:
    message = quote_for(desk, "10 x ONSITE", credit_limit=500000)
    submit(desk, message)
    submit_reason(desk, request_message(desk), "approval_reject", "U0FIN", "Overdue")
    desk.wait_for(lambda: the_quote(desk).status == QuoteStatus.CREDIT_DENIED, "credit denied")
    services = desk.runtime.services

    desk.clock.advance(hours=23)
    assert remind_reps(services.new_session, services.policy, desk.clock) == []
    desk.clock.advance(hours=1)
    assert len(remind_reps(services.new_session, services.policy, desk.clock)) == 1
    desk.deliver_alerts()

    reminder = next(a for a in _alerts(desk) if a.delivery_key.endswith("reminder:1"))
    dm = next(
        m
        for m in desk.slack_api.messages(reminder.slack_channel_id)
        if m["ts"] == reminder.slack_ts
    )
    desk.slack.block_action(
        "follow_up_done",
        value=str(_tasks(desk)[0].id),
        block_id=f"follow_up_{_tasks(desk)[0].id}",
        message=dm,
    )
    desk.wait_for(lambda: _tasks(desk)[0].status == FollowUpStatus.DONE, "task done")

    desk.clock.advance(days=2)
    assert remind_reps(services.new_session, services.policy, desk.clock) == []


def test_follow_up_closes_when_quote_changes(desk: O2C) -> None:
    message = quote_for(desk, "10 x ONSITE", credit_limit=500000)
    submit(desk, message)
    submit_reason(desk, request_message(desk), "approval_reject", "U0FIN", "Overdue")
    desk.wait_for(lambda: the_quote(desk).status == QuoteStatus.CREDIT_DENIED, "credit denied")
    desk.deliver_alerts()

    edit_quote(desk, current(desk, message), "2")
    desk.wait_for(lambda: the_quote(desk).version == 2, "new version")

    assert _tasks(desk)[0].status == FollowUpStatus.CLOSED


def test_reminder_then_escalation(desk: O2C) -> None:
    message = quote_for(desk, "1 x WIDGET-1; discount 20%")
    submit(desk, message)
    services = desk.runtime.services

    def run() -> list[int]:
        return remind_approvers(
            services.new_session, services.policy, lambda: services.directory, desk.clock
        )

    desk.clock.advance(hours=3, minutes=59)
    assert run() == []
    desk.clock.advance(minutes=1)
    assert len(run()) == 1
    reminders = [a for a in _alerts(desk) if ":reminder" in a.delivery_key]
    assert {a.channel for a in reminders} == {"U0MGR", "U0MGR2"}
    assert run() == []

    deal_desk = request_message(desk)
    decide_button(desk, deal_desk, "approval_approve", "U0VP")
    assert "Only approvers of Sales manager can decide" in ephemeral_texts(desk)[-1]

    desk.clock.advance(hours=24)
    assert len(run()) == 1
    escalations = [a for a in _alerts(desk) if ":escalation" in a.delivery_key]
    assert {a.channel for a in escalations} == {"U0VP"}
    decide_button(desk, deal_desk, "approval_approve", "U0VP", expect_decisions=1)

    assert decisions(desk)[0].tier == "manager"
    assert decisions(desk)[0].actor == "U0VP"
    with desk.new_session() as session:
        assert (
            session.exec(
                select(AuditEntry).where(AuditEntry.action == "approval_escalated")
            ).first()
            is not None
        )


def test_customer_on_hold_needs_finance(desk: O2C) -> None:
    message = quote_for(desk, "1 x WIDGET-1", hold=True)

    request = submit(desk, message)

    assert request.tier_names() == ["finance"]
    assert "on credit hold" in json.dumps(request_message(desk)["blocks"])


def _alerts(o2c: O2C) -> list[OutboxAlert]:
    with o2c.new_session() as session:
        return list(session.exec(select(OutboxAlert).order_by(OutboxAlert.id)).all())


def _tasks(o2c: O2C) -> list[FollowUpTask]:
    with o2c.new_session() as session:
        return list(session.exec(select(FollowUpTask)).all())
