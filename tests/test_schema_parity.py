"""The compiled validator and the Python one agree on every message we know of.

The server takes the compiled validator's word that a message is valid
(wire/schema.py); this keeps that word the same as the reference validator's,
over the protocol's vectors (valid and invalid) and fuzzed requests full of
nasty text and numbers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ensemble.wire import schema
from tests.support.schema_strategies import requests

VECTORS = Path(__file__).parents[1] / "protocol" / "vectors"
KINDS = {"request": "requests", "event": "events", "reply": "replies"}


def reference_valid(message: Any, kind: str, name: str) -> bool:
    return next(iter(schema._validator(kind, name).iter_errors(message)), None) is None


def agree(message: Any, kind: str = "requests", name: str | None = None) -> None:
    """The fast word is never "valid" where the reference says otherwise (what
    the server relies on); and on text that can be encoded at all (the only
    kind a decoded frame holds) it is the same word."""
    name = name if name is not None else message["type"]
    fast, reference = schema.is_valid(message, kind, name), reference_valid(message, kind, name)
    if fast:
        assert reference, message
    if encodable(message):
        assert fast == reference, message


def encodable(message: Any) -> bool:
    try:
        json.dumps(message, ensure_ascii=False).encode()
    except (UnicodeEncodeError, ValueError):
        return False
    return True


def test_they_agree_on_every_vector():
    for vector in json.loads((VECTORS / "vectors.json").read_text()):
        if vector["kind"] in KINDS:
            agree(vector["json"], KINDS[vector["kind"]])
    for vector in json.loads((VECTORS / "invalid.json").read_text()):
        message = vector["json"]
        if isinstance(message, dict) and schema.known_request(str(message.get("type"))):
            agree(message)


def test_floats_and_non_finite_numbers_take_the_strict_word():
    assert not schema.is_valid({"type": "timer.start", "duration_ms": 1000.0})
    assert not schema.is_valid({"type": "chat.send", "text": "hi", "ref": 1.0})
    assert not schema.is_valid({"type": "ping", "t0": float("nan")})
    assert schema.is_valid({"type": "ping", "t0": 1.5})
    assert schema.is_valid({"type": "timer.start", "duration_ms": 1000})


TYPES = sorted(schema.load_schema()["requests"])


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(requests(TYPES, {"room": st.just("r_abc")}))
def test_they_agree_on_fuzzed_requests(message):
    agree(message)
