"""Standing groups over HTTP: joining, roles, sessions joined by person key, board, privacy."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from ensemble.client import ClientError
from ensemble.store.engine import DB_FILE
from ensemble.wire import schema
from tests.support.groups import join, make_group, mira_ana_and_bo
from tests.support.people import auth, kept_sessions, new_person

pytestmark = pytest.mark.timeout(60)

PROGRAM = {"phases": [{"name": "Focus", "kind": "focus", "duration_ms": 60_000}], "rounds": 1}


@pytest.fixture
async def http(server):
    async with httpx.AsyncClient(base_url=server.http) as client:
        yield client


async def test_joining_needs_the_invite_or_the_mentor_key(http, server):
    mira = await new_person(server.http, "Mira")
    ana = await new_person(server.http, "Ana")
    bo = await new_person(server.http, "Bo")
    group = await make_group(http, mira, schedule={"days": ["thu"], "time": "19:30",
                                                  "tz": "Europe/Paris"})
    assert group["links"]["join"].endswith(f"/g/{group['group_id']}#invite={group['invite']}")
    assert (await join(http, ana, group)).status_code == 401  # invite-only
    assert (await join(http, ana, group, invite="wrong")).status_code == 401
    assert (await join(http, ana, group, mentor_key="wrong")).status_code == 401
    ok = await join(http, ana, group, invite=group["invite"])
    assert ok.status_code == 200 and ok.json() == {"group_id": group["group_id"],
                                                   "role": "participant"}
    schema.validate(ok.json(), "http", "join_group.response")
    raised = await join(http, bo, group, mentor_key=group["mentor_key"])
    assert raised.json()["role"] == "mentor"
    bad = await http.post("/api/groups", json={"name": ""}, headers=auth(mira))
    assert bad.status_code == 400
    assert (await http.post("/api/groups", json={"name": "x", "visibility": "invite"})
            ).status_code == 401


async def test_a_group_is_read_by_members_and_its_keys_by_mentors_only(http, server):
    mira = await new_person(server.http, "Mira")
    ana = await new_person(server.http, "Ana")
    eve = await new_person(server.http, "Eve")
    group = await make_group(http, mira, schedule={"days": ["mon"], "time": "08:00"})
    await join(http, ana, group, invite=group["invite"])
    path = f"/api/groups/{group['group_id']}"
    assert (await http.get(path, headers=auth(eve))).status_code == 403
    assert (await http.get(path)).status_code == 401
    assert (await http.get("/api/groups/g_0000000000", headers=auth(eve))).status_code == 404
    mentor_view = (await http.get(path, headers=auth(mira))).json()
    schema.validate(mentor_view, "http", "group")
    assert mentor_view["invite"] == group["invite"]
    assert mentor_view["mentor_key"] == group["mentor_key"]  # unsealed with Mira's own key
    assert mentor_view["next_session_at"] is not None
    member_view = (await http.get(path, headers=auth(ana))).json()
    schema.validate(member_view, "http", "group")
    assert "invite" not in member_view and "mentor_key" not in member_view
    assert [(m["name"], m["role"]) for m in member_view["members"]] == [
        ("Mira", "mentor"), ("Ana", "participant")]
    me = (await http.get("/api/me", headers=auth(ana))).json()
    assert me["groups"] == [{"group_id": group["group_id"], "name": "Thursday strings",
                             "role": "participant"}]


async def test_public_groups_are_listed_and_open(http, server):
    mira = await new_person(server.http, "Mira")
    ana = await new_person(server.http, "Ana")
    public = await make_group(http, mira, name="Open jam", visibility="public")
    hidden = await make_group(http, mira, name="Closed circle")
    assert (await join(http, ana, public)).json()["role"] == "participant"
    listed, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await http.get(f"/api/groups{query}")).json()
        schema.validate(page, "http", "group_list")
        listed += page["groups"]
        cursor = page["next"]
        if cursor is None:
            break
    ids = [g["group_id"] for g in listed]
    assert public["group_id"] in ids and hidden["group_id"] not in ids
    assert next(g for g in listed if g["group_id"] == public["group_id"])["members"] == 2


async def test_a_group_session_is_joined_with_the_person_key_alone(http, server, rooms):
    mira = await new_person(server.http, "Mira")
    ana = await new_person(server.http, "Ana")
    eve = await new_person(server.http, "Eve")
    group = await make_group(http, mira, program=PROGRAM)
    await join(http, ana, group, invite=group["invite"])
    start = f"/api/groups/{group['group_id']}/sessions"
    assert (await http.post(start, headers=auth(ana))).status_code == 403
    reply = await http.post(start, headers=auth(mira))
    assert reply.status_code == 201
    schema.validate(reply.json(), "http", "group_session.response")
    room = {"room_id": reply.json()["room_id"]}
    view = (await http.get(f"/api/groups/{group['group_id']}", headers=auth(ana))).json()
    assert view["live_room"] == room

    mentor = await rooms.join(room, "Mira", person_key=mira["person_key"])
    member = await rooms.join(room, "Ana", person_key=ana["person_key"])
    assert (mentor.role, member.role) == ("mentor", "participant")
    assert mentor.snapshot["room"]["title"] == "Thursday strings"
    with pytest.raises(ClientError) as refused:
        await rooms.join(room, "Eve", person_key=eve["person_key"])
    assert refused.value.code == "unauthorized"

    await mentor.request("sprint.start")  # the group's program
    phase = await member.wait_for(lambda e: e["type"] == "sprint.phase")
    assert phase["sprint"]["phases"] == PROGRAM["phases"]
    await member.request("goal.set", text="shifting 1-3")
    await mentor.request("comment.send", to=member.member_id, text="thumb", private=True)
    await mentor.request("room.close")
    [kept] = await kept_sessions(server.http, ana, 1)
    assert kept["group_id"] == group["group_id"]

    view = (await http.get(f"/api/groups/{group['group_id']}", headers=auth(ana))).json()
    assert view["live_room"] is None
    assert [(s["room_id"], s["present"]) for s in view["sessions"]] == [(room["room_id"], 2)]
    assert [m["streak"] for m in view["members"]] == [1, 1]

    # The mentor's page for Ana: her sessions in this group, private comments included.
    page = await http.get(f"/api/groups/{group['group_id']}/people/{ana['person_id']}",
                          headers=auth(mira))
    assert page.status_code == 200
    schema.validate(page.json(), "http", "group_person")
    [seen] = page.json()["sessions"]
    assert seen["feedback"][0]["text"] == "thumb" and seen["feedback"][0]["private"]
    assert seen["goals"] == [{"text": "shifting 1-3", "result": None, "note": ""}]


async def test_privacy_of_history_between_people(http, server, rooms):
    mira, ana, bo, group = await mira_ana_and_bo(http, server.http)
    outsider = await new_person(server.http, "Out")
    room = {"room_id": (await http.post(f"/api/groups/{group['group_id']}/sessions",
                                        headers=auth(mira))).json()["room_id"]}
    mentor = await rooms.join(room, "Mira", person_key=mira["person_key"])
    a = await rooms.join(room, "Ana", person_key=ana["person_key"])
    await rooms.join(room, "Bo", person_key=bo["person_key"])
    await mentor.request("comment.send", to=a.member_id, text="for Ana only", private=True)
    await mentor.request("note.mentors", text="mentors: Ana rushes")
    await mentor.request("room.close")
    await kept_sessions(server.http, ana, 1)
    [bos] = await kept_sessions(server.http, bo, 1)
    # The private comment is in Ana's history and the mentor's view, nowhere else.
    assert "for Ana only" not in str(bos)
    mira_own = await kept_sessions(server.http, mira, 1)
    assert "for Ana only" not in str(mira_own)
    person_page = f"/api/groups/{group['group_id']}/people/{ana['person_id']}"
    assert (await http.get(person_page, headers=auth(bo))).status_code == 403
    assert (await http.get(person_page, headers=auth(outsider))).status_code == 403
    assert "for Ana only" in (await http.get(person_page, headers=auth(mira))).text
    stranger_page = f"/api/groups/{group['group_id']}/people/{outsider['person_id']}"
    assert (await http.get(stranger_page, headers=auth(mira))).status_code == 404
    # Mentors-only notes: in the group's sessions for its mentors, nowhere else.
    group_path = f"/api/groups/{group['group_id']}"
    mentor_group = (await http.get(group_path, headers=auth(mira))).json()
    assert mentor_group["sessions"][0]["notes"][0]["text"] == "mentors: Ana rushes"
    schema.validate(mentor_group, "http", "group")
    for person in (ana, bo):
        assert "Ana rushes" not in (await http.get(group_path, headers=auth(person))).text
        assert "Ana rushes" not in (await http.get("/api/me/export", headers=auth(person))).text
    # One person's key reads only their own history.
    for person in (bo, outsider):
        export = (await http.get("/api/me/export", headers=auth(person))).text
        assert "for Ana only" not in export


async def test_the_board_names_only_people_who_opted_in(http, server, rooms):
    mira, ana, bo, group = await mira_ana_and_bo(http, server.http, program=PROGRAM)
    board = f"/api/groups/{group['group_id']}/board"
    outsider = await new_person(server.http, "Out")
    assert (await http.put(board, json={"opt_in": True}, headers=auth(outsider))).status_code == 403
    assert (await http.get(board, headers=auth(outsider))).status_code == 403
    assert (await http.put(board, json={"opt_in": "yes"}, headers=auth(ana))).status_code == 400
    reply = await http.put(board, json={"opt_in": True}, headers=auth(ana))
    assert reply.json() == {"group_id": group["group_id"], "opt_in": True}

    room = {"room_id": (await http.post(f"/api/groups/{group['group_id']}/sessions",
                                        headers=auth(mira))).json()["room_id"]}
    mentor = await rooms.join(room, "Mira", person_key=mira["person_key"])
    a = await rooms.join(room, "Ana", person_key=ana["person_key"])
    b = await rooms.join(room, "Bo", person_key=bo["person_key"])
    await mentor.request("sprint.start")
    await a.wait_for(lambda e: e["type"] == "sprint.phase")
    for member in (a, b):
        await member.request("goal.set", text="scales")
        await member.request("goal.check", result="done")
    await mentor.request("room.close")
    await kept_sessions(server.http, bo, 1)
    await kept_sessions(server.http, ana, 1)

    for reader in (ana, bo, mira):
        body = (await http.get(board, headers=auth(reader))).json()
        schema.validate(body, "http", "board")
        assert [e["name"] for e in body["entries"]] == ["Ana"]
        assert body["entries"][0]["goals_done"] == 1 and body["entries"][0]["focus_ms"] > 0
        assert bo["person_id"] not in str(body) and "Bo" not in str(body)
    view = (await http.get(f"/api/groups/{group['group_id']}", headers=auth(bo))).json()
    assert view["board_opt_in"] is False
    # The mentor's page per person: totals and the goals kept ratio of this group.
    page = (await http.get(f"/api/groups/{group['group_id']}/people/{ana['person_id']}",
                           headers=auth(mira))).json()
    schema.validate(page, "http", "group_person")
    assert page["totals"]["goals_done"] == 1 and page["goals_kept"] == 1.0


async def test_a_tampered_sealed_mentor_key_is_no_copy_not_an_error(http, server):
    mira = await new_person(server.http, "Mira")
    group = await make_group(http, mira)
    path = f"/api/groups/{group['group_id']}"
    # Someone with write access to the database flips a byte of Mira's copy.
    with sqlite3.connect(Path(server.env["ENSEMBLE_DATA_DIR"]) / DB_FILE) as db:
        (sealed,) = db.execute(
            "SELECT mentor_key_sealed FROM group_members WHERE group_id = ? AND person_id = ?",
            (group["group_id"], mira["person_id"])).fetchone()
        assert group["mentor_key"] not in sealed
        tampered = sealed[:16] + ("A" if sealed[16] != "A" else "B") + sealed[17:]
        db.execute("UPDATE group_members SET mentor_key_sealed = ? WHERE person_id = ?",
                   (tampered, mira["person_id"]))
    reply = await http.get(path, headers=auth(mira))
    assert reply.status_code == 200, reply.text
    schema.validate(reply.json(), "http", "group")
    assert reply.json()["mentor_key"] is None and reply.json()["invite"] == group["invite"]
    assert group["mentor_key"] not in reply.text
    # Mira is still a mentor: sending the mentor key again seals a fresh copy.
    assert (await join(http, mira, group, mentor_key=group["mentor_key"])).json()["role"] == (
        "mentor")
    assert (await http.get(path, headers=auth(mira))).json()["mentor_key"] == group["mentor_key"]
