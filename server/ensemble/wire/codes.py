"""Error codes and WebSocket close codes (mirrored in protocol/codes.json)."""

from enum import IntEnum, StrEnum


class ErrorCode(StrEnum):
    BAD_REQUEST = "bad_request"
    UNKNOWN_TYPE = "unknown_type"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    RATE_LIMITED = "rate_limited"
    TOO_LARGE = "too_large"
    UNAVAILABLE = "unavailable"


class CloseCode(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001  # server shutting down: reconnect elsewhere
    POLICY = 1008  # hello refused: terminal
    TOO_BIG = 1009  # frame beyond the hard limit: terminal
    INTERNAL = 1011  # unexpected server error: reconnect
    TRY_AGAIN = 1013  # hello could not be served right now (backend unreachable): reconnect
    SLOW_CONSUMER = 4000  # send queue overflowed: reconnect and resume
    RESYNC = 4001  # this connection's view changed or lost events: reconnect and resume
    ABUSIVE = 4008  # too many refused requests: reconnect after a back-off
    REMOVED = 4100  # removed by a mentor: terminal
    ROOM_CLOSED = 4101  # terminal
    HELLO_TIMEOUT = 4102  # no hello in time: terminal
    ROOM_GONE = 4103  # the room no longer exists (deleted, expired or lost by storage): terminal


# After these a client stops; after any other code (listed or not, and 1006
# for a connection lost without a close frame) it reconnects and resumes.
TERMINAL_CODES = frozenset({
    CloseCode.NORMAL,
    CloseCode.POLICY,
    CloseCode.TOO_BIG,
    CloseCode.REMOVED,
    CloseCode.ROOM_CLOSED,
    CloseCode.HELLO_TIMEOUT,
    CloseCode.ROOM_GONE,
})
RECONNECT_CODES = frozenset(CloseCode) - TERMINAL_CODES
