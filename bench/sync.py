"""Sync benchmark: how far apart clients keep the clock and the beat, over a long run.

    .venv/bin/python bench/sync.py                    # 5 minutes each: web, then ensemble.client
    .venv/bin/python bench/sync.py --seconds 60 --part web
    .venv/bin/python bench/sync.py --up 20-60 --down 20-30 --far 2

It starts its own server and a delay proxy (tests/support/delay_proxy.py) on
loopback. Everything runs on this machine, so every client's true offset to
the server's clock is known (0 for a page, whose clock is timeOrigin + now;
time.time() minus the client's monotonic clock for ensemble.client), and a
beat's instant is comparable across pages.

- web: headless Chromium, a mentor and a participant straight to the server
  and --far participants behind the proxy, the metronome at 120 bpm with the
  click on. Prints the beat spread (for each beat every page scheduled, the
  largest difference between the instants the pages play it), each page's
  offset error, and its time to converge.
- client: --clients ensemble.client instances straight to the server and
  --far behind the proxy, syncing in the background as the web client does.
  Prints the spread of their estimates of the server's clock at the same
  instant, each one's error, and its time to converge.

Time to converge: from joining to the moment after which the client's error
stays within --converged-ms (1 ms straight, 2 ms behind the proxy by default).
A fixed delay that differs between the two directions is invisible to any
two-way exchange: use a --up and --down with the same low bound to measure
the filter, different ones to see that limit (it shifts by half the gap).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ensemble.client import Client  # noqa: E402
from tests.support.delay_proxy import Delay, DelayProxy  # noqa: E402
from tests.support.server import ServerProcess, start_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic",
                 "--autoplay-policy=no-user-gesture-required"]


@dataclass
class Track:
    """One client's errors over time: [(seconds since its join, error ms)]."""

    name: str
    far: bool
    joined: float
    errors: list[tuple[float, float]] = field(default_factory=list)

    def converged_after(self, limit: float) -> float | None:
        """Seconds from joining after which |error| stayed within `limit`."""
        last_bad = 0.0
        for t, e in self.errors:
            if abs(e) > limit:
                last_bad = t
        if not self.errors or last_bad >= self.errors[-1][0]:
            return None
        return last_bad


def pct(values: Sequence[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p * len(s)))] if s else float("nan")


def dist(values: Sequence[float]) -> str:
    if not values:
        return "no data"
    return (f"p50 {pct(values, 0.5):6.2f}  p99 {pct(values, 0.99):6.2f}  "
            f"max {max(values):6.2f} ms  (n={len(values)})")


def report_tracks(tracks: list[Track], args: argparse.Namespace, settle: float) -> None:
    for tr in tracks:
        limit = args.converged_ms_far if tr.far else args.converged_ms
        conv = tr.converged_after(limit)
        after = [abs(e) for t, e in tr.errors if t >= settle]
        print(f"  {tr.name:8} {'proxy ' if tr.far else 'direct'} |error| after {settle:.0f} s: "
              f"{dist(after)}; converged within {limit} ms after "
              f"{'never' if conv is None else f'{conv:.1f} s'}")


# -- web ---------------------------------------------------------------------------


def run_web(server: ServerProcess, proxy: DelayProxy, args: argparse.Namespace) -> None:
    from playwright.sync_api import sync_playwright

    room = httpx.post(f"{server.http}/api/rooms", json={"title": "bench", "visibility": "unlisted"})
    links = room.json()["links"]
    far_url = links["participant"].replace(f":{server.port}/", f":{proxy.port}/")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)

        def join(name: str, url: str, far: bool) -> tuple[Any, Track]:
            page = browser.new_context().new_page()
            page.goto(url)
            page.fill("#join-name", name)
            joined = time.monotonic()
            page.click("#join-submit")
            page.wait_for_selector("#conn[data-status=open]")
            return page, Track(name, far, joined)

        pages: list[Any] = []
        tracks: list[Track] = []
        plan = [("mentor", links["mentor"], False), ("near", links["participant"], False)]
        plan += [(f"far{i + 1}", far_url, True) for i in range(args.far)]
        for name, url, far in plan:
            page, track = join(name, url, far)
            pages.append(page)
            tracks.append(track)
        # Two more join later, sampled from their first moment: the time to converge.
        late_at = time.monotonic() + min(20.0, args.seconds / 4)
        late: list[tuple[Any, Track]] = []
        mentor = pages[0]
        mentor.fill("#tempo-bpm", "120")
        mentor.fill("#tempo-bpb", "4")
        mentor.click("#tempo-start")
        for page in pages:
            page.check("#audio-click")
        beats: list[dict[int, tuple[float, float]]] = [{} for _ in pages]
        started = time.monotonic()
        next_collect = started
        def collect() -> None:
            for page, got in zip(pages, beats, strict=True):
                for b in page.evaluate(
                        """() => window.ensemble.beats().map(b => [b.k, b.server_at,
                                   performance.timeOrigin + b.perf_at])"""):
                    got[b[0]] = (b[1], b[2])

        while time.monotonic() - started < args.seconds:
            if not late and time.monotonic() >= late_at:
                late = [join("late-near", links["participant"], False),
                        join("late-far", far_url, True)]
            for page, tr in [*zip(pages, tracks, strict=True), *late]:
                s = page.evaluate("() => window.ensemble.sync()")
                tr.errors.append((time.monotonic() - tr.joined, s["offset_ms"]))  # truth: 0
            if time.monotonic() >= next_collect:
                next_collect += 10
                collect()
            time.sleep(0.2)
        collect()
        browser.close()
    settle = args.settle
    first_server = min(min(s for s, _ in b.values()) for b in beats if b)
    spreads_all, spreads_settled, errors = [], [], []
    for k in sorted(set.intersection(*(set(b) for b in beats))):
        at = [b[k][1] for b in beats]
        spread = max(at) - min(at)
        spreads_all.append(spread)
        if (beats[0][k][0] - first_server) / 1000 >= settle:
            spreads_settled.append(spread)
            errors.extend(abs(b[k][1] - b[k][0]) for b in beats)
    print(f"\nweb client, {len(pages)} pages in headless Chromium ({args.far} behind the proxy "
          f"up {args.up} ms, down {args.down} ms), {args.seconds:.0f} s at 120 bpm:")
    print(f"  beat spread, every beat:          {dist(spreads_all)}")
    print(f"  beat spread, after {settle:.0f} s:          {dist(spreads_settled)}")
    print(f"  beat error vs the true instant:   {dist(errors)}")
    report_tracks(tracks, args, settle)
    print("  joining later (time to converge from the click on Join):")
    report_tracks([t for _, t in late], args, 0.0)


# -- ensemble.client -----------------------------------------------------------------


def true_offset(c: Client) -> tuple[float, float]:
    """(the client's clock now, the server's minus it): read back to back, again if
    another thread (the proxy's) ran in between."""
    while True:
        a = c.client_now()
        wall = time.time() * 1000
        b = c.client_now()
        if b - a < 0.05:
            now = (a + b) / 2
            return now, wall - now


async def run_clients(server: ServerProcess, proxy: DelayProxy, args: argparse.Namespace) -> None:
    async with httpx.AsyncClient() as http:
        room = (await http.post(f"{server.http}/api/rooms",
                                json={"title": "bench", "visibility": "unlisted"})).json()
    clients: list[Client] = []
    tracks: list[Track] = []
    plan = [(f"near{i + 1}", server.port, False) for i in range(args.clients)]
    plan += [(f"far{i + 1}", proxy.port, True) for i in range(args.far)]
    for name, port, far in plan:
        c = await Client.connect(f"ws://127.0.0.1:{port}/ws", room=room["room_id"], name=name,
                                 invite=room["invite"])
        c.start_clock_sync()
        clients.append(c)
        tracks.append(Track(name, far, time.monotonic()))
    spreads: list[float] = []
    started = time.monotonic()
    while time.monotonic() - started < args.seconds:
        errs = []
        for c, tr in zip(clients, tracks, strict=True):
            if not c.clock.ready:
                continue
            now, truth = true_offset(c)
            err = c.clock.offset_at(now) - truth
            errs.append(err)
            tr.errors.append((time.monotonic() - tr.joined, err))
        if len(errs) == len(clients) and time.monotonic() - started >= args.settle:
            spreads.append(max(errs) - min(errs))
        await asyncio.sleep(0.1)
    for c in clients:
        await c.close()
    print(f"\nensemble.client, {args.clients} direct + {args.far} behind the proxy, "
          f"{args.seconds:.0f} s:")
    print(f"  server-clock spread after {args.settle:.0f} s: {dist(spreads)}")
    report_tracks(tracks, args, args.settle)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=float, default=300.0, help="length of each part")
    ap.add_argument("--part", choices=["web", "client", "both"], default="both")
    ap.add_argument("--up", default="20-60", help="proxy delay client->server, ms (low-high)")
    ap.add_argument("--down", default="20-30", help="proxy delay server->client, ms (low-high)")
    ap.add_argument("--far", type=int, default=1, help="clients behind the proxy")
    ap.add_argument("--clients", type=int, default=2, help="ensemble.client straight to the server")
    ap.add_argument("--settle", type=float, default=30.0,
                    help="seconds after which the 'settled' figures start")
    ap.add_argument("--converged-ms", type=float, default=1.0)
    ap.add_argument("--converged-ms-far", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args(argv)
    server = start_server()
    proxy = DelayProxy(("127.0.0.1", server.port), up=Delay.parse(args.up),
                       down=Delay.parse(args.down), seed=args.seed).start()
    try:
        if args.part in ("web", "both"):
            run_web(server, proxy, args)
        if args.part in ("client", "both"):
            asyncio.run(run_clients(server, proxy, args))
    finally:
        proxy.stop()
        server.stop()


if __name__ == "__main__":
    main()
