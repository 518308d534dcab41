"""Private feedback reaches its target and the mentors only; room seqs stay gapless."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.timeout(60)


async def test_private_comment_never_reaches_a_third_participant(rooms):
    room = await rooms.create()
    mia = await rooms.join(room, "Mia", mentor=True)
    pat = await rooms.join(room, "Pat")
    sam = await rooms.join(room, "Sam")
    olly = await rooms.join(room, "Olly", role="observer")
    received = {c: [] for c in (mia, pat, sam, olly)}

    async def collect(client):
        async for event in client.events():
            received[client].append(event)
            if event.get("text") == "END":
                return

    tasks = [asyncio.create_task(collect(c)) for c in received]
    await sam.request("comment.send", text="SECRET for Pat", to=pat.member_id, private=True)
    await mia.request("note.mentors", text="SECRET notes")
    await pat.request("comment.send", text="SECRET for Mia", to=mia.member_id, private=True)
    await sam.request("comment.send", text="public praise", to=pat.member_id)
    await mia.request("chat.send", text="END")
    await asyncio.wait_for(asyncio.gather(*tasks), 10)

    def texts(client):
        return [e["text"] for e in received[client] if "text" in e]

    assert texts(pat) == ["SECRET for Pat", "public praise", "END"]
    assert texts(sam) == ["public praise", "END"]  # the sender gets its ack, not a copy
    assert texts(olly) == ["public praise", "END"]
    assert texts(mia) == ["SECRET for Pat", "SECRET notes", "SECRET for Mia",
                          "public praise", "END"]
    (private,) = [e for e in received[pat] if e["type"] == "comment" and e["private"]]
    assert private["stream"] == "direct"
    for client, events in received.items():
        room_seqs = [e["seq"] for e in events if e.get("stream") == "room"]
        assert room_seqs == list(range(room_seqs[0], room_seqs[0] + len(room_seqs))), client
        start = client.welcomes[0]["seqs"]["room"]
        assert room_seqs[0] == start + 1
