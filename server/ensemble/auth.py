"""Credentials: unguessable room secrets and signed session tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

TOKEN_MAX_AGE_S = 7 * 24 * 3600


def new_secret() -> str:
    """An invite code or host key: 128 bits from the OS's CSPRNG."""
    return secrets.token_urlsafe(16)


def new_signing_key() -> str:
    return secrets.token_urlsafe(32)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(5)}"


@dataclass(frozen=True, slots=True)
class SessionClaims:
    room: str
    member: str
    role: str


class TokenSigner:
    """Signs and checks session tokens (room, member, role) with itsdangerous.

    Signs with the newest key and accepts tokens of every key it was given
    (`adopt` adds one, e.g. when processes converge on a shared key).
    """

    MAX_KEYS = 4

    def __init__(self, key: str) -> None:
        if not key:
            raise ValueError("TokenSigner needs a key")
        self._keys = [key]
        self._serializer = URLSafeTimedSerializer(self._keys, salt="ensemble.session.v1")

    @property
    def key(self) -> str:
        """The key new tokens are signed with."""
        return self._keys[-1]

    def adopt(self, key: str) -> None:
        if key == self.key:
            return
        self._keys = [*(k for k in self._keys if k != key), key][-self.MAX_KEYS:]
        self._serializer = URLSafeTimedSerializer(self._keys, salt="ensemble.session.v1")

    def sign(self, claims: SessionClaims) -> str:
        return self._serializer.dumps([claims.room, claims.member, claims.role])

    def verify(self, token: str) -> SessionClaims | None:
        try:
            room, member, role = self._serializer.loads(token, max_age=TOKEN_MAX_AGE_S)
        except (BadSignature, ValueError, TypeError):
            return None
        return SessionClaims(room, member, role)
