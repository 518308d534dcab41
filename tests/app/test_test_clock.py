"""A server on a test clock (ENSEMBLE_TEST_CLOCK=1): a sprint of 25-minute
phases runs in a few requests, each phase entered once, on the clock's time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.support.rooms import Rooms
from tests.support.server import ServerProcess, start_server

pytestmark = pytest.mark.timeout(60)

MINUTE = 60_000
PROGRAM = {
    "phases": [
        {"name": "Focus", "kind": "focus", "duration_ms": 25 * MINUTE},
        {"name": "Break", "kind": "break", "duration_ms": 5 * MINUTE},
    ],
    "rounds": 2,
}


@pytest.fixture(scope="module")
def clocked() -> Iterator[ServerProcess]:
    process = start_server(env={"ENSEMBLE_TEST_CLOCK": "1"})
    yield process
    process.stop()


@pytest.fixture
async def rooms(clocked: ServerProcess) -> AsyncIterator[Rooms]:
    helper = Rooms(clocked)
    yield helper
    await helper.close()


async def advance(server: ServerProcess, ms: int) -> int:
    async with httpx.AsyncClient() as http:
        reply = await http.post(f"{server.http}/test/clock", json={"advance_ms": ms})
    assert reply.status_code == 200, reply.text
    return int(reply.json()["now"])


async def events_until(client, predicate, timeout: float = 5.0):  # type: ignore[no-untyped-def]
    """Every event up to and including the first that matches."""
    seen = []
    while True:
        seen.append(await client.next_event(timeout))
        if predicate(seen[-1]):
            return seen


async def test_a_sprint_of_long_phases_runs_on_the_test_clock(rooms, clocked):
    room = await rooms.create(title="Long phases", program=PROGRAM)
    mia = await rooms.join(room, "Mia", mentor=True)
    pat = await rooms.join(room, "Pat")
    await mia.request("sprint.start")
    started = (await pat.wait_for(lambda e: e["type"] == "sprint.changed"))["at"]

    seen = []
    for minutes in (25, 5, 25, 5):
        now = await advance(clocked, minutes * MINUTE)
        seen += await events_until(pat, lambda e, n=now: e["type"].startswith("sprint.")
                                   and e["at"] == n)
    phases = [(e["sprint"]["round"], e["sprint"]["phase_index"], e["at"])
              for e in seen if e["type"] == "sprint.phase"]
    assert phases == [  # each phase once, at its own instant of the test clock
        (1, 0, started),
        (1, 1, started + 25 * MINUTE),
        (2, 0, started + 30 * MINUTE),
        (2, 1, started + 55 * MINUTE),
    ]
    done = seen[-1]
    assert done["type"] == "sprint.changed" and done["sprint"]["state"] == "done"
    assert done["at"] == started + 60 * MINUTE and done["actor"] is None


async def test_the_clock_hook_refuses_bad_input_and_is_absent_by_default(clocked, server):
    async with httpx.AsyncClient() as http:
        for body in ({"advance_ms": -1}, {"advance_ms": "1"}, {}, {"advance_ms": True}):
            reply = await http.post(f"{clocked.http}/test/clock", json=body)
            assert reply.status_code == 400, body
        reply = await http.post(f"{server.http}/test/clock", json={"advance_ms": 1})
        assert reply.status_code in (404, 405)
