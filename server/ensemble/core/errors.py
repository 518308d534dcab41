"""Domain errors: an illegal move raises one; the transport maps its code."""


class DomainError(Exception):
    """A request the room refuses; `code` is a protocol error code."""

    code = "conflict"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(DomainError):
    code = "bad_request"


class Unauthorized(DomainError):
    """The credential does not (or no longer) admit this member."""

    code = "unauthorized"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class RoomGone(NotFound):
    """The room itself does not exist (never did, or was deleted or lost)."""


class NotAMember(NotFound):
    """The member making a request is no longer in the room (left or removed)."""

    def __init__(self, message: str, *, removed: bool = False) -> None:
        super().__init__(message)
        self.removed = removed


class Conflict(DomainError):
    code = "conflict"


class RateLimited(DomainError):
    code = "rate_limited"
