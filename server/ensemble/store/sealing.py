"""A mentor's copy of their group's mentor key, sealed with their own person key.

Authenticated encryption from the `cryptography` package: AES-256-GCM under
a key derived from the person key with HKDF-SHA256, the group and the person
named in the derivation's info and again as associated data. The database
holds neither the person key nor the mentor key, so it alone reveals
nothing; a value that does not open (tampered, another key, the wrong group
or person, not ours at all) is no copy, never an error.

Stored as url-safe base64 of nonce (12 bytes) + ciphertext + tag (16 bytes).
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CONTEXT = "ensemble.group-mentor-key.v2"
NONCE_BYTES = 12
SEALED_MAX = 128  # characters: the column's width, ample for a 22-character key


def _context(group_id: str, person_id: str) -> bytes:
    return f"{CONTEXT}:{group_id}:{person_id}".encode()


def _cipher(person_key: str, context: bytes) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=context).derive(
        person_key.encode()
    )
    return AESGCM(key)


def seal(secret: str, person_key: str, group_id: str, person_id: str) -> str:
    context = _context(group_id, person_id)
    nonce = os.urandom(NONCE_BYTES)
    sealed = nonce + _cipher(person_key, context).encrypt(nonce, secret.encode(), context)
    text = base64.urlsafe_b64encode(sealed).decode()
    if len(text) > SEALED_MAX:
        raise ValueError(f"a sealed secret must fit {SEALED_MAX} characters")
    return text


def unseal(sealed: str, person_key: str, group_id: str, person_id: str) -> str | None:
    """The secret, or None when `sealed` does not open with this key for this member."""
    context = _context(group_id, person_id)
    try:
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
        if len(raw) <= NONCE_BYTES:
            return None
        opened = _cipher(person_key, context).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                                      context)
        return opened.decode()
    except (InvalidTag, binascii.Error, ValueError):  # UnicodeError is a ValueError
        return None
