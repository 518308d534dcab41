"""A standing group changed by its mentors and left by its members, over HTTP on
a real server: what changes, what is refused, and what a leaver keeps."""

from __future__ import annotations

import httpx
import pytest

from ensemble.wire import schema
from tests.support.groups import join, make_group, mira_ana_and_bo
from tests.support.people import auth, kept_sessions, new_person

pytestmark = pytest.mark.timeout(60)

BEFORE = {"phases": [{"name": "Focus", "kind": "focus", "duration_ms": 60_000}], "rounds": 1}
AFTER = {"phases": [{"name": "Tune", "kind": "checkin", "duration_ms": 120_000},
                    {"name": "Etudes", "kind": "focus", "duration_ms": 900_000}], "rounds": 2}
SCHEDULE = {"days": ["tue", "fri"], "time": "07:15", "tz": "America/New_York"}


@pytest.fixture
async def http(server):
    async with httpx.AsyncClient(base_url=server.http) as client:
        yield client


async def hold_session(http, server, rooms, group, mentor, members) -> dict:
    """A session of the group with `mentor` and `members` in it, closed (to be kept)."""
    reply = await http.post(f"/api/groups/{group['group_id']}/sessions", headers=auth(mentor))
    assert reply.status_code == 201, reply.text
    room = {"room_id": reply.json()["room_id"]}
    host = await rooms.join(room, mentor["name"], person_key=mentor["person_key"])
    for person in members:
        await rooms.join(room, person["name"], person_key=person["person_key"])
    await host.request("room.close")
    return room


async def test_a_mentor_edits_the_group_and_the_next_session_follows(http, server, rooms):
    mira = await new_person(server.http, "Mira")
    ana = await new_person(server.http, "Ana")
    group = await make_group(http, mira, program=BEFORE)
    await join(http, ana, group, invite=group["invite"])
    path = f"/api/groups/{group['group_id']}"
    await hold_session(http, server, rooms, group, mira, [ana])
    [kept] = await kept_sessions(server.http, ana, 1)

    reply = await http.patch(path, headers=auth(mira), json={
        "name": "  Tuesday etudes ", "visibility": "public", "program": AFTER,
        "schedule": SCHEDULE})
    assert reply.status_code == 200, reply.text
    schema.validate(reply.json(), "http", "group")
    assert reply.json() == (await http.get(path, headers=auth(mira))).json()
    view = (await http.get(path, headers=auth(ana))).json()
    assert (view["name"], view["visibility"]) == ("Tuesday etudes", "public")
    assert (view["program"], view["schedule"]) == (AFTER, SCHEDULE)
    assert view["next_session_at"] is not None
    # What was kept stays as it was: the session's title, Ana's history.
    assert [s["title"] for s in view["sessions"]] == ["Thursday strings"]
    assert await kept_sessions(server.http, ana, 1) == [kept]
    listed = (await http.get("/api/groups", params={"limit": 200})).json()["groups"]
    assert any(g["group_id"] == group["group_id"] for g in listed)  # public now

    # The next session runs the new program under the new name.
    reply = await http.post(f"{path}/sessions", headers=auth(mira))
    room = {"room_id": reply.json()["room_id"]}
    mentor = await rooms.join(room, "Mira", person_key=mira["person_key"])
    member = await rooms.join(room, "Ana", person_key=ana["person_key"])
    assert mentor.snapshot["room"]["title"] == "Tuesday etudes"
    await mentor.request("sprint.start")
    phase = await member.wait_for(lambda e: e["type"] == "sprint.phase")
    assert phase["sprint"]["phases"] == AFTER["phases"]

    # One field at a time; null clears the program and the schedule.
    cleared = await http.patch(path, headers=auth(mira), json={"program": None, "schedule": None})
    assert cleared.status_code == 200, cleared.text
    body = cleared.json()
    assert (body["name"], body["program"], body["schedule"]) == ("Tuesday etudes", None, None)
    assert body["next_session_at"] is None


async def test_only_mentors_edit_and_bad_settings_change_nothing(http, server):
    mira = await new_person(server.http, "Mira")
    ana = await new_person(server.http, "Ana")
    eve = await new_person(server.http, "Eve")
    group = await make_group(http, mira, program=BEFORE, schedule=SCHEDULE)
    await join(http, ana, group, invite=group["invite"])
    path = f"/api/groups/{group['group_id']}"
    before = (await http.get(path, headers=auth(mira))).json()

    refused = await http.patch(path, headers=auth(ana), json={"name": "Ana's now"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert (await http.patch(path, headers=auth(eve), json={"name": "x"})).status_code == 403
    assert (await http.patch(path, json={"name": "x"})).status_code == 401
    assert (await http.patch("/api/groups/g_0000000000", headers=auth(mira),
                             json={"name": "x"})).status_code == 404

    for bad, says in [
        ({}, "send at least one field"),
        ({"name": "   "}, "name: is blank"),
        ({"visibility": "secret"}, "visibility: should be one of public, invite"),
        ({"invite": "mine"}, "not allowed here: invite"),
        ({"name": "ok", "program": {"phases": []}}, "program/phases: has fewer than 1 items"),
        ({"program": {"phases": [{"name": "F", "kind": "nap", "duration_ms": 1}]}},
         "program/phases/0/kind: should be one of"),
        ({"program": {**AFTER, "rounds": 21}}, "program/rounds: is more than 20"),
        ({"schedule": {"days": ["thu"], "time": "25:00"}}, "schedule/time: is blank or malformed"),
        ({"schedule": {"days": [], "time": "10:00"}}, "schedule/days: has fewer than 1 items"),
        ({"name": "ok", "schedule": {**SCHEDULE, "tz": "Mars/Olympus_Mons"}},
         "'Mars/Olympus_Mons' is not an IANA time zone"),
    ]:
        reply = await http.patch(path, headers=auth(mira), json=bad)
        assert reply.status_code == 400, (bad, reply.text)
        error = reply.json()["error"]
        assert error["code"] == "bad_request" and says in error["message"], (bad, error)
    assert (await http.get(path, headers=auth(mira))).json() == before


async def test_a_member_leaves_and_keeps_their_history(http, server, rooms):
    mira, ana, bo, group = await mira_ana_and_bo(http, server.http, program=BEFORE)
    path = f"/api/groups/{group['group_id']}"
    for person in (ana, bo):
        await http.put(f"{path}/board", json={"opt_in": True}, headers=auth(person))
    await hold_session(http, server, rooms, group, mira, [ana, bo])
    history = await kept_sessions(server.http, ana, 1)
    await kept_sessions(server.http, bo, 1)
    person_page = f"{path}/people/{ana['person_id']}"
    assert (await http.get(person_page, headers=auth(mira))).status_code == 200

    left = await http.delete(f"{path}/members/me", headers=auth(ana))
    assert left.status_code == 204, left.text
    view = (await http.get(path, headers=auth(mira))).json()
    assert [m["name"] for m in view["members"]] == ["Mira", "Bo"]
    board = (await http.get(f"{path}/board", headers=auth(mira))).json()
    assert [e["name"] for e in board["entries"]] == ["Bo"]
    assert (await http.get(person_page, headers=auth(mira))).status_code == 404
    # Her own history is hers still; the group is no longer hers to read.
    assert await kept_sessions(server.http, ana, 1) == history
    me = (await http.get("/api/me", headers=auth(ana))).json()
    assert me["groups"] == [] and me["totals"]["sessions"] == 1
    assert (await http.get(path, headers=auth(ana))).status_code == 403
    again = await http.delete(f"{path}/members/me", headers=auth(ana))
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    assert (await http.delete("/api/groups/g_0000000000/members/me",
                              headers=auth(ana))).status_code == 404
    assert (await http.delete(f"{path}/members/me")).status_code == 401
    # She may come back with the invite, as anyone may.
    assert (await join(http, ana, group, invite=group["invite"])).json()["role"] == (
        "participant")


async def test_the_last_mentor_cannot_leave(http, server):
    mira = await new_person(server.http, "Mira")
    bo = await new_person(server.http, "Bo")
    group = await make_group(http, mira)
    await join(http, bo, group, invite=group["invite"])
    path = f"/api/groups/{group['group_id']}"
    refused = await http.delete(f"{path}/members/me", headers=auth(mira))
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "conflict"
    assert "last mentor" in refused.json()["error"]["message"]
    assert [m["name"] for m in (await http.get(path, headers=auth(mira))).json()["members"]] == [
        "Mira", "Bo"]
    # Once Bo is a mentor too, Mira may go, and Bo is then the last one.
    await join(http, bo, group, mentor_key=group["mentor_key"])
    assert (await http.delete(f"{path}/members/me", headers=auth(mira))).status_code == 204
    assert (await http.delete(f"{path}/members/me", headers=auth(bo))).status_code == 409
    view = (await http.get(path, headers=auth(bo))).json()
    assert [(m["name"], m["role"]) for m in view["members"]] == [("Bo", "mentor")]
