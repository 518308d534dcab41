"""Where a server's CPU goes under the harness's default load: a py-spy breakdown.

    .venv/bin/python bench/profile.py                     # 2 processes + Redis, 20x10 at 20/s
    .venv/bin/python bench/profile.py --memory --processes 1 --seconds 20

Starts its own servers (and redis-server), drives them with `bench/fanout.py`'s
load (the peers harness's shape: rooms x members, one sender per room), samples
every server with py-spy for `--seconds` (Python frames only, the main thread:
the event loop), and prints for each the share of samples by where the time
is spent: each sample is charged to the first category its stack matches,
from the innermost frame out. With 2 processes, as in the harness, every
room's sender is on one of them: that one validates, runs and commits each
message, and both fan it out. The raw collapsed stacks are kept (`--raw`,
one file per server) for a closer look or a flame graph.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import fanout  # noqa: E402
from tests.support.server import ServerProcess, free_port  # noqa: E402

PY_SPY = Path(sys.executable).with_name("py-spy")

# (category, substring of a frame "function (file:line)"), innermost match wins.
CATEGORIES = [
    ("schema validation", "ensemble/wire/schema.py"),
    ("codec (msgpack/json)", "ensemble/wire/"),
    ("core: room rules", "ensemble/core/"),
    ("backend: redis store/broker", "ensemble/backends/redis"),
    ("backend: memory", "ensemble/backends/memory.py"),
    ("hub fan-out", "ensemble/hub.py"),
    ("session: reader/handler", "ensemble/transport/session.py"),
    ("service", "ensemble/service.py"),
    ("transport: outbox (socket writes)", "ensemble/transport/outbox.py"),
    # py-spy names library frames by their path inside site-packages: "(redis/...".
    ("redis-py client", "(redis/"),
    ("websocket send/recv (uvicorn, websockets)", "(websockets/"),
    ("websocket send/recv (uvicorn, websockets)", "(uvicorn/protocols/websockets"),
    ("starlette", "(starlette/"),
    ("asyncio (Python part)", "(asyncio/"),
    ("uvloop / other", ""),
]


def categorize(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for name, needle in CATEGORIES[:-1]:
            if needle in frame:
                return name
    return CATEGORIES[-1][0]


def innermost_ensemble(stack: str) -> str:
    for frame in reversed(stack.split(";")):
        if "ensemble/" in frame:
            return frame.split(" (")[0] + " (" + frame.split("ensemble/")[-1].split(":")[0] + ")"
    return "(outside ensemble)"


def main_thread(stack: str) -> bool:
    """Whether a py-spy stack is the server's main thread (its event loop);
    the others (thread pools, the database's worker) mostly sleep."""
    return "Server.run (uvicorn/server.py" in stack


def summarize(raw: Path, top: int, name: str) -> None:
    by_category: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or not main_thread(stack):
            continue
        n = int(count)
        total += n
        by_category[categorize(stack)] += n
        by_function[innermost_ensemble(stack)] += n
    if not total:
        print("no samples")
        return
    print(f"\n{name}: {total} samples of its event loop's thread (py-spy)")
    print("\nby category (innermost match):")
    for name, n in by_category.most_common():
        print(f"  {100 * n / total:5.1f}%  {name}")
    print(f"\nby innermost Ensemble function (top {top}):")
    for name, n in by_function.most_common(top):
        print(f"  {100 * n / total:5.1f}%  {name}")


async def run(args: argparse.Namespace) -> None:
    redis = None
    env = {"ENSEMBLE_RATE_PER_S": "100000", "ENSEMBLE_RATE_BURST": "100000",
           "ENSEMBLE_LOG_LEVEL": "warning"}
    extra: list[str] = []
    if not args.memory:
        redis, url = fanout.start_redis()
        extra = ["--redis", url]
    servers = [ServerProcess(free_port(), extra, env).start() for _ in range(args.processes)]
    stem = args.raw or tempfile.mktemp(prefix="ensemble-profile-")
    raws = [Path(f"{stem}.{n}.txt") for n in range(len(servers))]
    try:
        load = argparse.Namespace(clients=args.rooms * args.members, rooms=args.rooms,
                                  rate=args.rate, seconds=args.seconds + 6, workers=args.workers,
                                  processes=args.processes, redis=not args.memory,
                                  cluster=False)
        measuring = asyncio.create_task(fanout.measure(load, servers, None))
        await asyncio.sleep(4 + load.clients / 200)  # members connected, load running
        spies = []
        for server, raw in zip(servers, raws, strict=True):
            assert server.process is not None
            spies.append(await asyncio.create_subprocess_exec(
                str(PY_SPY), "record", "--pid", str(server.process.pid), "--duration",
                str(args.seconds), "--rate", "200", "--format", "raw", "--output", str(raw),
                # Native frames need the process paused for each sample.
                *(["--native"] if args.native else ["--nonblocking"]),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))
        for spy in spies:
            await spy.wait()
        await measuring
        for n, raw in enumerate(raws):
            summarize(raw, args.top, f"server {n}")
            print(f"\nraw collapsed stacks: {raw}")
    finally:
        for server in servers:
            server.stop()
        fanout.stop_redis(redis)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--rate", type=float, default=20, help="messages per second per room")
    parser.add_argument("--seconds", type=int, default=15, help="py-spy sampling time")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--memory", action="store_true", help="memory backend (one process)")
    parser.add_argument("--workers", type=int, default=1, help="load generator processes")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--raw", help="where to keep the collapsed stacks (RAW.N.txt for server N)")
    parser.add_argument("--native", action="store_true", help="sample C frames too (slower)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
