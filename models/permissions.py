"""Permission checks for acting on a quote."""

from models.errors import InvalidState, NotAllowed
from models.quote import Quote


def ensure_can_manage(quote: Quote, user_id: str, managers: frozenset[str]) -> None:
    """Raise NotAllowed unless `user_id` owns the quote or is a configured manager."""
    if user_id == quote.owner_user_id or user_id in managers:
        return
    raise NotAllowed(
        f"Only <@{quote.owner_user_id}>, who owns quote {quote.number}, or a sales manager "
        "can do that."
    )


def ensure_current_version(quote: Quote, shown_version: int) -> None:
    """Raise InvalidState when a button belongs to an older version of the quote."""
    if shown_version != quote.version:
        raise InvalidState(
            f"That button is for version {shown_version} of {quote.number}, "
            f"but the quote is now at version {quote.version}. Use the latest message."
        )
