"""The stored form of a room's state: msgpack of `RoomState.to_dict()`.

Every backend keeps these bytes as the truth (Redis in its hash, memory in a
dict), so what one proves about storing a room holds for the others.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import msgpack

from ensemble.core.state import RoomState
from ensemble.wire.codec import EncodeError

_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields_of(obj: Any) -> dict[str, Any]:
    """msgpack's hook for the state's dataclasses: their fields, shallowly (msgpack
    recurses). Same result as `RoomState.to_dict()` without asdict's deep copies,
    which cost most of a commit's CPU on a large room."""
    names = _FIELDS.get(type(obj))
    if names is None:
        if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
            raise TypeError(f"cannot store {type(obj).__name__} in room state")
        names = _FIELDS[type(obj)] = tuple(f.name for f in dataclasses.fields(obj))
    return {name: getattr(obj, name) for name in names}


def dump_state(state: RoomState) -> bytes:
    """The stored form of a room: msgpack of `state.to_dict()`."""
    try:
        return msgpack.packb(state, default=_fields_of, use_bin_type=True)
    except (ValueError, OverflowError) as exc:  # UnicodeEncodeError is a ValueError
        raise EncodeError(f"cannot store room {state.id}: {type(exc).__name__}") from exc


def load_state(data: bytes) -> RoomState:
    return RoomState.from_dict(msgpack.unpackb(data, raw=False))


def pack(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


def unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False)
