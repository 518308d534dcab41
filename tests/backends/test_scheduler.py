"""The scheduler (scheduler.py) on real backends and test clocks: told
deadlines, not polling; one tick per deadline however many processes know it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ensemble.backends.base import BackendUnavailable
from ensemble.scheduler import RETRY_MS, Scheduler
from ensemble.timesource import ManualClock

from .collect import Collector
from .rooms import PHASES, T0, request, room_with_mentor

pytestmark = pytest.mark.timeout(30)
HOUR = 3_600_000


class Process:
    """One process's scheduler over its own backend, ticking through it."""

    def __init__(self, backend: Any, sweep_ms: int = HOUR) -> None:
        self.backend = backend
        self.clock = ManualClock(T0)
        self.ticked: list[tuple[str, int]] = []
        self.scheduler = Scheduler(backend, self.clock, self.tick, sweep_ms=sweep_ms,
                                   claim_ms=5_000)
        self.task: asyncio.Task[None] | None = None

    async def tick(self, room_id: str, now: int) -> None:
        self.ticked.append((room_id, now))
        outcome = await self.backend.transact(room_id, lambda room: room.tick(now))
        self.scheduler.learn(room_id, outcome.deadline)

    async def advance_to(self, at: int) -> None:
        self.clock.advance(at - self.clock.now_ms())
        self.scheduler.wake()
        await self.scheduler.settled(at)


@pytest.fixture
async def processes(backend_factory) -> AsyncIterator[list[Process]]:  # type: ignore[no-untyped-def]
    made: list[Process] = []

    async def make(**kw: Any) -> Process:
        process = Process(await backend_factory(), **kw)
        process.task = asyncio.create_task(process.scheduler.run())
        made.append(process)
        return process

    yield make  # type: ignore[misc]
    for process in made:
        assert process.task is not None
        process.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await process.task


async def test_a_listening_process_ticks_on_a_deadline_it_was_told(processes):
    """The writer learns nothing (it died right after its commit); the listener
    never sweeps, yet ticks the phase end on time: the publication told it."""
    writer, listener = await processes(), await processes()
    room_id = await room_with_mentor(writer.backend)
    heard = Collector()
    await listener.backend.subscribe(room_id, heard)

    await writer.backend.transact(room_id, request("m", "sprint.start", {"phases": PHASES}))
    await heard.wait_for(lambda c: any(p and p.type == "sprint.changed" for p in c.got))
    assert listener.scheduler.known(room_id) == T0 + 60_000
    await listener.advance_to(T0 + 59_999)
    assert listener.ticked == []
    await listener.advance_to(T0 + 60_000)
    assert listener.ticked == [(room_id, T0 + 60_000)]
    await heard.wait_for(lambda c: any(p and p.type == "sprint.phase" for p in c.got))


async def test_a_room_nobody_was_told_about_is_found_by_the_sweep(processes):
    writer = await processes()
    sweeper = await processes(sweep_ms=1_000)
    room_id = await room_with_mentor(writer.backend)
    await writer.backend.transact(room_id, request("m", "sprint.start", {"phases": PHASES}))
    assert sweeper.scheduler.known(room_id) is None  # not subscribed: not told
    await sweeper.advance_to(T0 + 60_000)
    assert sweeper.ticked == [(room_id, T0 + 60_000)]


async def test_every_process_knows_the_deadline_one_ticks(processes):
    many = [await processes() for _ in range(3)]
    room_id = await room_with_mentor(many[0].backend)
    outcome = await many[0].backend.transact(
        room_id, request("m", "sprint.start", {"phases": PHASES})
    )
    for process in many:
        process.scheduler.learn(room_id, outcome.deadline)
    await asyncio.gather(*(p.advance_to(T0 + 60_000) for p in many))
    assert sum(len(p.ticked) for p in many) == 1


async def test_a_tick_the_backend_failed_is_tried_again_soon_by_its_claimer(processes):
    """The claimer's commit failed (Redis unreachable, or conflicts without
    end): it tries again half a second later, not once its claim has run out."""
    process = await processes()
    room_id = await room_with_mentor(process.backend)
    outcome = await process.backend.transact(
        room_id, request("m", "sprint.start", {"phases": PHASES})
    )
    process.scheduler.learn(room_id, outcome.deadline)
    ticking = process.tick
    failures = [BackendUnavailable("redis: connection refused")]

    async def flaky(room_id: str, now: int) -> None:
        if failures:
            process.ticked.append((room_id, now))
            raise failures.pop()
        await ticking(room_id, now)

    process.scheduler._tick = flaky
    await process.advance_to(T0 + 60_000)
    assert process.ticked == [(room_id, T0 + 60_000)]
    await process.advance_to(T0 + 60_000 + RETRY_MS)
    assert process.ticked == [(room_id, T0 + 60_000), (room_id, T0 + 60_000 + RETRY_MS)]
    assert process.scheduler.known(room_id) == T0 + 60_000 + PHASES[1]["duration_ms"]
