"""Dropping and coming back: every missed event once, in order; or a fresh snapshot."""

from __future__ import annotations

import pytest

from tests.support.rooms import Rooms
from tests.support.server import start_server

pytestmark = pytest.mark.timeout(60)


async def test_resume_delivers_fifty_missed_events_in_order(rooms):
    room = await rooms.create()
    mia = await rooms.join(room, "Mia", mentor=True)
    pat = await rooms.join(room, "Pat")
    await mia.request("chat.send", text="before")
    await pat.wait_for(lambda e: e.get("text") == "before")
    last_before = dict(pat.seqs)

    await pat.drop()  # the network goes; the client reconnects by itself
    for i in range(50):
        await mia.request("chat.send", text=f"missed {i}")
    await mia.request("comment.send", text="private while away", to=pat.member_id,
                      private=True)

    await pat.wait_for(lambda e: e["type"] == "welcome", timeout=15)
    welcome = pat.welcomes[-1]
    assert welcome["resumed"] is True and welcome["member_id"] == pat.member_id
    texts = []
    seqs = []
    while len(texts) < 50 or not any(t == "private while away" for t in texts):
        event = await pat.next_event()
        if event.get("stream") == "room":
            seqs.append(event["seq"])
        if event["type"] in ("chat.message", "comment"):
            texts.append(event["text"])
    assert texts == [f"missed {i}" for i in range(50)] + ["private while away"]
    assert seqs == list(range(last_before["room"] + 1, seqs[-1] + 1))  # gapless, no repeats
    await mia.request("chat.send", text="after")
    after = await pat.wait_for(lambda e: e["type"] == "chat.message")
    assert after["text"] == "after" and after["seq"] == seqs[-1] + 1


async def test_a_member_dropping_shows_disconnected_then_connected(rooms):
    room = await rooms.create()
    mia = await rooms.join(room, "Mia", mentor=True)
    pat = await rooms.join(room, "Pat", reconnect=False)
    await pat.drop()
    gone = await mia.wait_for(lambda e: e["type"] == "member.status")
    assert (gone["member_id"], gone["connected"]) == (pat.member_id, False)
    await rooms.join(room, "Pat", token=pat.token)
    back = await mia.wait_for(lambda e: e["type"] == "member.status", timeout=15)
    assert (back["member_id"], back["connected"]) == (pat.member_id, True)


async def test_leaving_for_longer_than_the_grace_period(rooms):
    room = await rooms.create()
    mia = await rooms.join(room, "Mia", mentor=True)
    pat = await rooms.join(room, "Pat")
    await pat.close()
    left = await mia.wait_for(lambda e: e["type"] == "member.left", timeout=5)  # grace 1 s
    assert left["member_id"] == pat.member_id and left["actor"] is None


async def test_a_second_tab_counts_once(rooms):
    room = await rooms.create()
    mia = await rooms.join(room, "Mia", mentor=True)
    pat = await rooms.join(room, "Pat")
    tab = await rooms.join(room, "Pat", token=pat.token)
    assert tab.member_id == pat.member_id
    await tab.close()
    await mia.request("chat.send", text="marker")
    event = await mia.wait_for(lambda e: e["type"] in ("member.status", "chat.message"))
    assert event["type"] == "chat.message"  # no disconnect shown: Pat is still here


async def test_coming_back_with_token_and_last_seqs(rooms):
    room = await rooms.create()
    mia = await rooms.join(room, "Mia", mentor=True)
    pat = await rooms.join(room, "Pat")
    saved = {"epoch": pat.epoch, **pat.seqs}
    await pat.close()
    for i in range(50):
        await mia.request("chat.send", text=f"while away {i}")
    back = await rooms.join(room, "Pat", token=pat.token, resume=saved)
    assert back.welcomes[0]["resumed"] is True
    events = back.drain()
    while sum(e["type"] == "chat.message" for e in events) < 50:
        events.append(await back.next_event())
    chats = [e["text"] for e in events if e["type"] == "chat.message"]
    assert chats == [f"while away {i}" for i in range(50)]
    room_seqs = [e["seq"] for e in events if e.get("stream") == "room"]
    assert room_seqs == list(range(saved["room"] + 1, saved["room"] + 1 + len(room_seqs)))


async def test_stale_epoch_or_lost_history_gets_a_fresh_snapshot():
    server = start_server("--grace-ms", "5000", env={"ENSEMBLE_HISTORY_SIZE": "10"})
    rooms = Rooms(server)
    try:
        room = await rooms.create()
        mia = await rooms.join(room, "Mia", mentor=True)
        pat = await rooms.join(room, "Pat")
        saved = {"epoch": pat.epoch, **pat.seqs}
        await pat.close()
        for i in range(30):  # more than the 10 kept
            await mia.request("chat.send", text=f"m{i}")
        back = await rooms.join(room, "Pat", token=pat.token, resume=saved)
        welcome = back.welcomes[0]
        assert welcome["resumed"] is False
        recent = [e["text"] for e in welcome["snapshot"]["recent"]
                  if e["type"] == "chat.message"]
        assert recent[-1] == "m29"
        assert not [e for e in back.drain() if e["type"] == "chat.message"]

        # Another epoch (the room's history started over): fresh snapshot, never old seqs.
        other = await rooms.join(room, "Pat", token=pat.token,
                                 resume={**saved, "epoch": "another-epoch"})
        assert other.welcomes[0]["resumed"] is False
        assert not [e for e in other.drain() if "seq" in e]
    finally:
        await rooms.close()
        server.stop()
