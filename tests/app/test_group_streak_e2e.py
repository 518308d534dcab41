"""A group streak over HTTP: meetings of the group's schedule kept in a row, on a
server whose clock the test moves (tests/support/clock_server.py)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from ensemble.wire import schema
from tests.support.clock_server import CLOCK_FILE, set_offset
from tests.support.people import auth, kept_sessions, new_person
from tests.support.rooms import Rooms
from tests.support.server import ServerProcess, free_port

pytestmark = pytest.mark.timeout(90)

PARIS = ZoneInfo("Europe/Paris")
PROGRAM = {"phases": [{"name": "Focus", "kind": "focus", "duration_ms": 600_000}], "rounds": 1}
SCHEDULE = {"days": ["mon", "thu"], "time": "19:30", "tz": "Europe/Paris"}


def paris(*when: int) -> int:
    return int(datetime(*when, tzinfo=PARIS).timestamp() * 1000)


@pytest.fixture
def clocked(tmp_path: Path) -> Iterator[tuple[ServerProcess, Path]]:
    clock = tmp_path / "clock"
    set_offset(clock, 0)
    server = ServerProcess(free_port(), [], {CLOCK_FILE: str(clock),
                                             "ENSEMBLE_DATA_DIR": str(tmp_path)},
                           module="tests.support.clock_server")
    server.start()
    yield server, clock
    server.stop()


@pytest.fixture
async def http(clocked) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=clocked[0].http) as client:
        yield client


def move_to(clock: Path, at_ms: int) -> None:
    """The server's clock reads `at_ms` now (and runs on from there)."""
    set_offset(clock, at_ms - time.time_ns() // 1_000_000)


async def hold_session(http, server, clock, at_ms, group, mentor, member, count: int) -> None:
    """At `at_ms` the mentor starts the group's session; both are in its focus
    phase for a minute (of the server's clock); it closes."""
    move_to(clock, at_ms)
    reply = await http.post(f"/api/groups/{group['group_id']}/sessions", headers=auth(mentor))
    assert reply.status_code == 201, reply.text
    room = {"room_id": reply.json()["room_id"]}
    rooms = Rooms(server)
    try:
        leader = await rooms.join(room, "Mira", person_key=mentor["person_key"])
        ana = await rooms.join(room, "Ana", person_key=member["person_key"])
        await leader.request("sprint.start")
        await ana.wait_for(lambda e: e["type"] == "sprint.phase")
        move_to(clock, at_ms + 60_000)
        await leader.request("room.close")
    finally:
        await rooms.close()
    await kept_sessions(server.http, member, count)


async def streaks(http, group, mentor, member) -> dict:
    """Ana's streaks as the group page, the board and the mentor's page show them."""
    gid = group["group_id"]
    view = (await http.get(f"/api/groups/{gid}", headers=auth(member))).json()
    schema.validate(view, "http", "group")
    board = (await http.get(f"/api/groups/{gid}/board", headers=auth(member))).json()
    schema.validate(board, "http", "board")
    page = (await http.get(f"/api/groups/{gid}/people/{member['person_id']}",
                           headers=auth(mentor))).json()
    schema.validate(page, "http", "group_person")
    [listed] = [m for m in view["members"] if m["person_id"] == member["person_id"]]
    [entry] = board["entries"]
    assert entry["group_streak"] == listed["group_streak"] == page["group_streak"]
    return {"group": listed["group_streak"], "days": listed["streak"],
            "board_days": entry["streak"], "page_days": page["streak"]["days"]}


async def test_the_group_streak_counts_scheduled_meetings_over_http(clocked, http):
    server, clock = clocked
    mira = await new_person(server.http, "Mira", tz="Europe/Paris")
    ana = await new_person(server.http, "Ana", tz="Europe/Paris")
    reply = await http.post("/api/groups", headers=auth(mira), json={
        "name": "Strings", "visibility": "invite", "program": PROGRAM, "schedule": SCHEDULE})
    group = reply.json()
    await http.post(f"/api/groups/{group['group_id']}/members", headers=auth(ana),
                    json={"invite": group["invite"]})
    await http.put(f"/api/groups/{group['group_id']}/board", json={"opt_in": True},
                   headers=auth(ana))

    thursday = paris(2026, 3, 19, 19, 35)  # the meeting
    await hold_session(http, server, clock, thursday, group, mira, ana, 1)
    monday = paris(2026, 3, 23, 19, 25)  # the meeting, started a little early
    await hold_session(http, server, clock, monday, group, mira, ana, 2)

    # Thursday: today's meeting not held yet breaks nothing. Two meetings in a
    # row, though not two days in a row (the personal streak ended on Monday).
    move_to(clock, paris(2026, 3, 26, 12))
    seen = await streaks(http, group, mira, ana)
    assert seen == {"group": {"count": 2, "best": 2}, "days": 0, "board_days": 0,
                    "page_days": 0}

    # Monday after: Thursday's meeting was missed once Monday's slot has begun.
    move_to(clock, paris(2026, 3, 30, 19, 0))
    seen = await streaks(http, group, mira, ana)
    assert seen["group"] == {"count": 0, "best": 2}
