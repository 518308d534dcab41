"""Strict input over a real socket and real HTTP: text that cannot be encoded,
numbers of the wrong kind, names with control or bidi characters, deep nesting
and oversized bodies are refused with a short error, and nothing is stored, so
the room, its listing and its report keep working."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import msgpack
import pytest
import websockets

from ensemble.client import Client
from tests.support.rooms import Rooms

pytestmark = pytest.mark.timeout(60)

SURROGATE = "x\ud800y"  # a lone high surrogate: no UTF-8 for it


async def reply_to(client: Client, frame: Any) -> dict[str, Any]:
    """Send a raw frame and return the next ack or error."""
    await client.send(frame)
    return await client.wait_for(lambda e: e["type"] in ("error", "ack"), timeout=5)


async def still_alive(client: Client) -> None:
    await client.sync_clock(samples=1)
    assert client.closed is None


def samples(target: str) -> dict[str, dict[str, Any]]:
    """A valid request of every type that carries text."""
    return {
        "status.set": {"status": "away", "text": "practising"},
        "timer.start": {"duration_ms": 60_000, "label": "Warm-up"},
        "sprint.start": {"phases": [{"name": "Focus", "kind": "focus", "duration_ms": 60_000}],
                         "rounds": 1},
        "goal.set": {"text": "slow scales"},
        "goal.check": {"result": "done", "note": "went well"},
        "turn.grant": {"member_id": target},
        "turn.reorder": {"queue": [target]},
        "chat.send": {"text": "hello"},
        "reaction.send": {"emoji": "👏", "to": target},
        "comment.send": {"text": "nice", "to": target, "private": True},
        "note.mentors": {"text": "a note"},
        "member.set_role": {"member_id": target, "role": "observer"},
        "member.remove": {"member_id": target},
    }


def text_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every string in a request, at any depth."""
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from text_paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from text_paths(item, (*path, i))


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = replaced(value[path[0]], path[1:], new)
    return copy


async def room_still_works(rooms: Rooms, room: dict[str, Any]) -> None:
    """A newcomer gets a welcome (the snapshot encodes), the listing, the room
    and the report answer, and no stored text is broken."""
    newcomer = await rooms.join(room, "Newcomer", encoding="json")
    assert "\ud800" not in json.dumps(newcomer.snapshot)
    async with httpx.AsyncClient(base_url=rooms.server.http) as http:  # type: ignore[union-attr]
        assert (await http.get("/api/rooms")).status_code == 200
        assert (await http.get(f"/api/rooms/{room['room_id']}")).status_code == 200
        report = await http.get(f"/api/rooms/{room['room_id']}/report",
                                headers={"Authorization": f"Bearer {room['host_key']}"})
        assert report.status_code == 200


async def test_a_lone_surrogate_in_any_text_of_any_request_is_refused(rooms):
    room = await rooms.create()
    mia = await rooms.join(room, "Mia", mentor=True, encoding="json")
    pat = await rooms.join(room, "Pat", encoding="json")
    checked = 0
    for type_, payload in samples(pat.member_id).items():
        request = {"type": type_, "ref": "r", **payload}
        for path in text_paths(request):
            if path == ("type",):
                continue
            frame = replaced(request, path, SURROGATE)
            reply = await reply_to(mia, json.dumps(frame))  # ASCII: "\ud800" as an escape
            where = "/".join(map(str, path))
            assert (reply["type"], reply["code"]) == ("error", "bad_request"), (type_, where)
            assert reply["message"].startswith(f"{where}: "), reply["message"]
            assert len(reply["message"]) < 120
            checked += 1
    # and in a key, at depth
    reply = await reply_to(mia, json.dumps({"type": "sprint.start", "phases": [
        {"name": "F", "kind": "focus", "duration_ms": 1, "\udc00": 1}]}))
    assert reply["code"] == "bad_request"
    assert checked >= 20
    await still_alive(mia)
    await still_alive(pat)
    assert all("\ud800" not in json.dumps(e) for e in pat.drain() if isinstance(e, dict))
    await room_still_works(rooms, room)


async def test_a_hello_whose_name_cannot_be_encoded_is_refused(rooms):
    room = await rooms.create()
    async with websockets.connect(rooms.server.ws, subprotocols=["ensemble.v1.json"]) as ws:
        await ws.send(json.dumps({"type": "hello", "room": room["room_id"], "name": SURROGATE,
                                  "invite": room["invite"]}))
        reply = json.loads(await ws.recv())
        assert (reply["code"], reply["message"][:6]) == ("bad_request", "name: ")
        # An unreadable frame is not known to be a hello: the socket may say hello again.
        await ws.send(json.dumps({"type": "hello", "room": room["room_id"], "name": "Eve",
                                  "invite": room["invite"]}))
        welcome = json.loads(await ws.recv())
        assert welcome["type"] == "welcome"
        assert [m["name"] for m in welcome["snapshot"]["members"]] == ["Eve"]
    await room_still_works(rooms, room)


async def test_http_bodies_must_be_valid_utf8(server):
    async with httpx.AsyncClient(base_url=server.http) as http:
        for raw in (b'{"title":"\xed\xa0\x80","visibility":"public"}',  # an encoded surrogate
                    b'{"title":"\xff","visibility":"public"}'):
            reply = await http.post("/api/rooms", content=raw)
            assert reply.status_code == 400, raw
        assert (await http.get("/api/rooms")).status_code == 200


@pytest.mark.parametrize("body", [
    {"title": SURROGATE},
    {"title": "ok", "program": {"phases": [{"name": SURROGATE, "kind": "focus",
                                            "duration_ms": 1000}]}},
])
async def test_http_text_that_cannot_be_encoded_is_refused(server, body):
    async with httpx.AsyncClient(base_url=server.http) as http:
        reply = await http.post("/api/rooms", content=json.dumps(body),
                                headers={"Content-Type": "application/json"})
        assert reply.status_code == 400
        assert reply.json()["error"]["code"] == "bad_request"
        assert (await http.get("/api/rooms")).status_code == 200


async def test_msgpack_strings_must_be_valid_utf8(rooms):
    """msgpack is read with raw=False: invalid UTF-8, an encoded surrogate among
    it, never becomes a string."""
    room = await rooms.create()
    pat = await rooms.join(room, "Pat")
    head = b"\x82" + msgpack.packb("type") + msgpack.packb("chat.send") + msgpack.packb("text")
    for bad in (b"\xa3\xed\xa0\x80", b"\xa2\xc3\x28", b"\xa1\xff"):
        reply = await reply_to(pat, head + bad)
        assert reply["code"] == "bad_request", bad
    await still_alive(pat)
    await room_still_works(rooms, room)


# -- strict wire types -------------------------------------------------------------


async def test_a_binary_frame_on_the_json_subprotocol_is_refused(rooms):
    room = await rooms.create()
    pat = await rooms.join(room, "Pat", encoding="json")
    reply = await reply_to(pat, json.dumps({"type": "chat.send", "text": "hi"}).encode())
    assert reply["code"] == "bad_request"
    assert "text frames" in reply["message"]
    await still_alive(pat)


@pytest.mark.parametrize("encoding", ["json", "msgpack"])
async def test_floats_are_refused_in_integer_fields(rooms, encoding):
    room = await rooms.create()
    mia = await rooms.join(room, "Mia", mentor=True, encoding=encoding)
    for frame in (
        {"type": "timer.start", "duration_ms": 60_000.0},
        {"type": "tempo.set", "bpm": 100.0, "beats_per_bar": 4},
        {"type": "timer.start", "duration_ms": 60_000, "ref": 1.0},
        {"type": "sprint.start", "rounds": 1.0,
         "phases": [{"name": "F", "kind": "focus", "duration_ms": 1000}]},
    ):
        reply = await reply_to(mia, frame)
        assert reply["code"] == "bad_request", frame
    assert mia.drain() == []  # nothing happened
    await still_alive(mia)


async def test_ping_t0_must_be_finite(rooms):
    room = await rooms.create()
    pat = await rooms.join(room, "Pat", encoding="json")
    for text in ('{"type":"ping","t0":NaN}', '{"type":"ping","t0":Infinity}',
                 '{"type":"ping","t0":-Infinity}', '{"type":"ping","t0":1e400}'):
        reply = await reply_to(pat, text)
        assert reply["code"] == "bad_request", text
    packed = await rooms.join(room, "Pam")
    for t0 in (float("nan"), float("inf")):
        reply = await reply_to(packed, msgpack.packb({"type": "ping", "t0": t0}))
        assert reply["code"] == "bad_request", t0
    await still_alive(pat)
    await still_alive(packed)


@pytest.mark.parametrize("name", [
    "Ev\x07e", "Eve\n", "\x00", "Mal\u202eory", "\u2066Eve\u2069", "\u200b\u200b",
    "\ufeff", "\u3164", "\u2800", " \u00a0 ",
])
async def test_names_refuse_control_bidi_and_invisible_text(rooms, name):
    room = await rooms.create()
    async with websockets.connect(rooms.server.ws, subprotocols=["ensemble.v1.json"]) as ws:
        await ws.send(json.dumps({"type": "hello", "room": room["room_id"], "name": name,
                                  "invite": room["invite"]}))
        reply = json.loads(await ws.recv())
        assert reply["code"] == "bad_request"
        assert reply["message"].startswith("name: ")
    async with httpx.AsyncClient(base_url=rooms.server.http) as http:
        reply = await http.post("/api/rooms", json={"title": name, "visibility": "public"})
        assert reply.status_code == 400, name
        assert reply.json()["error"]["message"].startswith("title: ")


@pytest.mark.parametrize("name", ["Zoë", "李雷", "Ana María", "🎻 Vi"])
async def test_names_in_any_script_are_welcome(rooms, name):
    room = await rooms.create(title=name)
    client = await rooms.join(room, name)
    assert client.snapshot["members"][-1]["name"] == name


async def test_json_nested_too_deep_is_a_bad_request(rooms):
    room = await rooms.create()
    pat = await rooms.join(room, "Pat", encoding="json")
    reply = await reply_to(pat, "[" * 60_000)
    assert (reply["code"], reply["message"]) == ("bad_request", "the json is nested too deeply")
    reply = await reply_to(pat, '{"type":"chat.send","text":' + "[" * 30_000 + "]" * 30_000 + "}")
    assert reply["code"] == "bad_request"
    await still_alive(pat)
    packed = await rooms.join(room, "Pam")
    reply = await reply_to(packed, b"\x91" * 60_000)
    assert reply["code"] == "bad_request"
    await still_alive(packed)


async def test_bad_request_messages_do_not_echo_the_request(rooms):
    room = await rooms.create()
    secret = "S3CRET" * 10
    async with websockets.connect(rooms.server.ws, subprotocols=["ensemble.v1.json"]) as ws:
        await ws.send(json.dumps({"type": "hello", "room": room["room_id"], "name": "Eve",
                                  "invite": secret, "host_key": secret}))
        reply = json.loads(await ws.recv())
        assert reply["code"] == "bad_request"
        assert "S3CRET" not in reply["message"]
        assert reply["message"] == "the message: needs exactly one of invite, host_key, token"
    pat = await rooms.join(room, "Pat", encoding="json")
    big = "B" * 5000
    for frame in (
        {"type": "chat.send", "text": "hi", "extra": big},
        {"type": "chat.send", "text": [big]},
        {"type": "status.set", "status": big},
        {"type": "reaction.send", "emoji": big},
        {"type": "turn.reorder", "queue": [big, big]},
        {"type": "comment.send", "text": "x", "private": True, "anchor": {big: big}},
        {"type": "X" * 5000},
    ):
        reply = await reply_to(pat, frame)
        assert reply["type"] == "error", frame
        # At most a field or type name is named, cut at 40 characters.
        assert "B" * 41 not in reply["message"] and "X" * 41 not in reply["message"]
        assert len(reply["message"]) <= 120, reply["message"]
    reply = await reply_to(pat, {"type": "chat.send", "text": "hi", "colour": "red"})
    assert reply["message"] == "the message: has a field that is not allowed here: colour"
    await still_alive(pat)


# -- HTTP bodies -------------------------------------------------------------------


async def read_response(reader: asyncio.StreamReader) -> tuple[int, str]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    status = int(head.split(b" ", 2)[1])
    return status, head.decode("latin-1").lower()


async def test_a_body_over_the_limit_is_refused_without_reading_the_rest(server):
    """413 as soon as the body passes 64 KiB: the client has not finished sending
    (and never will), yet the answer comes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(b"POST /api/rooms HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"[" + b" " * (16 * 1024)
        for _ in range(5):  # 80 KiB, then silence: the chunked body never ends
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()
        status, head = await read_response(reader)
        assert status == 413
        assert "x-content-type-options: nosniff" in head
    finally:
        writer.close()


async def test_a_content_length_over_the_limit_is_refused_up_front(server):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(b"POST /api/rooms HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100000000\r\n\r\n{")
        await writer.drain()
        status, _ = await read_response(reader)
        assert status == 413
    finally:
        writer.close()
    async with httpx.AsyncClient(base_url=server.http) as http:
        reply = await http.post("/api/rooms", content=b" " * (64 * 1024 + 1))
        assert reply.status_code == 413
        assert reply.json()["error"]["code"] == "too_large"


@pytest.mark.parametrize("content", [
    b"[" * 60_000, b'{"title":' + b"[" * 50_000, b'{"title":"x","visibility":NaN}',
    b'{"title":"x","program":{"phases":[{"name":"F","kind":"focus","duration_ms":1000.0}]}}',
])
async def test_hostile_json_bodies_are_400_never_500(server, content):
    async with httpx.AsyncClient(base_url=server.http) as http:
        reply = await http.post("/api/rooms", content=content)
        assert reply.status_code == 400, reply.text
        assert reply.json()["error"]["code"] == "bad_request"


# -- nosniff -------------------------------------------------------------------------


async def test_every_kind_of_response_says_nosniff(rooms):
    room = await rooms.create()
    key = {"Authorization": f"Bearer {room['host_key']}"}
    async with httpx.AsyncClient(base_url=rooms.server.http) as http:
        replies = {
            "api": await http.get("/api/rooms"),
            "room": await http.get(f"/api/rooms/{room['room_id']}"),
            "report": await http.get(f"/api/rooms/{room['room_id']}/report", headers=key),
            "created": await http.post("/api/rooms", json={"title": "t", "visibility": "public"}),
            "error 400": await http.post("/api/rooms", json={}),
            "error 401": await http.get(f"/api/rooms/{room['room_id']}/report"),
            "error 404": await http.get("/api/rooms/r_missing"),
            "no route": await http.get("/no/such/page"),
            "wrong method": await http.delete("/api/rooms"),
            "static": await http.get("/static/js/room.js"),
            "static 404": await http.get("/static/js/nope.js"),
            "metrics": await http.get("/metrics"),
            "health": await http.get("/healthz"),
            "ready": await http.get("/readyz"),
            "page": await http.get("/"),
            "room page": await http.get(f"/r/{room['room_id']}"),
            "report page": await http.get(f"/r/{room['room_id']}/report"),
        }
    for kind, reply in replies.items():
        assert reply.headers.get("x-content-type-options") == "nosniff", (kind, reply.status_code)
    assert replies["no route"].status_code == 404 and replies["static"].status_code == 200
