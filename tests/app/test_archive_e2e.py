"""A session is kept in its people's history when the room closes or empties."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from ensemble.wire import schema
from tests.support.people import auth, kept_sessions, new_person

pytestmark = pytest.mark.timeout(60)

PROGRAM = {"phases": [{"name": "Focus", "kind": "focus", "duration_ms": 60_000}], "rounds": 1}


def in_focus(event) -> bool:
    return event["type"] == "sprint.phase"


async def test_a_closed_session_is_kept_for_its_people_only(rooms, server):
    mira = await new_person(server.http, "Mira")
    ana = await new_person(server.http, "Ana", tz="Europe/Paris")
    room = await rooms.create(title="Evening scales", program=PROGRAM)
    mentor = await rooms.join(room, "Mira", mentor=True, person_key=mira["person_key"])
    member = await rooms.join(room, "Ana", person_key=ana["person_key"])
    guest = await rooms.join(room, "Guest")
    await member.request("goal.set", text="scales at 80")
    await mentor.request("sprint.start")
    await member.wait_for(in_focus)
    await mentor.request("comment.send", to=member.member_id, text="relax the wrist",
                         private=True)
    await guest.request("comment.send", to=member.member_id, text="sounds good")
    await guest.request("reaction.send", to=member.member_id, emoji="👏")
    await member.request("hand.raise")
    await member.request("turn.pass")
    await member.request("goal.check", result="partial", note="to bar 15")
    await asyncio.sleep(0.05)  # some focus time
    await mentor.request("room.close")

    [kept] = await kept_sessions(server.http, ana, 1)
    schema.validate({"sessions": [kept], "next": None}, "http", "me_sessions")
    assert kept["room_id"] == room["room_id"] and kept["title"] == "Evening scales"
    assert kept["role"] == "participant" and kept["focus_ms"] > 0
    assert kept["goals"] == [{"text": "scales at 80", "result": "partial", "note": "to bar 15"}]
    assert [(f["from_name"], f["text"], f["private"]) for f in kept["feedback"]] == [
        ("Mira", "relax the wrist", True), ("Guest", "sounds good", False)]
    assert kept["feedback"][0]["anchor"]["phase"] == "Focus"
    assert kept["reactions"] == {"👏": 1}
    assert len(kept["turns"]) == 1 and kept["turns"][0]["ms"] >= 0

    [mentors] = await kept_sessions(server.http, mira, 1)
    assert mentors["role"] == "mentor" and mentors["feedback"] == []
    assert "relax the wrist" not in str(mentors)

    async with httpx.AsyncClient(base_url=server.http) as http:
        me = (await http.get("/api/me", headers=auth(ana))).json()
    assert me["streak"] == {"days": 1, "best": 1}
    assert me["totals"]["sessions"] == 1 and me["totals"]["goals_partial"] == 1
    assert me["goals_kept"] == 0.5  # a partial goal counts half, the one ratio pages show


async def test_a_session_is_kept_when_its_last_member_left(rooms, server):
    ana = await new_person(server.http, "Ana")
    room = await rooms.create()
    member = await rooms.join(room, "Ana", person_key=ana["person_key"])
    await member.close()  # the server's grace period is 1 s
    [kept] = await kept_sessions(server.http, ana, 1)
    assert kept["room_id"] == room["room_id"] and kept["focus_ms"] == 0
    async with httpx.AsyncClient(base_url=server.http) as http:
        me = (await http.get("/api/me", headers=auth(ana))).json()
    assert me["streak"]["days"] == 0  # no focus phase reached: not a practice day


async def test_a_session_someone_came_back_to_is_kept_again_with_what_followed(rooms, server):
    ana = await new_person(server.http, "Ana")
    room = await rooms.create()
    member = await rooms.join(room, "Ana", person_key=ana["person_key"])
    token = member.token
    await member.close()  # past the 1 s grace: kept
    [kept] = await kept_sessions(server.http, ana, 1)
    assert kept["goals"] == []
    back = await rooms.join(room, "Ana", token=token)  # the same member, back in the room
    await back.request("goal.set", text="one more round")
    await back.close()
    deadline = asyncio.get_running_loop().time() + 20
    while True:  # kept again, in place of the first copy
        [kept] = await kept_sessions(server.http, ana, 1)
        if kept["goals"]:
            break
        assert asyncio.get_running_loop().time() < deadline, kept
        await asyncio.sleep(0.1)
    assert kept["room_id"] == room["room_id"]
    assert [g["text"] for g in kept["goals"]] == ["one more round"]


async def test_my_sessions_page_newest_first(rooms, server):
    ana = await new_person(server.http, "Ana")
    made = []
    for title in ("one", "two", "three"):
        room = await rooms.create(title=title)
        mentor = await rooms.join(room, "Mia", mentor=True)
        await rooms.join(room, "Ana", person_key=ana["person_key"])
        await mentor.request("room.close")
        made.append(room["room_id"])
        await kept_sessions(server.http, ana, len(made))
    seen, cursor = [], None
    async with httpx.AsyncClient(base_url=server.http) as http:
        while True:
            query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = (await http.get(f"/api/me/sessions{query}", headers=auth(ana))).json()
            schema.validate(page, "http", "me_sessions")
            assert len(page["sessions"]) <= 2
            seen += [s["room_id"] for s in page["sessions"]]
            cursor = page["next"]
            if cursor is None:
                break
    assert seen == made[::-1]
