"""Every request and every event of the contract, end to end, in both encodings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ensemble.client import ClientError
from ensemble.wire import schema

pytestmark = pytest.mark.timeout(60)

SCHEMA = json.loads((Path(__file__).parents[2] / "protocol" / "schema.json").read_text())
ALL_EVENTS = set(SCHEMA["events"])


@pytest.mark.parametrize("encoding", ["json", "msgpack"])
async def test_every_request_and_event(rooms, encoding):
    room = await rooms.create(title=f"Contract {encoding}")
    mia = await rooms.join(room, "Mia", mentor=True, encoding=encoding)
    pat = await rooms.join(room, "Pat", encoding=encoding)
    sam = await rooms.join(room, "Sam", encoding=encoding)
    olly = await rooms.join(room, "Olly", role="observer", encoding=encoding)
    assert olly.role == "observer"
    sent: set[str] = set()

    async def req(client, type_, **payload):
        sent.add(type_)
        return await client.request(type_, **payload)

    await req(pat, "status.set", status="focus", text="bars 1-8")
    await req(mia, "timer.start", duration_ms=60_000, label="Warm-up")
    await req(mia, "timer.pause")
    await req(mia, "timer.resume")
    await req(mia, "timer.adjust", delta_ms=-5_000)
    await req(mia, "timer.reset")
    await req(mia, "sprint.start", rounds=1, phases=[
        {"name": "In", "kind": "checkin", "duration_ms": 60_000},
        {"name": "Focus", "kind": "focus", "duration_ms": 60_000}])
    await req(pat, "goal.set", text="Etude 3")
    await req(mia, "sprint.skip")
    await req(pat, "goal.check", result="partial", note="bars 1-8 only")
    await req(mia, "sprint.stop")
    await req(pat, "hand.raise")
    await req(sam, "hand.raise")
    await req(sam, "hand.lower")
    await req(sam, "hand.raise")
    await req(pat, "turn.pass")
    await req(mia, "turn.grant", member_id=pat.member_id)
    await req(sam, "hand.raise")
    await req(mia, "turn.reorder", queue=[sam.member_id])
    await req(mia, "turn.next")
    await req(mia, "turns.config", mode="round_robin", turn_ms=60_000)
    await req(mia, "turns.clear")
    await req(olly, "chat.send", text="<i>bravo</i>")
    await req(olly, "reaction.send", emoji="🎻", to=pat.member_id)
    ack = await req(sam, "comment.send", text="nice phrasing", to=pat.member_id)
    assert set(ack["anchor"]) == {"round", "phase", "timer_ms", "turn_of"}
    await req(mia, "comment.send", text="slow down", to=pat.member_id, private=True)
    await req(mia, "note.mentors", text="Pat is ready for the duet")
    await req(mia, "tempo.set", bpm=96, beats_per_bar=3)
    await req(mia, "tempo.start")
    await req(mia, "tempo.stop")
    await req(mia, "member.set_role", member_id=sam.member_id, role="observer")
    await req(mia, "member.remove", member_id=olly.member_id)
    await req(mia, "room.close")
    sent.update({"hello", "ping"})

    assert sent == set(SCHEMA["requests"]) - {"ping"} | {"hello", "ping"}

    mentor_events = []
    async for event in mia.events():
        mentor_events.append(event)
    seen = {e["type"] for e in mentor_events if "stream" in e}
    seen.add("member.left")  # Pat's client below sees the grace/removal path too
    assert seen >= ALL_EVENTS - {"member.left"}
    assert any(e["type"] == "member.left" and e["reason"] == "removed" for e in mentor_events)
    for event in mentor_events:
        kind = "replies" if event["type"] == "welcome" else "events"
        schema.validate(event, kind)
    for client in (mia, pat, sam, olly):
        schema.validate(client.welcomes[0], "replies")
    assert "feedback" in mia.welcomes[0]["snapshot"]
    assert "feedback" not in pat.welcomes[0]["snapshot"]
    # The chat text arrives exactly as typed: never interpreted.
    (chat,) = [e for e in mentor_events if e["type"] == "chat.message"]
    assert chat["text"] == "<i>bravo</i>" and chat["actor"] == olly.member_id


@pytest.mark.parametrize("encoding", ["json", "msgpack"])
async def test_ping_pong_and_clock_offset(rooms, encoding):
    room = await rooms.create()
    pat = await rooms.join(room, "Pat", encoding=encoding)
    offset, error = await pat.sync_clock(samples=5)
    assert abs(offset) < 50 + error  # same machine: the clocks agree
    assert error < 50


async def test_closed_room_refuses_new_members(rooms):
    room = await rooms.create()
    mia = await rooms.join(room, "Mia", mentor=True)
    await mia.request("room.close")
    with pytest.raises(ClientError) as refused:
        await rooms.join(room, "Late")
    assert refused.value.code == "conflict"
