"""A whole sprint over a real socket: mentor and two participants, then the report."""

from __future__ import annotations

import asyncio

import httpx
import pytest

pytestmark = pytest.mark.timeout(60)

PROGRAM = {
    "phases": [
        {"name": "Check-in", "kind": "checkin", "duration_ms": 1500},
        {"name": "Focus", "kind": "focus", "duration_ms": 1500},
        {"name": "Break", "kind": "break", "duration_ms": 500},
        {"name": "Check-out", "kind": "checkout", "duration_ms": 1500},
    ],
    "rounds": 2,
}


def phase_is(kind: str, round_: int):
    def match(event):
        if event["type"] != "sprint.phase":
            return False
        sprint = event["sprint"]
        return sprint["round"] == round_ and sprint["phases"][sprint["phase_index"]]["kind"] == kind
    return match


async def test_a_whole_sprint_with_goals_turns_feedback_and_report(rooms, server):
    room = await rooms.create(title="Sprint club", program=PROGRAM)
    mia = await rooms.join(room, "Mia", mentor=True)
    pat = await rooms.join(room, "Pat", encoding="json")
    sam = await rooms.join(room, "Sam")
    everyone = (mia, pat, sam)

    await mia.request("turns.config", mode="round_robin", turn_ms=1000)
    await mia.request("sprint.start")

    await asyncio.gather(*(c.wait_for(phase_is("checkin", 1)) for c in everyone))
    await pat.request("goal.set", text="Etude 3, bars 1-16")
    await sam.request("goal.set", text="Scales in all keys")
    await asyncio.gather(*(c.wait_for(phase_is("focus", 1)) for c in everyone))
    await pat.request("chat.send", text="starting the etude")
    await sam.request("reaction.send", emoji="👏", to=pat.member_id)
    await mia.request("comment.send", text="watch the tempo in bar 9",
                      to=pat.member_id, private=True)
    await asyncio.gather(*(c.wait_for(phase_is("focus", 2)) for c in everyone))
    await asyncio.gather(*(c.wait_for(phase_is("checkout", 2)) for c in everyone))
    await pat.request("goal.check", result="done", note="clean")
    await sam.request("goal.check", result="partial")

    for client in everyone:
        done = await client.wait_for(
            lambda e: e["type"] == "sprint.changed" and e["sprint"]["state"] == "done")
        assert done["actor"] is None  # the server ended it, on time

    async with httpx.AsyncClient() as http:
        reply = await http.get(f"{server.http}/api/rooms/{room['room_id']}/report",
                               headers={"Authorization": f"Bearer {room['host_key']}"})
    assert reply.status_code == 200
    report = reply.json()
    names = {a["name"]: a for a in report["attendance"]}
    assert set(names) == {"Mia", "Pat", "Sam"}
    assert all(a["present_ms"] > 6000 for a in report["attendance"])
    goals = [(g["name"], g["text"], g["result"]) for g in report["goals"]]
    assert goals == [("Pat", "Etude 3, bars 1-16", "done"),
                     ("Sam", "Scales in all keys", "partial")]
    automatic = [t for t in report["turns"] if t["ended_at"] is not None]
    assert len(automatic) >= 4
    assert {t["name"] for t in automatic} == {"Pat", "Sam"}
    assert all(t["ms"] == 1000 for t in automatic)
    feedback = {f["name"]: f for f in report["feedback"]}
    assert feedback["Pat"]["reactions"] == {"👏": 1}
    (comment,) = feedback["Pat"]["comments"]
    assert comment["text"] == "watch the tempo in bar 9" and comment["private"]
    assert comment["anchor"]["phase"] == "Focus" and comment["anchor"]["round"] == 1
    assert comment["anchor"]["turn_of"] in (pat.member_id, sam.member_id)


async def test_turn_limit_advances_by_itself_for_everyone(rooms):
    room = await rooms.create()
    mia = await rooms.join(room, "Mia", mentor=True)
    pat = await rooms.join(room, "Pat")
    sam = await rooms.join(room, "Sam")
    await mia.request("turns.config", mode="round_robin", turn_ms=1000)
    for client in (mia, pat, sam):
        first = await client.wait_for(lambda e: e["type"] == "turns.changed")
        assert first["turns"]["current"] == pat.member_id
        nxt = await client.wait_for(lambda e: e["type"] == "turns.changed")
        assert nxt["actor"] is None
        assert nxt["turns"]["current"] == sam.member_id
        assert nxt["at"] == first["turns"]["ends_at"]
