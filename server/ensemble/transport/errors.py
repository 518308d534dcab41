"""The one mapping from exceptions to protocol error codes (and their HTTP status).

The WebSocket session and the HTTP API both ask `error_for`; which close
code ends a connection is the other table, in transport/closing.py.
"""

from __future__ import annotations

import logging

from ensemble.backends.base import BackendUnavailable
from ensemble.core import DomainError
from ensemble.wire.codec import DecodeError, EncodeError
from ensemble.wire.codes import ErrorCode
from ensemble.wire.schema import SchemaError

log = logging.getLogger(__name__)

MAX_MESSAGE = 300

HTTP_STATUS = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.TOO_LARGE: 413,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.UNAVAILABLE: 503,
}


class InternalFailure(Exception):
    """Anything unexpected: the connection closes with 1011 and says nothing more."""


def error_for(exc: BaseException) -> tuple[ErrorCode, str]:
    """(code, message) for a refused request; raise InternalFailure for anything else."""
    if isinstance(exc, DomainError):
        return ErrorCode(exc.code), exc.message
    if isinstance(exc, (DecodeError, SchemaError)):
        return ErrorCode.BAD_REQUEST, _short(str(exc))
    if isinstance(exc, EncodeError):
        # Input is checked before it reaches a room, so this is a bug; the
        # backend stored nothing and the connection and room go on.
        log.error("a request's events could not be encoded", exc_info=exc)
        return ErrorCode.BAD_REQUEST, "the request could not be encoded; nothing was stored"
    if isinstance(exc, BackendUnavailable):
        return ErrorCode.UNAVAILABLE, "the service is briefly unavailable; try again"
    log.error("request failed", exc_info=exc)
    raise InternalFailure from exc


def _short(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"
