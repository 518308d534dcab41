"""The HTTP API: rooms, report, health, readiness, metrics, pages."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.support.rooms import Rooms
from tests.support.server import start_server

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def http(server):
    async with httpx.AsyncClient(base_url=server.http) as client:
        yield client


async def test_create_room_returns_secrets_and_links(http, server):
    reply = await http.post("/api/rooms", json={"title": "Morning scales",
                                                "visibility": "unlisted"})
    assert reply.status_code == 201
    body = reply.json()
    assert set(body) >= {"room_id", "invite", "host_key", "links"}
    assert len(body["invite"]) >= 20 and len(body["host_key"]) >= 20
    assert body["invite"] != body["host_key"]
    assert body["links"]["participant"] == (
        f"{server.http}/r/{body['room_id']}#invite={body['invite']}")
    assert body["links"]["mentor"] == (
        f"{server.http}/r/{body['room_id']}#host_key={body['host_key']}")


@pytest.mark.parametrize("body", [
    {}, {"title": ""}, {"title": "x" * 81}, {"title": "ok", "visibility": "secret"},
    {"title": "ok", "program": {"phases": [], "rounds": 1}},
    {"title": "ok", "program": {"phases": [{"name": "F", "kind": "nap", "duration_ms": 5}]}},
    {"title": "ok", "program": {"phases": [{"name": "F", "kind": "focus",
                                            "duration_ms": 5}], "rounds": 99}},
    [1, 2],
])
async def test_create_room_rejects_bad_bodies(http, body):
    reply = await http.post("/api/rooms", json=body)
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "bad_request"


async def test_create_room_rejects_non_json(http):
    reply = await http.post("/api/rooms", content=b"title=x")
    assert reply.status_code == 400


async def test_list_shows_public_open_rooms_with_live_counts(http, rooms):
    public = await rooms.create(title="Open jam")
    unlisted = await rooms.create(title="Secret jam", visibility="unlisted")
    await rooms.join(public, "Pat")
    await rooms.join(public, "Sam")
    listing = (await http.get("/api/rooms")).json()["rooms"]
    mine = {r["room_id"]: r for r in listing}
    assert mine[public["room_id"]] == {"room_id": public["room_id"], "title": "Open jam",
                                       "visibility": "public", "members": 2,
                                       "invite": public["invite"]}  # anyone may join
    assert unlisted["room_id"] not in mine
    one = (await http.get(f"/api/rooms/{unlisted['room_id']}")).json()
    assert one["title"] == "Secret jam" and one["members"] == 0
    assert unlisted["invite"] not in str(one) and unlisted["host_key"] not in str(one)
    missing = await http.get("/api/rooms/r_nothing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_closed_rooms_leave_the_list(http, rooms):
    room = await rooms.create(title="Closing soon")
    mia = await rooms.join(room, "Mia", mentor=True)
    await mia.request("room.close")
    listing = (await http.get("/api/rooms")).json()["rooms"]
    assert room["room_id"] not in {r["room_id"] for r in listing}


async def test_report_needs_the_host_key(http, rooms):
    room = await rooms.create()
    url = f"/api/rooms/{room['room_id']}/report"
    assert (await http.get(url)).status_code == 401
    wrong = await http.get(url, headers={"Authorization": f"Bearer {room['invite']}"})
    assert wrong.status_code == 401
    good = await http.get(url, headers={"Authorization": f"Bearer {room['host_key']}"})
    assert good.status_code == 200
    assert set(good.json()) >= {"room", "attendance", "goals", "turns", "feedback"}
    missing = await http.get("/api/rooms/r_nothing/report",
                             headers={"Authorization": "Bearer x"})
    assert missing.status_code == 404


async def test_health_readiness_and_metrics(http, rooms):
    assert (await http.get("/healthz")).json() == {"ok": True}
    assert (await http.get("/readyz")).json() == {"ready": True}
    room = await rooms.create()
    pat = await rooms.join(room, "Pat")
    await pat.request("chat.send", text="counted")
    text = (await http.get("/metrics")).text
    for name in ("ensemble_connections", "ensemble_rooms_active",
                 'ensemble_requests_total{type="chat.send"}',
                 "ensemble_fanout_latency_seconds_bucket", "ensemble_deliveries_total"):
        assert name in text, name


def counter(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


async def test_deliveries_and_requests_are_counted(http, rooms):
    room = await rooms.create()
    members = [await rooms.join(room, name) for name in ("Ana", "Bo", "Cy")]
    chats = 'ensemble_requests_total{type="chat.send"}'
    before = (await http.get("/metrics")).text
    await members[0].request("chat.send", text="one for each")
    for member in members:
        await member.wait_for(lambda e: e.get("text") == "one for each")
    after = (await http.get("/metrics")).text
    delivered = counter(after, "ensemble_deliveries_total") - counter(
        before, "ensemble_deliveries_total")
    assert delivered >= 3  # the chat line, once to each socket
    assert counter(after, chats) - counter(before, chats) == 1


async def test_pages_carry_a_content_security_policy(http):
    for path in ("/", "/r/r_abc", "/r/r_abc/report"):
        reply = await http.get(path)
        assert reply.status_code == 200, path
        assert "script-src 'self'" in reply.headers["content-security-policy"]
        assert reply.headers["x-content-type-options"] == "nosniff"


async def test_a_closed_room_is_kept_for_its_report_then_deleted():
    server = start_server(env={"ENSEMBLE_ROOM_RETENTION_MS": "1500"})
    rooms = Rooms(server)
    try:
        room = await rooms.create()
        mia = await rooms.join(room, "Mia", mentor=True)
        await mia.request("room.close")
        report_url = f"{server.http}/api/rooms/{room['room_id']}/report"
        auth = {"Authorization": f"Bearer {room['host_key']}"}
        async with httpx.AsyncClient() as http:
            report = await http.get(report_url, headers=auth)
            assert report.status_code == 200 and report.json()["room"]["closed_at"]
            async with asyncio.timeout(15):
                # Deletion shows only over HTTP: poll it, bounded.
                while (await http.get(report_url, headers=auth)).status_code != 404:  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
            gone = await http.get(f"{server.http}/api/rooms/{room['room_id']}")
            assert gone.status_code == 404
    finally:
        await rooms.close()
        server.stop()
