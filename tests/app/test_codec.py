"""The server's codec reproduces every protocol test vector byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ensemble.wire.codec import Format, decode, encode_json, encode_msgpack

VECTORS = json.loads(
    (Path(__file__).parents[2] / "protocol" / "vectors" / "vectors.json").read_text()
)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector_round_trips_through_the_server_codec(vector):
    message = vector["json"]
    assert encode_msgpack(message) == bytes.fromhex(vector["msgpack_hex"])
    assert decode(bytes.fromhex(vector["msgpack_hex"]), Format.MSGPACK) == message
    assert decode(encode_json(message).decode(), Format.JSON) == message


def test_what_cannot_be_encoded_raises_encode_error():
    from ensemble.transport.errors import error_for
    from ensemble.wire.codec import EncodeError
    from ensemble.wire.codes import ErrorCode

    for encoder, message in (
        (encode_json, {"text": "\ud800"}), (encode_msgpack, {"text": "\ud800"}),
        (encode_json, {"t0": float("nan")}), (encode_json, {"t0": float("inf")}),
        (encode_msgpack, {"n": 2**70}), (encode_json, {"x": object()}),
        (encode_msgpack, {"x": object()}),
    ):
        with pytest.raises(EncodeError):
            encoder(message)
    # A request whose events cannot be encoded is refused; the connection stays.
    assert error_for(EncodeError("x"))[0] is ErrorCode.BAD_REQUEST
