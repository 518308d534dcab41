"""A packet: one event encoded once per wire format, plus what routing needs.

The backends store and publish packets as opaque bytes; the hub routes them by
`key` (room, mentors or direct:<member>) and sends `data[fmt]` unchanged to
every socket of that format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgpack

from ensemble.core.events import Effect, Event
from ensemble.wire.codec import Format, encode_json, encode_msgpack, pack_msgpack, unpack_msgpack


@dataclass(frozen=True, slots=True)
class Packet:
    key: str
    seq: int
    type: str
    at: int
    msgpack: bytes
    json: str  # a text frame's payload
    effect: Effect | None = None  # the connections the event ends (never sent to clients)
    # The WebSocket frame of each format, made once by the first socket that
    # sends it (transport/outbox.py) and shared by the others.
    frames: dict[Format, bytes] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, event: Event) -> Packet:
        message = event.message()
        return cls(
            event.history_key,
            event.seq,
            event.type,
            event.at,
            encode_msgpack(message),
            encode_json(message).decode(),
            event.effect,
        )

    @property
    def stream(self) -> str:
        return self.key.partition(":")[0]

    @property
    def member(self) -> str | None:
        """The member a direct packet is for."""
        return self.key.partition(":")[2] or None

    def data(self, fmt: Format) -> bytes | str:
        return self.msgpack if fmt is Format.MSGPACK else self.json

    def to_bytes(self) -> bytes:
        fields: list[Any] = [self.key, self.seq, self.type, self.at, self.msgpack, self.json]
        if self.effect is not None:
            fields.append(self.effect.to_list())
        return pack_msgpack(fields)

    @classmethod
    def from_bytes(cls, data: bytes) -> Packet:
        key, seq, type_, at, mp, js, *rest = unpack_msgpack(data)
        return cls(key, seq, type_, at, mp, js, Effect(*rest[0]) if rest else None)

    def message(self) -> dict[str, Any]:
        """The event decoded again (for the few places that look inside)."""
        return msgpack.unpackb(self.msgpack, raw=False)
