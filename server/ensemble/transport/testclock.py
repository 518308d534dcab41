"""POST /test/clock: move a test server's clock (only with ENSEMBLE_TEST_CLOCK=1).

Never routed otherwise. The scheduler is woken at once, so what fell due in
the skipped time is applied before the reply.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse

from ensemble.scheduler import Scheduler
from ensemble.timesource import ManualClock

MAX_ADVANCE_MS = 366 * 24 * 3600 * 1000


def clock_route(clock: ManualClock, scheduler: Scheduler):  # type: ignore[no-untyped-def]
    async def advance(request: Request) -> JSONResponse:
        try:
            body = json.loads(await request.body())
            ms = body["advance_ms"]
            if not isinstance(ms, int) or isinstance(ms, bool) or not 0 <= ms <= MAX_ADVANCE_MS:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": {"code": "bad_request",
                                           "message": "body is {\"advance_ms\": N}, N >= 0"}},
                                status_code=400)
        now = clock.advance(ms)
        scheduler.wake()
        await scheduler.settled(now)
        return JSONResponse({"now": now})

    return advance
