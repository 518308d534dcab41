"""People over HTTP and in hello: keys, /api/me, export, delete, restarts."""

from __future__ import annotations

import httpx
import pytest

from ensemble.client import ClientError
from ensemble.transport.pagination import cursor_for
from ensemble.wire import schema
from tests.support.rooms import Rooms
from tests.support.server import start_server

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def http(server):
    async with httpx.AsyncClient(base_url=server.http) as client:
        yield client


async def new_person(http: httpx.AsyncClient, name: str = "Ada", **body) -> dict:
    reply = await http.post("/api/people", json={"name": name, **body})
    assert reply.status_code == 201, reply.text
    return reply.json()


def auth(person: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {person['person_key']}"}


async def test_a_person_gets_a_key_and_reads_themself_with_it(http, server):
    person = await new_person(http, tz="Europe/Paris")
    schema.validate(person, "http", "create_person.response")
    assert person["links"]["practice"] == f"{server.http}/me#person_key={person['person_key']}"
    me = (await http.get("/api/me", headers=auth(person))).json()
    schema.validate(me, "http", "me")
    assert me["person_id"] == person["person_id"] and me["tz"] == "Europe/Paris"
    assert me["streak"] == {"days": 0, "best": 0} and me["totals"]["sessions"] == 0
    assert me["groups"] == []


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"},
                                     {"Authorization": "Basic abc"}])
async def test_every_me_route_needs_a_valid_person_key(http, headers):
    for method, path in (("GET", "/api/me"), ("PATCH", "/api/me"), ("DELETE", "/api/me"),
                         ("GET", "/api/me/sessions"), ("GET", "/api/me/export")):
        reply = await http.request(method, path, headers=headers, json={})
        assert reply.status_code == 401, (method, path)
        assert reply.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("body", [
    {}, {"name": ""}, {"name": "x" * 41}, {"name": "A", "tz": "Mars/Olympus"},
    {"name": "A", "tz": "../../etc/passwd"}, {"name": "A", "extra": 1},
])
async def test_bad_people_bodies_get_a_clear_error(http, body):
    reply = await http.post("/api/people", json=body)
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "bad_request"


async def test_rename_and_move_time_zone(http):
    person = await new_person(http)
    reply = await http.patch("/api/me", headers=auth(person),
                             json={"name": "Ada L", "tz": "America/New_York"})
    assert reply.status_code == 200
    schema.validate(reply.json(), "http", "me")
    assert (reply.json()["name"], reply.json()["tz"]) == ("Ada L", "America/New_York")
    bad = await http.patch("/api/me", headers=auth(person), json={"tz": "Nowhere"})
    assert bad.status_code == 400
    assert (await http.get("/api/me", headers=auth(person))).json()["tz"] == "America/New_York"


async def test_export_then_delete_and_the_key_stops_working(http):
    person = await new_person(http)
    export = await http.get("/api/me/export", headers=auth(person))
    assert export.status_code == 200
    schema.validate(export.json(), "http", "me_export")
    assert export.json()["sessions"] == []
    assert (await http.delete("/api/me", headers=auth(person))).status_code == 204
    assert (await http.get("/api/me", headers=auth(person))).status_code == 401


async def test_sessions_page_arguments_are_checked(http):
    person = await new_person(http)
    ok = await http.get("/api/me/sessions", headers=auth(person))
    assert ok.json() == {"sessions": [], "next": None}
    # The last: well encoded, but no position the store handed out (BadCursor).
    stranger = cursor_for("not-a-position")
    for query in ("limit=0", "limit=201", "limit=x", "cursor=garbage", f"cursor={stranger}"):
        reply = await http.get(f"/api/me/sessions?{query}", headers=auth(person))
        assert reply.status_code == 400, query
        assert reply.json()["error"]["code"] == "bad_request", query


async def test_hello_with_a_person_key_links_the_member(http, rooms: Rooms):
    person = await new_person(http)
    room = await rooms.create()
    member = await rooms.join(room, "Ada", person_key=person["person_key"])
    assert member.person_id == person["person_id"]
    schema.validate(member.welcomes[0], "replies")
    guest = await rooms.join(room, "Guest")
    assert guest.person_id is None and "person_id" not in guest.welcomes[0]
    # Beside the invite, a key that names nobody makes a guest (the welcome says so);
    # alone, it is refused.
    stale = await rooms.join(room, "Eve", person_key="not-a-key")
    assert stale.person_id is None
    with pytest.raises(ClientError) as refused:
        await rooms.join({"room_id": room["room_id"]}, "Eve", person_key="not-a-key")
    assert refused.value.code == "unauthorized"


async def test_person_keys_survive_a_restart_with_another_secret(tmp_path):
    env = {"ENSEMBLE_DATA_DIR": str(tmp_path), "ENSEMBLE_SECRET": "first"}
    server = start_server(env=env)
    try:
        async with httpx.AsyncClient(base_url=server.http) as http:
            person = await new_person(http)
    finally:
        server.stop()
    server = start_server(env={**env, "ENSEMBLE_SECRET": "second"})
    try:
        async with httpx.AsyncClient(base_url=server.http) as http:
            reply = await http.get("/api/me", headers=auth(person))
        assert reply.status_code == 200 and reply.json()["name"] == "Ada"
    finally:
        server.stop()


async def test_people_and_groups_made_from_one_address_are_limited():
    server = start_server(env={"ENSEMBLE_ROOMS_PER_MINUTE": "1", "ENSEMBLE_ROOMS_BURST": "2"})
    try:
        async with httpx.AsyncClient(base_url=server.http) as http:
            made = [await http.post("/api/people", json={"name": "A"}) for _ in range(3)]
            assert [r.status_code for r in made] == [201, 201, 429]
            assert made[2].json()["error"]["code"] == "rate_limited"
            assert int(made[2].headers["retry-after"]) >= 1
            person = made[0].json()
            groups = [await http.post("/api/groups", headers=auth(person),
                                      json={"name": "G", "visibility": "public"})
                      for _ in range(3)]
            assert [r.status_code for r in groups] == [201, 201, 429]
    finally:
        server.stop()
