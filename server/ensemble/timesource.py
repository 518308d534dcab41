"""The server's clock, injected so tests can drive time."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that stands still until told to move: for tests only.

    `ensemble serve` uses it when ENSEMBLE_TEST_CLOCK=1, and then answers
    ``POST /test/clock {"advance_ms": N}`` (transport/testclock.py), so an app
    test runs a 25-minute sprint phase in one request. It starts at the real
    time, so tokens, reports and leases look ordinary.
    """

    def __init__(self, start_ms: int | None = None) -> None:
        self._now = SystemClock().now_ms() if start_ms is None else start_ms

    def now_ms(self) -> int:
        return self._now

    def advance(self, ms: int) -> int:
        if ms < 0:
            raise ValueError("a clock does not go back")
        self._now += ms
        return self._now
