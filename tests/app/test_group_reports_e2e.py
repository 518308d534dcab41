"""A group's kept sessions read back as reports, over HTTP on a real server:
what each member, the mentors and outsiders may read (PRODUCT §5, Archive)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ensemble.wire import schema
from tests.support.people import auth, kept_sessions, new_person
from tests.support.rooms import Rooms

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def http(server):
    async with httpx.AsyncClient(base_url=server.http) as client:
        yield client


async def make_group(http: httpx.AsyncClient, mentor: dict[str, Any], name: str) -> dict[str, Any]:
    reply = await http.post("/api/groups", json={"name": name, "visibility": "invite"},
                            headers=auth(mentor))
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


async def start(http: httpx.AsyncClient, mentor: dict[str, Any], group: dict[str, Any]) -> dict:
    reply = await http.post(f"/api/groups/{group['group_id']}/sessions", headers=auth(mentor))
    assert reply.status_code == 201, reply.text
    return {"room_id": reply.json()["room_id"]}


async def report(http: httpx.AsyncClient, person: dict[str, Any], group_id: str,
                 room_id: str) -> httpx.Response:
    return await http.get(f"/api/groups/{group_id}/sessions/{room_id}", headers=auth(person))


async def test_each_member_reads_the_report_their_role_allows(http, server, rooms: Rooms):
    mira = await new_person(server.http, "Mira")
    ana = await new_person(server.http, "Ana")
    bo = await new_person(server.http, "Bo")
    group = await make_group(http, mira, "Thursday strings")
    for person in (ana, bo):
        joined = await http.post(f"/api/groups/{group['group_id']}/members",
                                 json={"invite": group["invite"]}, headers=auth(person))
        assert joined.status_code == 200
    room = await start(http, mira, group)
    mentor = await rooms.join(room, "Mira", person_key=mira["person_key"])
    a = await rooms.join(room, "Ana", person_key=ana["person_key"])
    b = await rooms.join(room, "Bo", person_key=bo["person_key"])
    await a.request("goal.set", text="<b>bars 12-16</b> at 80")
    await a.request("goal.check", result="partial", note="up to bar 15")
    await a.request("hand.raise")
    await a.request("turn.pass")
    await b.request("comment.send", to=a.member_id, text="lovely tone, Ana")
    await b.request("comment.send", to=a.member_id, text="from Bo, privately", private=True)
    await mentor.request("comment.send", to=a.member_id, text="for Ana only", private=True)
    await mentor.request("comment.send", to=b.member_id, text="for Bo only", private=True)
    await mentor.request("reaction.send", emoji="👏", to=a.member_id)
    await mentor.request("note.mentors", text="mentors: Ana rushes")
    await mentor.request("room.close")
    for person in (mira, ana, bo):
        await kept_sessions(server.http, person, 1)
    group_id, room_id = group["group_id"], room["room_id"]

    # Ana: the public part, and the private comments addressed to her.
    reply = await report(http, ana, group_id, room_id)
    assert reply.status_code == 200, reply.text
    seen = reply.json()
    schema.validate(seen, "http", "group_report")
    assert seen["role"] == "participant" and "notes" not in seen
    assert seen["room"]["id"] == room_id and seen["room"]["group_id"] == group_id
    assert seen["room"]["title"] == "Thursday strings" and seen["room"]["present"] == 3
    assert [(p["name"], p["role"]) for p in seen["attendance"]] == [
        ("Mira", "mentor"), ("Ana", "participant"), ("Bo", "participant")]
    assert [(g["name"], g["text"], g["result"], g["note"]) for g in seen["goals"]] == [
        ("Ana", "<b>bars 12-16</b> at 80", "partial", "up to bar 15")]
    assert [t["name"] for t in seen["turns"]] == ["Ana"]
    by_name = {f["name"]: f for f in seen["feedback"]}
    assert set(by_name) == {"Mira", "Ana", "Bo"}
    assert [(c["from_name"], c["text"], c["private"]) for c in by_name["Ana"]["comments"]] == [
        ("Bo", "lovely tone, Ana", False), ("Bo", "from Bo, privately", True),
        ("Mira", "for Ana only", True)]
    assert by_name["Ana"]["reactions"] == {"👏": 1}
    assert by_name["Bo"]["comments"] == []  # Bo's private comment is his and the mentors'
    assert "for Bo only" not in reply.text and "Ana rushes" not in reply.text

    # Bo: the public comment to Ana; no private comment of anyone else, not even
    # the one he wrote himself (a private comment reaches its target and the mentors).
    reply = await report(http, bo, group_id, room_id)
    schema.validate(reply.json(), "http", "group_report")
    by_name = {f["name"]: f for f in reply.json()["feedback"]}
    assert [c["text"] for c in by_name["Ana"]["comments"]] == ["lovely tone, Ana"]
    assert [c["text"] for c in by_name["Bo"]["comments"]] == ["for Bo only"]
    for hidden in ("for Ana only", "from Bo, privately", "Ana rushes"):
        assert hidden not in reply.text
    assert reply.json()["goals"] == seen["goals"]  # goals are public in the room too

    # Mira, a mentor: everything, the mentors-only notes included.
    reply = await report(http, mira, group_id, room_id)
    full = reply.json()
    schema.validate(full, "http", "group_report")
    assert full["role"] == "mentor"
    assert [n["text"] for n in full["notes"]] == ["mentors: Ana rushes"]
    by_name = {f["name"]: f for f in full["feedback"]}
    assert [c["text"] for c in by_name["Ana"]["comments"]] == [
        "lovely tone, Ana", "from Bo, privately", "for Ana only"]
    assert [c["text"] for c in by_name["Bo"]["comments"]] == ["for Bo only"]


async def test_outsiders_unknown_sessions_and_other_groups_sessions_are_refused(
    http, server, rooms: Rooms
):
    mira = await new_person(server.http, "Mira")
    eve = await new_person(server.http, "Eve")
    ours = await make_group(http, mira, "Ours")
    theirs = await make_group(http, eve, "Theirs")
    kept: dict[str, str] = {}
    for owner, group in ((mira, ours), (eve, theirs)):
        room = await start(http, owner, group)
        client = await rooms.join(room, owner["name"], person_key=owner["person_key"])
        await client.request("room.close")
        await kept_sessions(server.http, owner, 1)
        kept[group["group_id"]] = room["room_id"]
    our_room, their_room = kept[ours["group_id"]], kept[theirs["group_id"]]

    assert (await report(http, mira, ours["group_id"], our_room)).status_code == 200
    # Not a member: 403, whatever the session.
    refused = await report(http, eve, ours["group_id"], our_room)
    assert refused.status_code == 403
    schema.validate(refused.json(), "http", "error")
    assert (await report(http, eve, ours["group_id"], their_room)).status_code == 403
    # A session of another group, or none at all: 404.
    for room_id in (their_room, "r_nosuchroom", "nothing"):
        missing = await report(http, mira, ours["group_id"], room_id)
        assert missing.status_code == 404, room_id
        assert missing.json()["error"]["code"] == "not_found"
    assert (await report(http, mira, "g_0000000000", our_room)).status_code == 404
    # No person key: 401.
    path = f"/api/groups/{ours['group_id']}/sessions/{our_room}"
    assert (await http.get(path)).status_code == 401
    assert (await http.get(path, headers={"Authorization": "Bearer nope"})).status_code == 401


async def test_the_report_page_is_served_with_a_content_security_policy(http):
    reply = await http.get("/g/g_0000000000/s/r_abc")
    assert reply.status_code == 200
    assert "script-src 'self'" in reply.headers["content-security-policy"]
    assert 'src="/static/js/group-session.js"' in reply.text
