"""The stored form of a room's state: msgpack of `RoomState.to_dict()`.

Every backend keeps these bytes as the truth (Redis in its hash, memory in a
dict), so what one proves about storing a room holds for the others.
"""

from __future__ import annotations

from typing import Any

import msgpack
import msgspec

from ensemble.core.state import RoomState
from ensemble.wire.codec import EncodeError, pack_msgpack

# msgspec writes a struct as the map of its fields, in order, in C: the same
# bytes as msgpack of `RoomState.to_dict()` (test_redis.py checks), in
# a quarter of the time, with no deep copy. A commit writes the whole state.
_ENCODER = msgspec.msgpack.Encoder()


def dump_state(state: RoomState) -> bytes:
    """The stored form of a room: msgpack of `state.to_dict()`."""
    try:
        return _ENCODER.encode(state)
    except (msgspec.EncodeError, ValueError, OverflowError, TypeError) as exc:
        raise EncodeError(f"cannot store room {state.id}: {type(exc).__name__}") from exc


# Straight into the structs, in C: several times faster than building the
# dicts first. Bytes it does not take as they are (a field's type that differs
# in data written by another version) go the general way, `from_dict`.
_DECODER = msgspec.msgpack.Decoder(RoomState)


def load_state(data: bytes) -> RoomState:
    try:
        return _DECODER.decode(data)
    except msgspec.ValidationError:
        return RoomState.from_dict(msgpack.unpackb(data, raw=False))


def pack(value: Any) -> bytes:
    return pack_msgpack(value)


def unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False)
