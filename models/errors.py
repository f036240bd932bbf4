"""Domain errors whose message is written for the person in Slack."""


class DomainError(Exception):
    """A rule of the order-to-cash cycle was broken; `str(error)` is safe to show a rep."""


class InvalidInput(DomainError):
    """User input was rejected; `field` names the form field it belongs to, if known."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotAllowed(DomainError):
    """The acting Slack user may not perform this action."""


class NotFound(DomainError):
    """A quote, customer or product id does not exist."""


class InvalidState(DomainError):
    """The action does not apply to the object's current state or version."""
