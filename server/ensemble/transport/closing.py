"""The one table from what ends a connection to its close code and reason.

The core names what an event does to connections (`Effect`, core/events.py);
refusals that mean the socket's room or member is gone end it too. Both map
here, so a close code is chosen in one place.
"""

from __future__ import annotations

from ensemble.core import NotAMember, RoomGone
from ensemble.core.events import DROPPED, REMOVED, ROLE_CHANGED, ROOM_CLOSED, Effect
from ensemble.wire.codes import CloseCode

GONE = "gone"  # the room no longer exists (deleted, expired, lost by storage)
STALE = "stale"  # the member is no longer in the room (left): reconnecting enters again

CLOSES: dict[str, tuple[CloseCode, str]] = {
    ROOM_CLOSED: (CloseCode.ROOM_CLOSED, "the room was closed"),
    REMOVED: (CloseCode.REMOVED, "removed from the room"),
    ROLE_CHANGED: (CloseCode.RESYNC, "your role changed: reconnect"),
    DROPPED: (CloseCode.RESYNC, "the room lost this connection"),
    GONE: (CloseCode.ROOM_GONE, "the room no longer exists"),
    STALE: (CloseCode.RESYNC, "no longer in the room: reconnect"),
}


def close_for_effect(effect: Effect) -> tuple[CloseCode, str]:
    return CLOSES[effect.kind]


def close_for_error(exc: BaseException) -> tuple[CloseCode, str] | None:
    """The close for a refusal that means this socket's room or member is gone."""
    if isinstance(exc, RoomGone):
        return CLOSES[GONE]
    if isinstance(exc, NotAMember):
        return CLOSES[REMOVED if exc.removed else STALE]
    return None
