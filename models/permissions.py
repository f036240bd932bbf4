"""Who may act on a quote."""

from models.errors import NotAllowed
from models.quote import Quote


def ensure_can_manage(quote: Quote, user_id: str, managers: frozenset[str]) -> None:
    """Raise NotAllowed unless `user_id` owns the quote or is a configured manager."""
    if user_id == quote.owner_user_id or user_id in managers:
        return
    raise NotAllowed(
        f"Only <@{quote.owner_user_id}>, who owns quote {quote.number}, or a sales manager "
        "can do that."
    )
