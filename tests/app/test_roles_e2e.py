"""Who may send what, end to end, from the tables of PROTOCOL.md §7.

The matrix is written out here on purpose, not read from the server's handler
table: opening a mentor-only request to participants (or closing one to its
role) must fail this test, whatever the server's own tables say.
"""

from __future__ import annotations

from typing import Any

import pytest

from ensemble.client import Client, ClientError
from tests.support.rooms import Rooms

pytestmark = pytest.mark.timeout(90)

M, P, OBS = "mentor", "participant", "observer"
EVERYONE = {M, P, OBS}

# PROTOCOL.md §7, column "who" (`turn.pass` is "the holder": see its own test).
MAY_SEND: dict[str, set[str]] = {
    "status.set": EVERYONE,
    "timer.start": {M},
    "timer.pause": {M},
    "timer.resume": {M},
    "timer.adjust": {M},
    "timer.reset": {M},
    "sprint.start": {M},
    "sprint.skip": {M},
    "sprint.stop": {M},
    "goal.set": {P},
    "goal.check": {P},
    "hand.raise": {P},
    "hand.lower": {P},
    "turn.next": {M},
    "turn.grant": {M},
    "turn.reorder": {M},
    "turns.config": {M},
    "turns.clear": {M},
    "chat.send": EVERYONE,
    "reaction.send": EVERYONE,
    "comment.send": {M, P},
    "note.mentors": {M},
    "tempo.set": {M},
    "tempo.start": {M},
    "tempo.stop": {M},
    "member.set_role": {M},
    "member.remove": {M},
    "room.close": {M},
}
# Sent last, in this order: they change who is in the room or close it.
LAST = ["member.set_role", "member.remove", "room.close"]


def payload(type_: str, target: str) -> dict[str, Any]:
    """A request that is valid for the schema; `target` is another participant."""
    return {
        "status.set": {"status": "focus", "text": "scales"},
        "timer.start": {"duration_ms": 60_000, "label": "Warm-up"},
        "timer.adjust": {"delta_ms": 1000},
        "sprint.start": {"phases": [{"name": "F", "kind": "focus", "duration_ms": 60_000}],
                         "rounds": 1},
        "goal.set": {"text": "slow scales"},
        "goal.check": {"result": "done"},
        "turn.grant": {"member_id": target},
        "turn.reorder": {"queue": []},
        "turns.config": {"mode": "queue"},
        "chat.send": {"text": "hi"},
        "reaction.send": {"emoji": "👏", "to": target},
        "comment.send": {"text": "nice", "to": target},
        "note.mentors": {"text": "note"},
        "tempo.set": {"bpm": 100, "beats_per_bar": 4},
        "member.set_role": {"member_id": target, "role": "observer"},
        "member.remove": {"member_id": target},
    }.get(type_, {})


def test_the_matrix_names_every_request_of_the_schema():
    from ensemble.wire.schema import load_schema

    requests = set(load_schema()["requests"]) - {"hello", "ping", "turn.pass"}
    assert set(MAY_SEND) == requests


async def join_as(rooms: Rooms, room: dict[str, Any], role: str, name: str) -> Client:
    if role == M:
        return await rooms.join(room, name, mentor=True)
    return await rooms.join(room, name, role=role)


@pytest.mark.parametrize("role", [M, P, OBS])
async def test_every_request_is_allowed_or_forbidden_as_the_protocol_says(rooms, role):
    room = await rooms.create()
    await rooms.join(room, "Host", mentor=True)
    tara = await rooms.join(room, "Tara")
    client = await join_as(rooms, room, role, "Who")
    order = [t for t in MAY_SEND if t not in LAST] + LAST
    outcomes: dict[str, str] = {}
    for type_ in order:
        try:
            await client.request(type_, **payload(type_, tara.member_id))
            outcomes[type_] = "ack"
        except ClientError as refused:
            outcomes[type_] = refused.code
    wrong = {
        type_: outcome
        for type_, outcome in outcomes.items()
        if (outcome == "forbidden") == (role in MAY_SEND[type_])
    }
    assert not wrong, f"{role}: allowed but refused, or forbidden but let through: {wrong}"
    # The allowed requests did what they ask (not refused for another reason).
    expected_acks = {
        M: ["timer.start", "timer.pause", "timer.resume", "timer.adjust", "timer.reset",
            "sprint.start", "sprint.skip", "tempo.set", "tempo.start", "tempo.stop",
            "note.mentors", "comment.send", "turns.config", *LAST],
        P: ["goal.set", "goal.check", "hand.raise", "comment.send"],
        OBS: [],
    }[role] + ["chat.send", "status.set", "reaction.send"]
    assert {t: outcomes[t] for t in expected_acks if outcomes[t] != "ack"} == {}


@pytest.mark.parametrize("role", [M, P, OBS])
async def test_only_the_holder_may_pass_the_turn(rooms, role):
    room = await rooms.create()
    host = await rooms.join(room, "Host", mentor=True)
    tara = await rooms.join(room, "Tara")
    client = await join_as(rooms, room, role, "Who")
    await host.request("turn.grant", member_id=tara.member_id)
    with pytest.raises(ClientError) as refused:
        await client.request("turn.pass")
    assert refused.value.code == "forbidden"
    await tara.request("turn.pass")
