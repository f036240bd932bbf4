"""Posting and refreshing the Slack message that shows a quote."""

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.services import Services
from bot.views import quote_blocks, quote_text
from models.quoting import record_preview_message
from models.summary import QuoteSummary, summarize_quote

logger = logging.getLogger(__name__)

UNREACHABLE_CHANNEL_ERRORS = frozenset({"not_in_channel", "channel_not_found", "is_archived"})


def post_quote_message(
    client: WebClient, services: Services, quote: QuoteSummary, channel_id: str, user_id: str
) -> str:
    """Post the quote in `channel_id`, or in the rep's DM when the bot cannot post there.

    Stores the message's channel and ts on the quote, so later updates go to
    its thread, and returns the channel it was posted in.
    """
    blocks = [block.to_dict() for block in quote_blocks(quote)]
    try:
        response = client.chat_postMessage(
            channel=channel_id, text=quote_text(quote), blocks=blocks
        )
    except SlackApiError as error:
        if error.response.get("error") not in UNREACHABLE_CHANNEL_ERRORS:
            raise
        logger.info(
            "cannot post in channel; using the rep's DM",
            extra={"quote_id": quote.id, "channel_id": channel_id},
        )
        response = client.chat_postMessage(channel=user_id, text=quote_text(quote), blocks=blocks)

    posted_channel = str(response["channel"])
    with services.new_session() as session, session.begin():
        record_preview_message(session, quote.id, posted_channel, str(response["ts"]))
    return posted_channel


def refresh_quote_message(client: WebClient, services: Services, quote_id: int) -> QuoteSummary:
    """Redraw the quote's message so it shows the current version, state and buttons."""
    with services.new_session() as session:
        quote = summarize_quote(session, quote_id)
    if quote.slack_channel_id and quote.slack_message_ts:
        client.chat_update(
            channel=quote.slack_channel_id,
            ts=quote.slack_message_ts,
            text=quote_text(quote),
            blocks=[block.to_dict() for block in quote_blocks(quote)],
        )
    return quote
