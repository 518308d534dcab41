"""The pure room core: commands and the current time in, events out.

Nothing here performs I/O, reads a clock or imports the transport: every rule
of the product lives in this package once and is tested without an event loop.
"""

from ensemble.core.context import record_author
from ensemble.core.errors import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    NotAMember,
    NotFound,
    RoomGone,
)
from ensemble.core.events import Event, Outcome
from ensemble.core.room import Room

__all__ = [
    "BadRequest",
    "Conflict",
    "DomainError",
    "Event",
    "Forbidden",
    "NotAMember",
    "NotFound",
    "Outcome",
    "Room",
    "RoomGone",
    "record_author",
]
