"""The protocol/ folder is consistent: schema, codes, vectors and the spec agree.

Independent of the server package on purpose: only msgpack and jsonschema.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import msgpack
import pytest
from jsonschema import Draft202012Validator

from ensemble.wire.codes import RECONNECT_CODES, CloseCode, ErrorCode

PROTOCOL = Path(__file__).resolve().parents[1] / "protocol"
SECTION = {"request": "requests", "event": "events", "reply": "replies"}

# PRODUCT.md section 3: the fixed names.
PRODUCT_REQUESTS = [
    "hello",
    "ping",
    "status.set",
    "timer.start",
    "timer.pause",
    "timer.resume",
    "timer.reset",
    "timer.adjust",
    "sprint.start",
    "sprint.skip",
    "sprint.stop",
    "goal.set",
    "goal.check",
    "hand.raise",
    "hand.lower",
    "turn.pass",
    "turn.next",
    "turn.grant",
    "turn.reorder",
    "turns.config",
    "chat.send",
    "reaction.send",
    "comment.send",
    "note.mentors",
    "tempo.set",
    "tempo.start",
    "tempo.stop",
    "member.set_role",
    "member.remove",
    "room.close",
]
ADDED_REQUESTS = ["turns.clear"]
PRODUCT_EVENTS = [
    "member.joined",
    "member.left",
    "member.status",
    "member.role",
    "timer.changed",
    "sprint.changed",
    "sprint.phase",
    "goal.set",
    "goal.checked",
    "turns.changed",
    "chat.message",
    "reaction",
    "comment",
    "mentor.note",
    "tempo.changed",
    "room.closed",
]
REPLIES = ["ack", "error", "pong", "welcome"]
PRODUCT_ERRORS = [
    "bad_request",
    "unknown_type",
    "unauthorized",
    "forbidden",
    "not_found",
    "conflict",
    "rate_limited",
    "too_large",
    "unavailable",
]
# code -> does the client reconnect: the server's named constants are the source.
CLOSE_CODES = {int(code): code in RECONNECT_CODES for code in CloseCode}


@cache
def schema() -> dict[str, Any]:
    return json.loads((PROTOCOL / "schema.json").read_text(encoding="utf-8"))


@cache
def validator(section: str, type_: str) -> Draft202012Validator:
    # Exactly how the server builds its validators.
    return Draft202012Validator(dict(schema(), **{"$ref": f"#/{section}/{type_}"}))


def load(name: str) -> Any:
    return json.loads((PROTOCOL / "vectors" / name).read_text(encoding="utf-8"))


VECTORS = load("vectors.json")
INVALID = load("invalid.json")


def same(a: Any, b: Any) -> bool:
    """Equal and of the same JSON types all the way down (1 != 1.0 != True)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


# -- the schema document ----------------------------------------------------


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    s = schema()
    Draft202012Validator.check_schema(s)
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert s["$id"] == "https://ensemble.invalid/protocol/v1/schema.json"
    for section in ("$defs", "requests", "events", "replies", "http"):
        assert isinstance(s[section], dict) and s[section], section


def test_every_product_message_has_a_schema() -> None:
    s = schema()
    assert set(s["requests"]) == set(PRODUCT_REQUESTS + ADDED_REQUESTS)
    assert set(s["events"]) == set(PRODUCT_EVENTS)
    assert set(s["replies"]) == set(REPLIES)


@pytest.mark.parametrize("type_", PRODUCT_REQUESTS + ADDED_REQUESTS)
def test_request_schema_is_closed_and_named(type_: str) -> None:
    sub = schema()["requests"][type_]
    assert sub["additionalProperties"] is False
    assert sub["properties"]["type"] == {"const": type_}
    assert sub["properties"]["ref"] == {"$ref": "#/$defs/ref"}
    assert "type" in sub["required"] and "ref" not in sub["required"]


@pytest.mark.parametrize("type_", PRODUCT_EVENTS)
def test_event_schema_uses_the_envelope(type_: str) -> None:
    sub = schema()["events"][type_]
    assert sub["$ref"] == "#/$defs/event_envelope"
    assert sub["properties"]["type"] == {"const": type_}
    assert sub["unevaluatedProperties"] is False


def test_every_internal_ref_resolves() -> None:
    s = schema()

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for ref in set(refs(s)):
        assert ref.startswith("#/"), ref
        node: Any = s
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        assert isinstance(node, dict), ref


# -- vectors ------------------------------------------------------------------


def test_vectors_cover_every_message_type() -> None:
    covered = {(v["kind"], v["json"]["type"]) for v in VECTORS}
    for type_ in PRODUCT_REQUESTS + ADDED_REQUESTS:
        assert ("request", type_) in covered, type_
    for type_ in PRODUCT_EVENTS:
        assert ("event", type_) in covered, type_
    for type_ in REPLIES:
        assert ("reply", type_) in covered, type_


def test_vector_names_are_unique() -> None:
    names = [v["name"] for v in VECTORS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_msgpack_decodes_to_the_json_message(vector: dict[str, Any]) -> None:
    decoded = msgpack.unpackb(bytes.fromhex(vector["msgpack_hex"]), raw=False)
    assert same(decoded, vector["json"])
    # And encoding the message gives the same bytes (keys keep their order).
    assert msgpack.packb(vector["json"], use_bin_type=True).hex() == vector["msgpack_hex"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector_matches_its_schema(vector: dict[str, Any]) -> None:
    message = vector["json"]
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator(SECTION[vector["kind"]], message["type"]).iter_errors(message)
    ]
    assert errors == []


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector_key_order(vector: dict[str, Any]) -> None:
    keys = list(vector["json"])
    if vector["kind"] == "event":
        assert keys[:5] == ["type", "stream", "seq", "at", "actor"]
    elif vector["kind"] == "request":
        assert keys[0] == "type"
        assert "ref" not in keys or keys[1] == "ref"
    else:
        assert keys[0] == "type"
        if vector["json"]["type"] in ("ack", "error"):
            assert keys[1] == "ref"


def test_vectors_are_generated_from_the_source() -> None:
    result = subprocess.run(
        [sys.executable, str(PROTOCOL / "vectors" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_event_seqs_of_one_stream_in_the_story_never_repeat() -> None:
    seen: dict[tuple[str, int], str] = {}
    for v in VECTORS:
        if v["kind"] != "event":
            continue
        message = v["json"]
        key = (message["stream"], message["seq"])
        # The same event may appear twice only as itself (e.g. in welcome.recent).
        assert key not in seen or seen[key] == json.dumps(message), key
        seen[key] = json.dumps(message)


def test_private_comment_goes_to_direct_and_mentors_never_room() -> None:
    private = [
        v["json"]
        for v in VECTORS
        if v["kind"] == "event" and v["json"]["type"] == "comment" and v["json"]["private"]
    ]
    assert {m["stream"] for m in private} == {"direct", "mentors"}
    leaked = dict(private[0], stream="room")
    assert not validator("events", "comment").is_valid(leaked)


# -- invalid requests ---------------------------------------------------------


@pytest.mark.parametrize("case", INVALID, ids=[c["name"] for c in INVALID])
def test_invalid_request_fails_validation(case: dict[str, Any]) -> None:
    message = case["json"]
    assert case["error"] == "bad_request"
    assert message["type"] in schema()["requests"]
    assert not validator("requests", message["type"]).is_valid(message)


@pytest.mark.parametrize(
    "message",
    [
        {"type": "chat.send", "ref": 1},  # missing field
        {"type": "status.set", "status": "sleeping"},  # wrong enum
        {"type": "chat.send", "text": "x" * 2001},  # too long
        {"type": "note.mentors", "text": "ok", "pinned": True},  # extra field
        {"type": "comment.send", "text": "psst", "private": True},  # private without to
        {"type": "tempo.set", "bpm": 19, "beats_per_bar": 4},  # out of range
        {"type": "turn.reorder", "queue": ["m_1"] * 2},  # duplicate ids
        {"type": "hello", "room": "r_1", "name": "A", "token": "t", "role": "observer"},
        {"type": "timer.pause", "ref": True},  # a ref is a string or an integer
        {"type": "timer.pause", "ref": 2**53},  # beyond what a JS number holds
    ],
)
def test_bad_requests_fail(message: dict[str, Any]) -> None:
    assert not validator("requests", message["type"]).is_valid(message)


@pytest.mark.parametrize(
    "message",
    [
        {"type": "comment.send", "text": "ok", "private": False},
        {"type": "comment.send", "text": "ok", "to": "m_1", "private": True},
        {"type": "timer.pause", "ref": "x" * 64},
        {"type": "timer.pause", "ref": -(2**53) + 1},
        {"type": "turns.config", "mode": "queue", "turn_ms": None},
        {"type": "ping", "t0": 0},
    ],
)
def test_edge_requests_pass(message: dict[str, Any]) -> None:
    assert validator("requests", message["type"]).is_valid(message)


def test_invalid_cases_cover_the_usual_mistakes() -> None:
    names = " ".join(c["name"] for c in INVALID)
    for word in ("missing", "wrong enum", "too long", "extra field", "private without to"):
        assert word in names, word


# -- codes ----------------------------------------------------------------------


def test_codes_list_every_error_code() -> None:
    codes = json.loads((PROTOCOL / "codes.json").read_text(encoding="utf-8"))
    assert set(codes["errors"]) == set(PRODUCT_ERRORS)
    assert all(isinstance(m, str) and m for m in codes["errors"].values())
    assert set(schema()["replies"]["error"]["properties"]["code"]["enum"]) == set(PRODUCT_ERRORS)
    assert set(schema()["http"]["error"]["properties"]["error"]["properties"]["code"]["enum"]) == (
        set(PRODUCT_ERRORS)
    )


def test_error_codes_are_the_servers_named_constants() -> None:
    codes = json.loads((PROTOCOL / "codes.json").read_text(encoding="utf-8"))["errors"]
    assert set(codes) == {code.value for code in ErrorCode}


def test_close_codes_say_whether_to_reconnect() -> None:
    codes = json.loads((PROTOCOL / "codes.json").read_text(encoding="utf-8"))["close_codes"]
    assert {int(c): v["reconnect"] for c, v in codes.items()} == CLOSE_CODES
    for entry in codes.values():
        assert set(entry) == {"name", "meaning", "reconnect"}
        assert entry["name"].isidentifier() and entry["meaning"]


# -- the readable spec -----------------------------------------------------------


def test_spec_names_every_message_and_code() -> None:
    text = (PROTOCOL / "PROTOCOL.md").read_text(encoding="utf-8")
    codes = json.loads((PROTOCOL / "codes.json").read_text(encoding="utf-8"))
    names = PRODUCT_REQUESTS + ADDED_REQUESTS + PRODUCT_EVENTS + REPLIES + PRODUCT_ERRORS
    for name in names + list(codes["close_codes"]):
        assert f"`{name}`" in text, name


def spec_blocks(lang: str) -> list[str]:
    """The fenced code blocks of PROTOCOL.md tagged `lang` ("" for untagged)."""
    blocks: list[str] = []
    current: list[str] | None = None
    current_lang = ""
    for line in (PROTOCOL / "PROTOCOL.md").read_text(encoding="utf-8").splitlines():
        if current is None and line.startswith("```"):
            current, current_lang = [], line[3:].strip()
        elif current is not None and line.strip() == "```":
            if current_lang == lang:
                blocks.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def test_spec_http_examples_match_the_schema() -> None:
    blocks = [json.loads(b) for b in spec_blocks("json")]
    names = ["create_room.request", "create_room.response", "room_list", "room", "report",
             "create_person.response", "me", "me_sessions", "create_group.response",
             "update_group.request", "group", "board", "group_report"]
    assert len(blocks) == len(names)
    for name, body in zip(names, blocks, strict=True):
        assert validator("http", name).is_valid(body), name


def test_spec_worked_examples_match_the_schema() -> None:
    checked = 0
    for block in spec_blocks(""):
        messages: list[tuple[str, str]] = []
        for line in block.splitlines():
            if line[:2] in ("→ ", "← "):
                messages.append((line[0], line[2:]))
            elif messages and line.startswith("   ") and not line.lstrip().startswith("…"):
                messages[-1] = (messages[-1][0], messages[-1][1] + line.strip())
        for direction, raw in messages:
            try:
                message = json.loads(raw)
            except json.JSONDecodeError:
                assert "…" in raw, raw  # abridged on purpose
                continue
            type_ = message["type"]
            if direction == "→":
                section = "requests"
            else:
                section = "events" if type_ in PRODUCT_EVENTS else "replies"
            assert validator(section, type_).is_valid(message), raw
            checked += 1
    assert checked >= 6
