"""The one codec: frames to bytes and back, in msgpack or JSON."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any

import msgpack
import msgspec

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


# A JSON escape of a UTF-16 surrogate: the only way a lone surrogate gets into
# a decoded string (WebSocket text is strict UTF-8, and so are msgpack strings
# and HTTP bodies as parse_json reads them).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class DecodeError(ValueError):
    """The frame is not a map with a string `type`, or not valid text."""


class EncodeError(ValueError):
    """A message cannot be encoded in both wire formats; nothing was sent or stored."""


def encode(message: dict[str, Any], fmt: Format) -> bytes:
    if fmt is Format.MSGPACK:
        return encode_msgpack(message)
    return encode_json(message)


# msgspec writes the same bytes as `msgpack.packb(value, use_bin_type=True)`
# (smallest ints, float64, str8 and bin types alike; the protocol vectors hold
# it to that), with the same errors, several times faster.
pack_msgpack = msgspec.msgpack.Encoder().encode
unpack_msgpack = msgspec.msgpack.Decoder().decode  # for bytes this server wrote


def encode_msgpack(message: dict[str, Any]) -> bytes:
    try:
        return pack_msgpack(message)
    except (ValueError, TypeError, OverflowError) as exc:  # UnicodeEncodeError is a ValueError
        raise EncodeError(f"cannot encode as msgpack: {type(exc).__name__}") from exc


# Made once: json.dumps with options builds a new encoder (or decoder) per call.
_JSON_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode_json(message: dict[str, Any]) -> bytes:
    try:
        return _JSON_ENCODER.encode(message).encode()
    except (ValueError, TypeError, OverflowError) as exc:
        raise EncodeError(f"cannot encode as JSON: {type(exc).__name__}") from exc


def parse_json(data: bytes | str) -> Any:
    """Strict JSON: no NaN or Infinity, no lone surrogate in any string or key,
    and nesting too deep for the parser is a DecodeError like any other."""
    if isinstance(data, bytes):
        try:
            # Strict: json.loads(bytes) would let encoded surrogates through.
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError("the text is not valid UTF-8") from None
    else:
        text = data
    try:
        value = _JSON_DECODER.decode(text)
    except DecodeError:
        raise
    except RecursionError:
        raise DecodeError("the json is nested too deeply") from None
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        raise DecodeError("the text is not valid json") from None
    if _SURROGATE_ESCAPE.search(text):
        where = unencodable_text(value)
        if where is not None:
            raise DecodeError(f"{where}: is not valid text (a lone UTF-16 surrogate)")
    return value


def _no_constant(name: str) -> Any:
    raise DecodeError(f"{name} is not a JSON number")


_JSON_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def unencodable_text(value: Any) -> str | None:
    """The path of the first string (value or key, at any depth) that is not
    valid Unicode text, or None. Iterative: depth costs no stack."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if not _encodable(item):
                return path or "the message"
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and not _encodable(key):
                    return f"{path}/(a key)" if path else "(a key)"
                where = f"{path}/{str(key)[:40]}" if path else str(key)[:40]
                stack.append((child, where))
        elif isinstance(item, list):
            stack.extend((child, f"{path}/{i}" if path else str(i))
                         for i, child in enumerate(item))
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def decode(data: bytes | str, fmt: Format) -> dict[str, Any]:
    """Decode one client frame; raise DecodeError with a readable reason."""
    try:
        if fmt is Format.MSGPACK:
            if isinstance(data, str):
                raise DecodeError("this connection speaks msgpack: send binary frames")
            message = msgpack.unpackb(data, raw=False, strict_map_key=True)
        else:
            if isinstance(data, bytes):
                raise DecodeError("this connection speaks json: send text frames")
            message = parse_json(data)
    except DecodeError:
        raise
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise DecodeError(f"the frame is not valid {fmt.value}") from exc
    if not isinstance(message, dict):
        raise DecodeError("a frame is a map")
    if not isinstance(message.get("type"), str):
        raise DecodeError("a frame has a string `type`")
    return message
