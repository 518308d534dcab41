"""Every bad request gets the right error code, and the connection survives."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import msgpack
import pytest
import websockets

from ensemble.client import Client, ClientError
from ensemble.core.room import HANDLERS

pytestmark = pytest.mark.timeout(60)

PROTOCOL = Path(__file__).parents[2] / "protocol"
INVALID = json.loads((PROTOCOL / "vectors" / "invalid.json").read_text())


async def raw_reply(client: Client, frame) -> dict:
    """Send a raw frame and return the next error or ack."""
    await client.send(frame)
    return await client.wait_for(lambda e: e["type"] in ("error", "ack"), timeout=5)


async def still_alive(client: Client) -> None:
    _offset, _ = await client.sync_clock(samples=1)
    assert client.closed is None


@pytest.mark.parametrize("encoding", ["json", "msgpack"])
async def test_invalid_payloads_are_bad_requests(rooms, encoding):
    room = await rooms.create()
    mia = await rooms.join(room, "Mia", mentor=True, encoding=encoding)
    for case in INVALID:
        frame = dict(case["json"])
        if frame["type"] == "hello":
            continue  # covered below: a refused hello closes the connection
        reply = await raw_reply(mia, frame)
        assert reply["type"] == "error", case["name"]
        assert reply["code"] == case["error"], case["name"]
    await still_alive(mia)


async def test_every_request_with_an_unknown_field_is_a_bad_request(rooms):
    room = await rooms.create()
    mia = await rooms.join(room, "Mia", mentor=True)
    for type_ in sorted(HANDLERS):
        with pytest.raises(ClientError) as refused:
            await mia.request(type_, surprise=1)
        assert refused.value.code == "bad_request", type_
    await still_alive(mia)


# Who may send what: test_roles_e2e.py, from PROTOCOL.md (not from HANDLERS).


async def test_unknown_types_and_broken_frames(rooms):
    room = await rooms.create()
    pat = await rooms.join(room, "Pat", encoding="json")
    reply = await raw_reply(pat, {"type": "timer.explode", "ref": 7})
    assert (reply["code"], reply["ref"]) == ("unknown_type", 7)
    for frame in ("{not json", "[1, 2]", '{"ref": 1}', '{"type": 5}'):
        reply = await raw_reply(pat, frame)
        assert reply["code"] == "bad_request", frame
    reply = await raw_reply(pat, "x" * (64 * 1024 + 1))
    assert reply["code"] == "too_large" and reply["ref"] is None
    reply = await raw_reply(pat, json.dumps({"type": "chat.send", "text": "é" * 40_000}))
    assert reply["code"] == "too_large"  # 80 000 bytes, though 40 000 characters
    await still_alive(pat)


async def test_msgpack_connection_refuses_garbage(rooms):
    room = await rooms.create()
    pat = await rooms.join(room, "Pat")
    reply = await raw_reply(pat, b"\xc1\xc1\xc1")
    assert reply["code"] == "bad_request"
    reply = await raw_reply(pat, msgpack.packb([1, 2]))
    assert reply["code"] == "bad_request"
    reply = await raw_reply(pat, "text frame")
    assert reply["code"] == "bad_request"
    await still_alive(pat)


async def test_not_found_and_conflict(rooms):
    room = await rooms.create()
    mia = await rooms.join(room, "Mia", mentor=True)
    with pytest.raises(ClientError) as refused:
        await mia.request("turn.grant", member_id="m_nobody")
    assert refused.value.code == "not_found"
    with pytest.raises(ClientError) as refused:
        await mia.request("timer.pause")
    assert refused.value.code == "conflict"


async def test_too_many_requests_are_rate_limited_then_cut(default_rooms):
    rooms = default_rooms
    room = await rooms.create()
    pat = await rooms.join(room, "Pat")
    codes = []
    for i in range(60):
        await pat.send({"type": "status.set", "ref": i, "status": "focus"})
    for _ in range(60):
        reply = await pat.wait_for(lambda e: e["type"] in ("ack", "error"), timeout=5)
        codes.append(reply.get("code", "ack"))
    assert "rate_limited" in codes and codes[0] == "ack"
    # Limited, not disconnected: once the bucket refills, requests go through.
    for _ in range(50):
        try:
            await pat.request("status.set", status="active")
            break
        except ClientError as refused:
            assert refused.code == "rate_limited"
            await asyncio.sleep(0.1)
    else:
        pytest.fail("requests stayed rate limited")

    async with websockets.connect(rooms.server.ws, subprotocols=["ensemble.v1.json"]) as ws:
        await ws.send(json.dumps({"type": "hello", "room": room["room_id"], "name": "Spam",
                                  "invite": room["invite"]}))
        for i in range(200):
            await ws.send(json.dumps({"type": "chat.send", "ref": i, "text": "spam"}))
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await ws.recv()
        assert ws.close_code == 4008


async def test_requests_before_hello_are_unauthorized(server):
    async with websockets.connect(server.ws) as ws:  # no subprotocol: JSON
        assert ws.subprotocol is None
        await ws.send(json.dumps({"type": "chat.send", "ref": "a", "text": "hi"}))
        reply = json.loads(await ws.recv())
        assert (reply["type"], reply["code"], reply["ref"]) == ("error", "unauthorized", "a")
        await ws.send(json.dumps({"type": "ping", "t0": 1}))
        assert json.loads(await ws.recv())["type"] == "pong"


@pytest.mark.parametrize("credential, code", [
    ({"invite": "wrong"}, "unauthorized"),
    ({"host_key": "wrong"}, "unauthorized"),
    ({"token": "forged.token"}, "unauthorized"),
])
async def test_refused_hello_gets_an_error_then_close_1008(rooms, credential, code):
    room = await rooms.create()
    async with websockets.connect(rooms.server.ws, subprotocols=["ensemble.v1.json"]) as ws:
        await ws.send(json.dumps({"type": "hello", "room": room["room_id"], "name": "Eve",
                                  **credential}))
        reply = json.loads(await ws.recv())
        assert (reply["type"], reply["code"]) == ("error", code)
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 1008


async def test_hello_for_an_unknown_room_is_not_found(server):
    async with websockets.connect(server.ws) as ws:
        await ws.send(json.dumps({"type": "hello", "room": "r_nothere", "name": "Eve",
                                  "invite": "x"}))
        reply = json.loads(await ws.recv())
        assert reply["code"] == "not_found"
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 4103  # room_gone: terminal, the room does not exist


async def test_a_token_only_opens_its_own_room(rooms):
    first, second = await rooms.create(), await rooms.create()
    pat = await rooms.join(first, "Pat")
    with pytest.raises(ClientError) as refused:
        await Client.connect(rooms.server.ws, room=second["room_id"], name="Pat",
                             token=pat.token)
    assert refused.value.code == "unauthorized"
    with pytest.raises(ClientError):
        await Client.connect(rooms.server.ws, room=second["room_id"], name="Pat",
                             invite=first["invite"])


async def test_frames_beyond_the_hard_limit_close_1009(server):
    async with websockets.connect(server.ws, max_size=None) as ws:
        await ws.send("x" * (1024 * 1024 + 1))
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 1009


async def test_a_removed_members_token_no_longer_opens_the_room(rooms):
    room = await rooms.create()
    mia = await rooms.join(room, "Mia", mentor=True)
    pat = await rooms.join(room, "Pat")
    await mia.request("member.remove", member_id=pat.member_id)
    with pytest.raises(ClientError) as refused:
        await Client.connect(rooms.server.ws, room=room["room_id"], name="Pat",
                             token=pat.token)
    assert refused.value.code == "unauthorized"
