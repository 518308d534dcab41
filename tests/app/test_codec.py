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
