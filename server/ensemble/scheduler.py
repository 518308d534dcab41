"""Ticks rooms when their deadlines come, on the injected clock.

A process learns deadlines three ways, so it does not poll the schedule:

* from the outcomes of its own commands (`learn`, called by the service);
* from other processes' commits on the rooms it listens to: each publication
  carries the room's next deadline (`Backend.watch_deadlines`);
* from a sweep of the backend's schedule every `sweep_ms`, for rooms nobody
  here heard of (an empty room's idle close, a closed room's expiry, a room
  whose process died before its deadline). The sweep also publishes what a
  process that died between a commit and its publication left
  (`Backend.publish_stranded`).

When a known deadline comes, the room is claimed (`Backend.claim`: one process
per deadline, atomically in the backend) and ticked; the tick's outcome tells
the next deadline. Several processes may know a deadline; only the claimer
ticks, and a commit's version check keeps every transition once even so.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Awaitable, Callable

from ensemble.backends.base import Backend, BackendUnavailable
from ensemble.timesource import Clock

log = logging.getLogger(__name__)

RETRY_S = 0.5  # after the backend failed
RETRY_MS = int(RETRY_S * 1000)
MAX_KNOWN = 100_000  # deadlines remembered; beyond, the sweep finds the rest


class Scheduler:
    def __init__(
        self,
        backend: Backend,
        clock: Clock,
        tick: Callable[[str, int], Awaitable[None]],
        *,
        sweep_ms: int,
        claim_ms: int,
    ) -> None:
        self._backend = backend
        self._clock = clock
        self._tick = tick
        self._sweep_ms = sweep_ms
        self._claim_ms = claim_ms
        self._known: dict[str, int] = {}  # room id -> the deadline this process knows
        self._claimed: dict[str, int] = {}  # room id -> until when a claim whose tick failed holds
        self._heap: list[tuple[int, str]] = []
        self._wake = asyncio.Event()
        self._next_sweep = 0
        self._passed_at = -1  # the clock reading of the last finished pass
        self._passed = asyncio.Event()
        self._backend.watch_deadlines(self.learn)

    def learn(self, room_id: str, deadline: int | None) -> None:
        """The room's next deadline, as an outcome or a publication told it."""
        if deadline is None:
            self._known.pop(room_id, None)
            self._claimed.pop(room_id, None)
            return
        if self._known.get(room_id) == deadline:
            return
        if len(self._known) >= MAX_KNOWN and room_id not in self._known:
            return
        earliest = self._heap[0][0] if self._heap else None
        self._known[room_id] = deadline
        heapq.heappush(self._heap, (deadline, room_id))
        if earliest is None or deadline < earliest:
            self._wake.set()

    def wake(self) -> None:
        """Look again now (the clock moved, e.g. a test clock was advanced)."""
        self._wake.set()

    def known(self, room_id: str) -> int | None:
        return self._known.get(room_id)

    async def settled(self, now: int, timeout: float = 5.0) -> None:
        """Wait (bounded) until a pass that started at `now` or later ended."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self._passed_at < now:
                    self._passed.clear()
                    self._wake.set()
                    await self._passed.wait()

    async def run(self) -> None:
        """Logs and backs off on failure; never dies."""
        while True:
            # Cleared before the deadlines are read: a deadline learnt after
            # this point wakes the loop, so none is slept through.
            self._wake.clear()
            try:
                delay = await self._pass()
            except asyncio.CancelledError:
                raise
            except BackendUnavailable:
                delay = RETRY_S
            except Exception:
                log.exception("scheduler pass failed")
                delay = RETRY_S
            self._passed.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, delay)):
                    await self._wake.wait()

    async def _pass(self) -> float:
        now = self._clock.now_ms()
        try:
            return await self._tick_due(now)
        finally:
            self._passed_at = now

    async def _tick_due(self, now: int) -> float:
        if now >= self._next_sweep:
            await self._sweep(now)
            self._next_sweep = now + self._sweep_ms
        due = self._due(now)
        for index, room_id in enumerate(due):
            try:
                if self._claimed.get(room_id, -1) <= now:  # not still ours from a failed try
                    if not await self._backend.claim(room_id, now, self._claim_ms):
                        continue  # another process has it, or the deadline moved
                    self._claimed[room_id] = now + self._claim_ms
                await self._tick(room_id, now)
            except asyncio.CancelledError:
                raise
            except BackendUnavailable:
                # Tried again soon, by this process (the claim stays ours), not
                # once the claim ends: a phase must not end seconds late.
                for left in due[index:]:
                    self.learn(left, now + RETRY_MS)
                raise
            except Exception:
                # One broken room must not hold up the others (due again after the claim).
                log.exception("ticking room %s failed", room_id)
            self._claimed.pop(room_id, None)
        wake_at = min(self._next_sweep, self._heap[0][0] if self._heap else self._next_sweep)
        return (wake_at - self._clock.now_ms()) / 1000

    async def _sweep(self, now: int) -> None:
        """Rooms due by the backend's schedule, known here or not: a room nobody
        here listens to is ticked at most `sweep_ms` late. And commits a process
        that died left unpublished are published."""
        for room_id in await self._backend.due_rooms(now):
            self.learn(room_id, now)
        await self._backend.publish_stranded()

    def _due(self, now: int) -> list[str]:
        due: list[str] = []
        while self._heap and self._heap[0][0] <= now:
            at, room_id = heapq.heappop(self._heap)
            if self._known.get(room_id) == at:  # else superseded by a later entry
                del self._known[room_id]
                due.append(room_id)
        return due
