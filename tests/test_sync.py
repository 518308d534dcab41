"""The clock-sync filter (ensemble.sync) on synthetic paths, and its agreement
with the web client's copy of the same algorithm (client-web/js/clock.js)."""

from __future__ import annotations

import asyncio
import json
import math
import random
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ensemble.sync import WINDOW, Sample, SyncFilter, fit_drift
from tests.backends.collect import eventually

ROOT = Path(__file__).resolve().parents[1]
START = 1_000_000.0

Delay = Callable[[float], float]
Run = tuple[SyncFilter, Callable[[float], float], list[tuple[float, float, float]]]


def run(*, seconds: float, up: Delay, down: Delay, every: float = 500, offset0: float = 12345.6,
        drift: float = 0.0, flt: SyncFilter | None = None, start: float = START,
        check: bool = True) -> Run:
    """Ping through a path; the server clock is client + offset0 + drift * t.

    Checks after every sample that the error bound holds (when `check`).
    Returns the filter, the true offset function and the samples (t0, t1, server).
    """
    flt = flt or SyncFilter()

    def truth(c: float) -> float:
        return offset0 + drift * (c - START)

    samples = []
    c = start
    while c < start + seconds * 1000:
        u, d = up(c), down(c)
        server = math.floor(c + u + truth(c + u))  # the server floors to whole ms
        t1 = c + u + d
        flt.add(c, t1, server)
        samples.append((c, t1, server))
        if check:
            err = abs(flt.offset_at(t1) - truth(t1))
            assert err <= flt.error_at(t1) + 1e-9, f"bound broken at {c}: {err}"
        c += every
    return flt, truth, samples


def test_fastest_trips_each_way_bound_the_offset() -> None:
    f = SyncFilter()
    assert not f.ready and f.offset_at(0) == 0 and f.error_at(0) == float("inf")
    assert f.add(100, 50, 1000) is None
    f.add(0, 100, 4070)
    f.add(200, 230, 4205)
    f.add(300, 340, 4335)
    assert f.offset_at(340) == 4000.5  # within [3995, 4006]: stamps are floored to the ms
    assert abs(f.error_at(340) - 5.529) < 1e-9  # plus 100 ppm unknown drift over 290 ms


def test_queued_samples_are_rejected() -> None:
    r = random.Random(1)

    def path(_: float) -> float:
        return 20 + r.random() * 3 + (50 + r.random() * 150 if r.random() < 0.3 else 0)

    f, truth, _ = run(seconds=60, up=path, down=path)
    now = START + 60_000
    assert abs(f.offset_at(now) - truth(now)) < 0.5
    assert f.error_at(now) < 22


@pytest.mark.parametrize("ppm", [50, -50])
def test_drift_is_measured_and_followed(ppm: int) -> None:
    r = random.Random(3)
    drift = ppm * 1e-6
    f, truth, _ = run(seconds=300, every=1000, drift=drift,
                      up=lambda _: 10 + r.random() * 8, down=lambda _: 10 + r.random() * 8)
    assert f.est is not None and abs(f.est.drift - drift) < 10e-6
    now = START + 300_000
    assert abs(f.offset_at(now) - truth(now)) < 1
    later = now + 10_000
    assert abs(f.offset_at(later) - truth(later)) < 1  # ten seconds without a sample
    assert abs(f.offset_at(later) - truth(later)) <= f.error_at(later)


def test_a_step_change_of_the_path_keeps_estimate_and_bound() -> None:
    r = random.Random(5)
    step = START + 30_000
    f, truth, _ = run(seconds=55, every=250,
                      up=lambda c: (20 if c < step else 45) + r.random() * 10,
                      down=lambda c: (20 if c < step else 25) + r.random() * 10)
    now = START + 55_000
    assert abs(f.offset_at(now) - truth(now)) < 1
    assert f.steps == 0


def test_a_step_of_the_clock_is_detected_and_followed() -> None:
    r = random.Random(6)
    f, _, _ = run(seconds=20, every=250, up=lambda _: 20 + r.random() * 5,
                  down=lambda _: 20 + r.random() * 5)
    f, truth, _ = run(seconds=20, every=250, flt=f, start=START + 20_000, offset0=12345.6 + 500,
                      up=lambda _: 20 + r.random() * 5, down=lambda _: 20 + r.random() * 5,
                      check=False)
    now = START + 40_000
    assert f.steps == 1
    err = abs(f.offset_at(now) - truth(now))
    assert err < 3 and err <= f.error_at(now)


def test_window_is_bounded_and_drift_fit_needs_a_span() -> None:
    r = random.Random(8)
    f, _, _ = run(seconds=120, every=250, up=lambda _: 5 + r.random(),
                  down=lambda _: 5 + r.random())
    assert len(f.samples) <= WINDOW
    flat = [Sample(t, t + 2, t + 11) for t in (0, 100, 200)]
    assert fit_drift(flat) == (0.0, 100e-6)


@pytest.mark.skipif(not shutil.which("node"), reason="node is not installed")
def test_python_and_the_web_client_compute_the_same_estimate() -> None:
    r = random.Random(9)
    f, _, samples = run(seconds=90, every=400, drift=40e-6,
                        up=lambda _: 20 + r.random() * 40, down=lambda _: 20 + r.random() * 10)
    script = """
      import { SyncFilter } from "./client-web/js/clock.js";
      const f = new SyncFilter();
      for (const [t0, t1, s] of JSON.parse(process.argv[1])) f.add(t0, t1, s);
      const t = f.est.tref + 5000;
      console.log(JSON.stringify([f.offsetAt(t), f.errorAt(t), f.drift, f.samples.length]));
    """
    out = subprocess.run(["node", "--input-type=module", "-e", script, json.dumps(samples)],
                         cwd=ROOT, capture_output=True, text=True, timeout=30, check=True)
    js = json.loads(out.stdout)
    assert f.est is not None
    t = f.est.tref + 5000
    py = [f.offset_at(t), f.error_at(t), f.est.drift, len(f.samples)]
    assert js == pytest.approx(py, rel=1e-9, abs=1e-9)


async def test_the_python_client_keeps_its_clock_synced(rooms) -> None:  # type: ignore[no-untyped-def]
    room = await rooms.create()
    pat = await rooms.join(room, "Pat")
    pat.start_clock_sync(fast_for_s=0.5, fast_every_s=0.02, every_s=0.05)
    for _ in range(200):
        if len(pat.clock.samples) >= 12:
            break
        await asyncio.sleep(0.02)
    assert len(pat.clock.samples) >= 12
    # An explicit sync meanwhile shares the pings with the background one.
    before = len(pat.clock.samples)
    await asyncio.wait_for(pat.sync_clock(samples=3), 5)
    assert len(pat.clock.samples) >= before + 3
    # Same machine: the server's clock is ours (the client's is wall-clock
    # based but monotonic); the estimate is within its bound.
    truth = time.time() * 1000 - pat.client_now()
    assert abs(pat.offset_ms - truth) <= pat.offset_error_ms
    assert pat.offset_error_ms < 5
    await pat.close()


async def test_the_python_client_syncs_fast_again_after_a_reconnect(rooms) -> None:  # type: ignore[no-untyped-def]
    """Like the web client waking up: a new connection may take another path."""
    room = await rooms.create()
    pat = await rooms.join(room, "Pat")
    pat.start_clock_sync(fast_for_s=0.3, fast_every_s=0.02, every_s=30)
    await asyncio.sleep(0.6)  # past the fast start: one ping per 30 s from now on
    settled = len(pat.clock.samples)
    await pat.drop()
    async with asyncio.timeout(10):
        async for event in pat.events():  # the second welcome: it reconnected
            if event["type"] == "welcome":
                break

    async def synced_again() -> bool:
        return len(pat.clock.samples) >= settled + 5

    await eventually(synced_again, within=5)
    await pat.close()
