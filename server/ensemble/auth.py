"""Credentials: unguessable room secrets and signed session tokens."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

log = logging.getLogger(__name__)

TOKEN_MAX_AGE_S = 7 * 24 * 3600


def new_secret() -> str:
    """An invite code or host key: 128 bits from the OS's CSPRNG."""
    return secrets.token_urlsafe(16)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(5)}"


@dataclass(frozen=True, slots=True)
class SessionClaims:
    room: str
    member: str
    role: str


class TokenSigner:
    """Signs and checks session tokens (room, member, role) with itsdangerous."""

    def __init__(self, secret: str) -> None:
        if not secret:
            secret = secrets.token_urlsafe(32)
            log.warning(
                "ENSEMBLE_SECRET is not set: using a random key, so session tokens "
                "will not survive a restart and processes cannot share them"
            )
        self._serializer = URLSafeTimedSerializer(secret, salt="ensemble.session.v1")

    def sign(self, claims: SessionClaims) -> str:
        return self._serializer.dumps([claims.room, claims.member, claims.role])

    def verify(self, token: str) -> SessionClaims | None:
        try:
            room, member, role = self._serializer.loads(token, max_age=TOKEN_MAX_AGE_S)
        except (BadSignature, ValueError, TypeError):
            return None
        return SessionClaims(room, member, role)
