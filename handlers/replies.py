"""Private replies that listeners share."""

import logging

from slack_bolt import Respond

from bot.views import escape_message

logger = logging.getLogger(__name__)


def log_rejection(error: Exception, user_id: str, **ids: object) -> None:
    """Log a request that a domain rule rejected, with the user and the ids involved."""
    logger.info("request rejected: %s", error, extra={"user_id": user_id, **ids})


def reject(respond: Respond, error: Exception, user_id: str, **ids: object) -> None:
    """Log a rejected request and tell the user why, in a reply only they see."""
    log_rejection(error, user_id, **ids)
    respond(
        text=f":no_entry: {escape_message(str(error))}",
        response_type="ephemeral",
        replace_original=False,
    )
