"""Small steps that end-to-end handler tests share."""

from typing import Any

import httpx
from sqlmodel import select

from models.quote import Quote
from tests.conftest import O2C


def quote_messages(o2c: O2C, channel: str = "C0SALES") -> list[dict[str, Any]]:
    """Top-level messages in `channel` that show a quote (they carry buttons or a header)."""
    return [
        m
        for m in o2c.slack_api.messages(channel)
        if m.get("thread_ts") in (None, m["ts"]) and m.get("blocks")
    ]


def wait_for_quote_message(o2c: O2C, channel: str = "C0SALES", count: int = 1) -> dict[str, Any]:
    o2c.wait_for(
        lambda: len(quote_messages(o2c, channel)) >= count, f"{count} quote message(s) in {channel}"
    )
    return quote_messages(o2c, channel)[count - 1]


def current(o2c: O2C, message: dict[str, Any]) -> dict[str, Any]:
    """The stored version of a message, after any chat.update."""
    channel = o2c.slack_api.channel_of(message["ts"])
    assert channel is not None
    return next(m for m in o2c.slack_api.messages(channel) if m["ts"] == message["ts"])


def replies(o2c: O2C, parent: dict[str, Any]) -> list[dict[str, Any]]:
    channel = o2c.slack_api.channel_of(parent["ts"])
    assert channel is not None
    return [
        m
        for m in o2c.slack_api.messages(channel)
        if m.get("thread_ts") == parent["ts"] and m["ts"] != parent["ts"]
    ]


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The message's buttons by action id."""
    found: dict[str, dict[str, Any]] = {}
    for block in message.get("blocks", []):
        if block["type"] == "actions":
            for element in block["elements"]:
                found[element["action_id"]] = {**element, "block_id": block["block_id"]}
    return found


def press(
    o2c: O2C,
    message: dict[str, Any],
    action_id: str,
    user_id: str = "U0REP",
    value: str | None = None,
) -> httpx.Response:
    button = buttons(message)[action_id]
    return o2c.slack.block_action(
        action_id,
        value=value or button["value"],
        block_id=button["block_id"],
        message=message,
        user_id=user_id,
    )


def ephemeral_texts(o2c: O2C) -> list[str]:
    """Texts posted to response URLs or as ephemeral messages, oldest first."""
    texts = [str(post.body.get("text", "")) for post in o2c.slack_api.responses]
    return texts


def the_quote(o2c: O2C) -> Quote:
    with o2c.new_session() as session:
        quote = session.exec(select(Quote)).one()
        quote.lines  # noqa: B018 - load the lines before the session closes
        return quote


def quote_count(o2c: O2C) -> int:
    with o2c.new_session() as session:
        return len(session.exec(select(Quote)).all())
