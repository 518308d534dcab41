"""The one codec: frames to bytes and back, in msgpack or JSON."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

import msgpack

MSGPACK_SUBPROTOCOL = "ensemble.v1.msgpack"
JSON_SUBPROTOCOL = "ensemble.v1.json"


class Format(StrEnum):
    MSGPACK = "msgpack"
    JSON = "json"

    @classmethod
    def for_subprotocols(cls, offered: list[str]) -> tuple[Format, str | None]:
        """Pick the wire format from the client's offer; JSON when it offers neither."""
        if MSGPACK_SUBPROTOCOL in offered:
            return cls.MSGPACK, MSGPACK_SUBPROTOCOL
        if JSON_SUBPROTOCOL in offered:
            return cls.JSON, JSON_SUBPROTOCOL
        return cls.JSON, None


class DecodeError(ValueError):
    """The frame is not a map with a string `type`."""


def encode(message: dict[str, Any], fmt: Format) -> bytes:
    if fmt is Format.MSGPACK:
        return encode_msgpack(message)
    return encode_json(message)


def encode_msgpack(message: dict[str, Any]) -> bytes:
    return msgpack.packb(message, use_bin_type=True)


def encode_json(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def decode(data: bytes | str, fmt: Format) -> dict[str, Any]:
    """Decode one client frame; raise DecodeError with a readable reason."""
    try:
        if fmt is Format.MSGPACK:
            if isinstance(data, str):
                raise DecodeError("this connection speaks msgpack: send binary frames")
            message = msgpack.unpackb(data, raw=False, strict_map_key=True)
        else:
            message = json.loads(data)
    except DecodeError:
        raise
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise DecodeError(f"the frame is not valid {fmt.value}") from exc
    if not isinstance(message, dict):
        raise DecodeError("a frame is a map")
    if not isinstance(message.get("type"), str):
        raise DecodeError("a frame has a string `type`")
    return message
