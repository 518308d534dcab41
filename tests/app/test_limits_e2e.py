"""What one client can make a server hold is bounded: rooms, sockets, requests, time."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
import websockets

from ensemble.client import Client, ClientError
from ensemble.wire import schema
from tests.support.rooms import Rooms
from tests.support.server import ServerProcess, start_server

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def tight() -> Iterator[ServerProcess]:
    """A server with small limits (room creation is left open for the tests)."""
    process = start_server("--grace-ms", "300", env={
        "ENSEMBLE_RATE_PER_S": "5", "ENSEMBLE_RATE_BURST": "10",
        "ENSEMBLE_MAX_CONNS_PER_MEMBER": "2",
        "ENSEMBLE_HELLO_TIMEOUT_MS": "1000",
        "ENSEMBLE_IDLE_ROOM_MS": "1500",
        "ENSEMBLE_HEADER_TIMEOUT_MS": "700",
    })
    yield process
    process.stop()


@pytest.fixture
async def tight_rooms(tight: ServerProcess) -> Iterator[Rooms]:
    helper = Rooms(tight)
    yield helper  # type: ignore[misc]
    await helper.close()


async def replies(client: Client, count: int) -> list[str]:
    codes = []
    for _ in range(count):
        reply = await client.wait_for(lambda e: e["type"] in ("ack", "error"), timeout=5)
        codes.append(reply.get("code", "ack"))
    return codes


async def test_the_rate_limit_is_per_member_across_its_sockets(tight_rooms):
    room = await tight_rooms.create()
    pat = await tight_rooms.join(room, "Pat")
    # One socket within the burst: everything goes through.
    for i in range(8):
        await pat.send({"type": "status.set", "ref": i, "status": "focus"})
    assert await replies(pat, 8) == ["ack"] * 8
    await asyncio.sleep(2.5)  # the bucket refills (5/s, burst 10)

    # A second tab of the same member shares the bucket: 2 x 10 is not 20.
    tab = await tight_rooms.join(room, "Pat", token=pat.token)
    assert tab.member_id == pat.member_id
    for i in range(10):
        await pat.send({"type": "status.set", "ref": i, "status": "focus"})
        await tab.send({"type": "status.set", "ref": i, "status": "away"})
    codes = await replies(pat, 10) + await replies(tab, 10)
    assert codes.count("ack") <= 12  # the burst, and what refilled meanwhile
    assert "rate_limited" in codes


async def test_a_member_holds_a_bounded_number_of_sockets(tight_rooms):
    room = await tight_rooms.create()
    pat = await tight_rooms.join(room, "Pat")
    await tight_rooms.join(room, "Pat", token=pat.token)
    async with websockets.connect(tight_rooms.server.ws,
                                  subprotocols=["ensemble.v1.json"]) as ws:
        await ws.send(json.dumps({"type": "hello", "room": room["room_id"], "name": "Pat",
                                  "token": pat.token}))
        reply = json.loads(await ws.recv())
        assert (reply["type"], reply["code"]) == ("error", "conflict")
        assert "at most 2 connections" in reply["message"]
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 1008


async def test_the_hello_deadline_is_absolute(tight):
    started = time.monotonic()
    async with websockets.connect(tight.ws, subprotocols=["ensemble.v1.json"]) as ws:
        with pytest.raises(websockets.ConnectionClosed):
            for i in range(100):  # pings and garbage keep coming; no hello
                await ws.send(json.dumps({"type": "ping", "t0": i}))
                assert json.loads(await ws.recv())["type"] == "pong"
                await ws.send("not json")
                assert json.loads(await ws.recv())["code"] == "bad_request"
                await asyncio.sleep(0.1)
        assert ws.close_code == 4102
    assert time.monotonic() - started < 3


async def test_an_empty_room_closes_after_its_idle_time(tight_rooms):
    room = await tight_rooms.create()
    never = await tight_rooms.create()
    pat = await tight_rooms.join(room, "Pat")
    mia = await tight_rooms.join(room, "Mia", mentor=True)
    await pat.close()
    await mia.close()
    async with httpx.AsyncClient(base_url=tight_rooms.server.http) as http:
        for _ in range(100):
            reply = await http.get(f"/api/rooms/{room['room_id']}")
            if reply.json().get("state") == "closed":
                break
            await asyncio.sleep(0.1)
        assert reply.json()["state"] == "closed"
        # Its report is kept; a room nobody ever joined is simply gone.
        report = await http.get(f"/api/rooms/{room['room_id']}/report",
                                headers={"Authorization": f"Bearer {room['host_key']}"})
        assert {a["name"] for a in report.json()["attendance"]} == {"Pat", "Mia"}
        assert (await http.get(f"/api/rooms/{never['room_id']}")).status_code == 404


async def test_headers_sent_too_slowly_lose_the_connection(tight):
    with socket.create_connection(("127.0.0.1", tight.port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        for _ in range(40):
            try:
                sock.sendall(b"X-Slow: 1\r\n")
                if sock.recv(1024, socket.MSG_DONTWAIT) == b"":
                    break
            except BlockingIOError:
                pass
            except OSError:
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the connection stayed open")
        assert time.monotonic() - started < 2


async def test_room_creation_is_rate_limited_per_address():
    server = start_server(env={"ENSEMBLE_ROOMS_PER_MINUTE": "1", "ENSEMBLE_ROOMS_BURST": "3"})
    try:
        async with httpx.AsyncClient(base_url=server.http) as http:
            for _ in range(3):
                reply = await http.post("/api/rooms", json={"title": "Scales"})
                assert reply.status_code == 201
            refused = await http.post("/api/rooms", json={"title": "Scales"})
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == "rate_limited"
            assert int(refused.headers["retry-after"]) >= 1
            assert len((await http.get("/api/rooms")).json()["rooms"]) == 3
    finally:
        server.stop()


async def test_the_room_listing_is_paginated():
    server = start_server()
    try:
        async with httpx.AsyncClient(base_url=server.http) as http:
            made = set()
            for i in range(5):
                made.add((await http.post("/api/rooms", json={"title": f"R{i}"})).json()["room_id"])
            await http.post("/api/rooms", json={"title": "hidden", "visibility": "unlisted"})
            seen, cursor, pages = [], None, 0
            while True:
                params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
                body = (await http.get("/api/rooms", params=params)).json()
                schema.validate(body, "http", "room_list")
                assert len(body["rooms"]) <= 2
                seen += [r["room_id"] for r in body["rooms"]]
                pages += 1
                cursor = body["next"]
                if cursor is None:
                    break
            assert pages == 3 and sorted(seen) == sorted(made)
            assert (await http.get("/api/rooms")).json()["next"] is None
            for bad in ({"limit": 0}, {"limit": 201}, {"limit": "x"}, {"cursor": "%%%"}):
                reply = await http.get("/api/rooms", params=bad)
                assert reply.status_code == 400, bad
                assert reply.json()["error"]["code"] == "bad_request"
    finally:
        server.stop()


async def test_a_client_at_the_connection_cap_gets_503_and_the_server_recovers():
    server = start_server(env={"ENSEMBLE_MAX_CONNECTIONS": "4"})
    held = []
    try:
        for _ in range(4):
            held.append(await websockets.connect(server.ws))
        async with httpx.AsyncClient(base_url=server.http) as http:
            assert (await http.get("/healthz")).status_code == 503
            for ws in held:
                await ws.close()
            held.clear()
            for _ in range(50):
                if (await http.get("/healthz")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            assert (await http.get("/healthz")).status_code == 200
    finally:
        for ws in held:
            await ws.close()
        server.stop()


async def test_a_member_refused_for_a_full_room_is_told_why():
    server = start_server(env={"ENSEMBLE_MAX_MEMBERS": "2"})
    rooms = Rooms(server)
    try:
        room = await rooms.create()
        await rooms.join(room, "Mia", mentor=True)
        await rooms.join(room, "Pat")
        with pytest.raises(ClientError) as refused:
            await rooms.join(room, "Sam")
        assert refused.value.code == "conflict" and "full" in refused.value.message
    finally:
        await rooms.close()
        server.stop()


async def test_the_report_says_when_its_record_log_overflowed():
    server = start_server(env={"ENSEMBLE_RECORD_LOG_SIZE": "5"})
    rooms = Rooms(server)
    try:
        room = await rooms.create()
        mia = await rooms.join(room, "Mia", mentor=True)
        pat = await rooms.join(room, "Pat")
        for i in range(8):
            await mia.request("comment.send", text=f"note {i}", to=pat.member_id)
        async with httpx.AsyncClient(base_url=server.http) as http:
            report = (await http.get(f"/api/rooms/{room['room_id']}/report",
                                     headers={"Authorization": f"Bearer {room['host_key']}"}))
        body = report.json()
        schema.validate(body, "http", "report")
        assert body["truncated"] == {"records_dropped": 3,
                                     "dropped_by_member": {mia.member_id: 3}}
        comments = next(f for f in body["feedback"] if f["name"] == "Pat")["comments"]
        assert [c["text"] for c in comments] == [f"note {i}" for i in range(5)]
    finally:
        await rooms.close()
        server.stop()


async def test_a_flooder_past_their_record_quota_leaves_the_others_records_complete():
    server = start_server(env={"ENSEMBLE_RECORD_QUOTA_PER_MEMBER": "5"})
    rooms = Rooms(server)
    try:
        room = await rooms.create()
        mia = await rooms.join(room, "Mia", mentor=True)
        pat = await rooms.join(room, "Pat")
        sam = await rooms.join(room, "Sam")
        await sam.request("goal.set", text="two octaves")
        # Pat floods comments at Sam (within the rate limit's burst): five kept.
        for i in range(30):
            await pat.request("comment.send", text=f"flood {i}", to=sam.member_id)
        await sam.request("goal.check", result="done", note="clean")
        await sam.request("comment.send", text="thanks", to=pat.member_id)
        await mia.request("comment.send", text="steady tempo", to=sam.member_id)
        await mia.request("note.mentors", text="Pat floods")
        async with httpx.AsyncClient(base_url=server.http) as http:
            report = (await http.get(f"/api/rooms/{room['room_id']}/report",
                                     headers={"Authorization": f"Bearer {room['host_key']}"}))
        body = report.json()
        schema.validate(body, "http", "report")
        assert body["truncated"] == {"records_dropped": 25,
                                     "dropped_by_member": {pat.member_id: 25}}
        assert [(g["name"], g["result"], g["note"]) for g in body["goals"]] == [
            ("Sam", "done", "clean")]
        received = {f["name"]: [(c["from_name"], c["text"]) for c in f["comments"]]
                    for f in body["feedback"]}
        assert received == {
            "Mia": [],
            "Pat": [("Sam", "thanks")],
            "Sam": [*(("Pat", f"flood {i}") for i in range(5)), ("Mia", "steady tempo")],
        }
        assert [n["text"] for n in body["notes"]] == ["Pat floods"]
    finally:
        await rooms.close()
        server.stop()
