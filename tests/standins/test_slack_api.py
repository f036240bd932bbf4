"""Tests for the Slack Web API stand-in, driven through slack_sdk's real WebClient."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from tests.standins.slack_api import SlackStandIn

TS_FORMAT = re.compile(r"^\d{10}\.\d{6}$")
MODAL = {
    "type": "modal",
    "callback_id": "quote_form",
    "title": {"type": "plain_text", "text": "New quote"},
    "blocks": [],
}


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as running:
        yield running


@pytest.fixture
def client(standin: SlackStandIn) -> WebClient:
    return WebClient(token=standin.bot_token, base_url=standin.base_url)


def slack_error(raised: pytest.ExceptionInfo[SlackApiError]) -> str:
    return raised.value.response["error"]


# ---------------------------------------------------------------------- lifecycle, auth


def test_standin_base_url_local_api_path(standin: SlackStandIn) -> None:
    assert standin.base_url.startswith("http://127.0.0.1:")
    assert standin.base_url.endswith("/api/")


def test_standin_base_url_before_start_raises() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        _ = SlackStandIn().base_url


def test_auth_test_returns_bot_identity(client: WebClient) -> None:
    response = client.auth_test()

    assert response["user_id"] == "U0BOT"
    assert response["bot_id"] == "B0BOT"
    assert response["team_id"] == "T0TEAM"
    assert response["url"].startswith("https://")


def test_auth_wrong_token_invalid_auth(standin: SlackStandIn) -> None:
    client = WebClient(token="xoxb-wrong", base_url=standin.base_url)

    with pytest.raises(SlackApiError) as raised:
        client.auth_test()

    assert slack_error(raised) == "invalid_auth"


def test_auth_missing_token_not_authed(standin: SlackStandIn) -> None:
    client = WebClient(base_url=standin.base_url)

    with pytest.raises(SlackApiError) as raised:
        client.auth_test()

    assert slack_error(raised) == "not_authed"


def test_calls_record_header_not_token(standin: SlackStandIn, client: WebClient) -> None:
    client.chat_postMessage(channel="C0SALES", text="hello", token=standin.bot_token)
    client.auth_test()

    assert [call.method for call in standin.calls] == ["chat.postMessage", "auth.test"]
    assert all(call.has_authorization for call in standin.calls)
    assert "token" not in standin.calls[0].params
    assert standin.bot_token not in repr(standin.calls)


def test_unknown_method_error(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.api_call("quotes.approve")

    assert slack_error(raised) == "unknown_method"


# ---------------------------------------------------------------------- chat.postMessage


def test_post_message_by_name_returns_id(client: WebClient) -> None:
    response = client.chat_postMessage(channel="payments", text="Paid")

    assert response["channel"] == "C0PAYMENTS"
    assert TS_FORMAT.match(response["ts"])
    assert response["message"]["text"] == "Paid"


def test_post_message_hash_name_returns_id(client: WebClient) -> None:
    response = client.chat_postMessage(channel="#deal-desk", text="Review")

    assert response["channel"] == "C0DEALDESK"


def test_post_message_by_id_stores_message(standin: SlackStandIn, client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Quote Q-1*"}}]
    metadata = {"event_type": "quote_created", "event_payload": {"quote_id": "Q-1"}}

    response = client.chat_postMessage(
        channel="C0SALES", text="Quote Q-1", blocks=blocks, metadata=metadata
    )

    stored = standin.messages("C0SALES")
    assert len(stored) == 1
    assert stored[0]["ts"] == response["ts"]
    assert stored[0]["user"] == "U0BOT"
    assert stored[0]["text"] == "Quote Q-1"
    assert stored[0]["blocks"] == blocks
    assert stored[0]["metadata"] == metadata


def test_post_message_form_blocks_decoded(standin: SlackStandIn, client: WebClient) -> None:
    blocks = [{"type": "divider"}]

    client.api_call(
        "chat.postMessage",
        params={"channel": "C0SALES", "text": "form", "blocks": json.dumps(blocks)},
    )

    assert standin.calls_to("chat.postMessage")[0].params["blocks"] == blocks
    assert standin.messages("sales")[0]["blocks"] == blocks


def test_post_message_ts_unique_increasing(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C0SALES", text=str(i))["ts"] for i in range(20)]

    assert len(set(stamps)) == 20
    assert stamps == sorted(stamps, key=lambda ts: tuple(map(int, ts.split("."))))


def test_post_message_unknown_channel_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="#no-such-channel", text="lost")

    assert slack_error(raised) == "channel_not_found"


def test_post_message_non_member_rejected(standin: SlackStandIn, client: WebClient) -> None:
    standin.add_channel("finance", "C0FINANCE", member=False)

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="finance", text="invoice")

    assert slack_error(raised) == "not_in_channel"


def test_post_message_after_join_succeeds(standin: SlackStandIn, client: WebClient) -> None:
    standin.add_channel("finance", "C0FINANCE", member=False)

    joined = client.conversations_join(channel="C0FINANCE")
    posted = client.chat_postMessage(channel="C0FINANCE", text="invoice")

    assert joined["channel"]["is_member"] is True
    assert posted["channel"] == "C0FINANCE"


def test_post_message_without_text_no_text(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.api_call("chat.postMessage", json={"channel": "C0SALES"})

    assert slack_error(raised) == "no_text"


def test_post_message_malformed_thread_ts_rejected(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0SALES", text="reply", thread_ts="0")

    assert slack_error(raised) == "invalid_thread_ts"


def test_post_message_user_id_opens_dm(standin: SlackStandIn, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="U0REP", text="Your quote was approved")
    opened = client.conversations_open(users="U0REP")

    assert posted["channel"].startswith("D")
    assert opened["channel"]["id"] == posted["channel"]
    assert standin.messages("U0REP")[0]["text"] == "Your quote was approved"


def test_post_message_unknown_user_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="U0NOBODY", text="hello")

    assert slack_error(raised) == "channel_not_found"


# ---------------------------------------------------------------------- threads and history


def test_thread_replies_stored_in_order(standin: SlackStandIn, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C0SALES", text="Quote Q-7")["ts"]
    client.chat_postMessage(channel="C0SALES", text="first", thread_ts=parent)
    client.chat_postMessage(channel="C0SALES", text="second", thread_ts=parent)

    stored = standin.messages("C0SALES")
    replies = client.conversations_replies(channel="C0SALES", ts=parent)["messages"]

    assert [message["text"] for message in stored] == ["Quote Q-7", "first", "second"]
    assert stored[1]["thread_ts"] == parent
    assert [message["text"] for message in replies] == ["Quote Q-7", "first", "second"]
    assert replies[0]["reply_count"] == 2


def test_replies_unknown_ts_thread_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.conversations_replies(channel="C0SALES", ts="1700000000.000100")

    assert slack_error(raised) == "thread_not_found"


def test_history_omits_metadata_by_default(client: WebClient) -> None:
    metadata = {"event_type": "invoice_paid", "event_payload": {"invoice": "INV-1"}}
    client.chat_postMessage(channel="C0PAYMENTS", text="Paid", metadata=metadata)

    messages = client.conversations_history(channel="C0PAYMENTS")["messages"]

    assert len(messages) == 1
    assert "metadata" not in messages[0]


def test_history_includes_metadata_when_asked(client: WebClient) -> None:
    metadata = {"event_type": "invoice_paid", "event_payload": {"invoice": "INV-1"}}
    client.chat_postMessage(channel="C0PAYMENTS", text="Paid", metadata=metadata)

    messages = client.conversations_history(channel="C0PAYMENTS", include_all_metadata=True)[
        "messages"
    ]

    assert messages[0]["metadata"] == metadata


def test_history_newest_first_without_replies(client: WebClient) -> None:
    first = client.chat_postMessage(channel="C0SALES", text="one")["ts"]
    client.chat_postMessage(channel="C0SALES", text="reply", thread_ts=first)
    client.chat_postMessage(channel="C0SALES", text="two")

    messages = client.conversations_history(channel="C0SALES")["messages"]

    assert [message["text"] for message in messages] == ["two", "one"]


def test_history_oldest_filter_exclusive(client: WebClient) -> None:
    first = client.chat_postMessage(channel="C0SALES", text="one")["ts"]
    client.chat_postMessage(channel="C0SALES", text="two")

    exclusive = client.conversations_history(channel="C0SALES", oldest=first)["messages"]
    inclusive = client.conversations_history(channel="C0SALES", oldest=first, inclusive=True)[
        "messages"
    ]

    assert [message["text"] for message in exclusive] == ["two"]
    assert [message["text"] for message in inclusive] == ["two", "one"]


def test_history_cursor_pages_through(client: WebClient) -> None:
    for number in range(5):
        client.chat_postMessage(channel="C0SALES", text=f"m{number}")

    first_page = client.conversations_history(channel="C0SALES", limit=2)
    cursor = first_page["response_metadata"]["next_cursor"]
    second_page = client.conversations_history(channel="C0SALES", limit=2, cursor=cursor)
    texts = [message["text"] for message in first_page["messages"] + second_page["messages"]]

    assert first_page["has_more"] is True
    assert texts == ["m4", "m3", "m2", "m1"]


def test_history_bad_cursor_invalid_cursor(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.conversations_history(channel="C0SALES", cursor="not base64!")

    assert slack_error(raised) == "invalid_cursor"


# ---------------------------------------------------------------------- chat.update and others


def test_chat_update_edits_stored_message(standin: SlackStandIn, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C0SALES", text="Pending")["ts"]

    response = client.chat_update(channel="C0SALES", ts=ts, text="Approved")

    stored = standin.messages("C0SALES")
    assert response["text"] == "Approved"
    assert len(stored) == 1
    assert stored[0]["text"] == "Approved"
    assert "edited" in stored[0]


def test_chat_update_keeps_metadata_unless_sent(standin: SlackStandIn, client: WebClient) -> None:
    metadata = {"event_type": "quote_created", "event_payload": {"quote_id": "Q-2"}}
    ts = client.chat_postMessage(channel="C0SALES", text="Q-2", metadata=metadata)["ts"]

    client.chat_update(channel="C0SALES", ts=ts, text="Q-2 approved")

    assert standin.messages("C0SALES")[0]["metadata"] == metadata


def test_chat_update_unknown_ts_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.chat_update(channel="C0SALES", ts="1700000000.000100", text="x")

    assert slack_error(raised) == "message_not_found"


def test_chat_update_user_message_rejected(standin: SlackStandIn, client: WebClient) -> None:
    ts = standin.post_user_message("sales", "U0REP", "a person wrote this")

    with pytest.raises(SlackApiError) as raised:
        client.chat_update(channel="C0SALES", ts=ts, text="edited by bot")

    assert slack_error(raised) == "cant_update_message"


def test_chat_delete_removes_message(standin: SlackStandIn, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C0SALES", text="oops")["ts"]

    client.chat_delete(channel="C0SALES", ts=ts)

    assert standin.messages("C0SALES") == []


def test_post_ephemeral_returns_message_ts(standin: SlackStandIn, client: WebClient) -> None:
    response = client.chat_postEphemeral(channel="C0SALES", user="U0REP", text="Only you")

    assert TS_FORMAT.match(response["message_ts"])
    assert standin.ephemerals("C0SALES")[0]["text"] == "Only you"
    assert standin.ephemerals("C0SALES")[0]["user"] == "U0REP"


def test_get_permalink_names_channel_and_ts(client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C0SALES", text="link me")["ts"]

    permalink = client.chat_getPermalink(channel="C0SALES", message_ts=ts)["permalink"]

    assert permalink.endswith(f"/archives/C0SALES/p{ts.replace('.', '')}")


def test_conversations_info_channel_fields(client: WebClient) -> None:
    channel = client.conversations_info(channel="C0COLLECT")["channel"]

    assert channel["id"] == "C0COLLECT"
    assert channel["name"] == "collections"
    assert channel["is_member"] is True


# ---------------------------------------------------------------------- users


def test_users_info_returns_profile(standin: SlackStandIn, client: WebClient) -> None:
    standin.add_user("U0MGR", "morgan", "Morgan Manager", tz="Europe/Berlin")

    user = client.users_info(user="U0MGR")["user"]

    assert user["real_name"] == "Morgan Manager"
    assert user["tz"] == "Europe/Berlin"
    assert user["is_bot"] is False


def test_users_info_unknown_user_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.users_info(user="U0NOBODY")

    assert slack_error(raised) == "user_not_found"


def test_users_lookup_by_email_finds_user(standin: SlackStandIn, client: WebClient) -> None:
    standin.add_user("U0MGR", "morgan", "Morgan Manager", email="morgan@acme.example")

    user = client.users_lookupByEmail(email="Morgan@acme.example")["user"]

    assert user["id"] == "U0MGR"


def test_lookup_email_unknown_rejected(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.users_lookupByEmail(email="nobody@acme.example")

    assert slack_error(raised) == "users_not_found"


def test_usergroup_users_list_members(standin: SlackStandIn, client: WebClient) -> None:
    standin.add_usergroup("S0APPROVERS", "approvers", ["U0MGR", "U0CFO"])

    users = client.usergroups_users_list(usergroup="S0APPROVERS")["users"]

    assert users == ["U0MGR", "U0CFO"]


def test_usergroup_unknown_no_such_subteam(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.usergroups_users_list(usergroup="S0NONE")

    assert slack_error(raised) == "no_such_subteam"


# ---------------------------------------------------------------------- rate limits, failures


def test_rate_limit_without_handler_raises(standin: SlackStandIn, client: WebClient) -> None:
    standin.rate_limit("chat.postMessage", retry_after=7)

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0SALES", text="busy")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert slack_error(raised) == "ratelimited"
    assert standin.messages("C0SALES") == []


def test_rate_limit_retry_handler_succeeds(standin: SlackStandIn) -> None:
    client = WebClient(token=standin.bot_token, base_url=standin.base_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    standin.rate_limit("chat.postMessage", retry_after=1)

    response = client.chat_postMessage(channel="C0SALES", text="eventually")

    calls = standin.calls_to("chat.postMessage")
    assert response["ok"] is True
    assert len(calls) == 2
    assert calls[1].at - calls[0].at >= 1.0
    assert len(standin.messages("C0SALES")) == 1


def test_fail_injection_then_success(standin: SlackStandIn, client: WebClient) -> None:
    standin.fail("chat.postMessage", "is_archived", times=2)

    errors = []
    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            client.chat_postMessage(channel="C0SALES", text="try")
        errors.append(slack_error(raised))
    third = client.chat_postMessage(channel="C0SALES", text="try")

    assert errors == ["is_archived", "is_archived"]
    assert third["ok"] is True


def test_fail_injection_only_named_method(standin: SlackStandIn, client: WebClient) -> None:
    standin.fail("chat.update", "edit_window_closed")

    posted = client.chat_postMessage(channel="C0SALES", text="fine")

    assert posted["ok"] is True


# ---------------------------------------------------------------------- views


def test_views_open_fresh_trigger_succeeds(standin: SlackStandIn, client: WebClient) -> None:
    view = client.views_open(trigger_id=standin.issue_trigger_id(), view=MODAL)["view"]

    assert view["id"].startswith("V")
    assert view["callback_id"] == "quote_form"
    assert view["state"] == {"values": {}}
    assert view["hash"]
    assert standin.views[view["id"]]["title"]["text"] == "New quote"


def test_views_open_expired_trigger_rejected(standin: SlackStandIn, client: WebClient) -> None:
    stale_trigger = standin.issue_trigger_id(issued_at=time.time() - 3.5)

    with pytest.raises(SlackApiError) as raised:
        client.views_open(trigger_id=stale_trigger, view=MODAL)

    assert slack_error(raised) == "expired_trigger_id"
    assert standin.views == {}


def test_views_open_reused_trigger_rejected(standin: SlackStandIn, client: WebClient) -> None:
    trigger_id = standin.issue_trigger_id()
    client.views_open(trigger_id=trigger_id, view=MODAL)

    with pytest.raises(SlackApiError) as raised:
        client.views_open(trigger_id=trigger_id, view=MODAL)

    assert slack_error(raised) == "exchanged_trigger_id"


def test_views_open_unknown_trigger_invalid(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.views_open(trigger_id="12345.98765.abcd2358fdea", view=MODAL)

    assert slack_error(raised) == "invalid_arguments"


def test_views_open_missing_view_invalid(standin: SlackStandIn, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.api_call("views.open", json={"trigger_id": standin.issue_trigger_id()})

    assert slack_error(raised) == "invalid_arguments"


def test_views_update_stale_hash_conflict(standin: SlackStandIn, client: WebClient) -> None:
    opened = client.views_open(trigger_id=standin.issue_trigger_id(), view=MODAL)["view"]
    client.views_update(view_id=opened["id"], view=MODAL, hash=opened["hash"])

    with pytest.raises(SlackApiError) as raised:
        client.views_update(view_id=opened["id"], view=MODAL, hash=opened["hash"])

    assert slack_error(raised) == "hash_conflict"


def test_views_update_by_external_id(standin: SlackStandIn, client: WebClient) -> None:
    modal = {**MODAL, "external_id": "quote-Q-9"}
    opened = client.views_open(trigger_id=standin.issue_trigger_id(), view=modal)["view"]
    changed = {**modal, "title": {"type": "plain_text", "text": "Quote Q-9"}}

    updated = client.views_update(external_id="quote-Q-9", view=changed)["view"]

    assert updated["id"] == opened["id"]
    assert updated["title"]["text"] == "Quote Q-9"
    assert updated["hash"] != opened["hash"]


def test_views_update_unknown_view_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.views_update(view_id="V0MISSING", view=MODAL)

    assert slack_error(raised) == "not_found"


def test_views_push_needs_fresh_trigger(standin: SlackStandIn, client: WebClient) -> None:
    pushed = client.views_push(trigger_id=standin.issue_trigger_id(), view=MODAL)["view"]

    assert pushed["type"] == "modal"


def test_views_publish_home_keeps_view_id(standin: SlackStandIn, client: WebClient) -> None:
    home = {"type": "home", "blocks": [{"type": "divider"}]}

    first = client.views_publish(user_id="U0REP", view=home)["view"]
    second = client.views_publish(user_id="U0REP", view=home, hash=first["hash"])["view"]

    assert first["type"] == "home"
    assert second["id"] == first["id"]
    assert standin.home_view("U0REP")["blocks"] == [{"type": "divider"}]


def test_views_publish_modal_type_rejected(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.views_publish(user_id="U0REP", view=MODAL)

    assert slack_error(raised) == "invalid_arguments"


# ---------------------------------------------------------------------- files


def test_files_upload_v2_shares_file(standin: SlackStandIn, client: WebClient) -> None:
    response = client.files_upload_v2(
        channel="C0FULFILL",
        content="sku,qty\nA-1,3\n",
        filename="packing-list.csv",
        title="Packing list",
        initial_comment="Ready to ship",
    )

    file_id = response["file"]["id"]
    stored = standin.messages("C0FULFILL")
    assert standin.files[file_id].content == b"sku,qty\nA-1,3\n"
    assert standin.files[file_id].title == "Packing list"
    assert stored[0]["text"] == "Ready to ship"
    assert stored[0]["files"][0]["id"] == file_id


def test_files_complete_unuploaded_rejected(standin: SlackStandIn, client: WebClient) -> None:
    ticket = client.files_getUploadURLExternal(filename="a.txt", length=3)

    with pytest.raises(SlackApiError) as raised:
        client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}])

    assert ticket["upload_url"].startswith(standin.root_url)
    assert slack_error(raised) == "file_not_found"


# ---------------------------------------------------------------------- response URLs


def test_response_url_records_post(standin: SlackStandIn) -> None:
    url = standin.response_url("approval")

    status = WebhookClient(url).send(text="Approved").status_code

    assert status == 200
    assert len(standin.responses) == 1
    assert standin.responses[0].name == "approval"
    assert standin.responses[0].body["text"] == "Approved"


def test_response_url_replace_original_edits(standin: SlackStandIn, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C0SALES", text="Approve Q-3?")["ts"]
    url = standin.response_url("approve", channel_id="C0SALES", message_ts=ts, user_id="U0REP")

    WebhookClient(url).send(text="Q-3 approved", replace_original=True)

    assert standin.messages("C0SALES")[0]["text"] == "Q-3 approved"


def test_response_url_unknown_token_404(standin: SlackStandIn) -> None:
    status = WebhookClient(f"{standin.root_url}/response/forged").send(text="x").status_code

    assert status == 404


# ---------------------------------------------------------------------- wait_for


def test_wait_for_timeout_names_condition(standin: SlackStandIn, client: WebClient) -> None:
    client.auth_test()

    def quote_posted() -> bool:
        return bool(standin.messages("C0SALES"))

    with pytest.raises(AssertionError) as raised:
        standin.wait_for(quote_posted, timeout=0.1)

    assert "quote_posted" in str(raised.value)
    assert "auth.test" in str(raised.value)


def test_wait_for_returns_when_true(standin: SlackStandIn) -> None:
    started = time.monotonic()

    standin.wait_for(lambda: True, timeout=5)

    assert time.monotonic() - started < 1
