"""Idle members: what each costs a server process, and whether it still answers.

    .venv/bin/python bench/idle.py --members 10000            # one process, in memory
    .venv/bin/python bench/idle.py --members 1000 --redis     # one process on Redis

Starts one server (and redis-server with --redis), warms it with a few members,
reads its RSS, connects `--members` idle members (rooms of 10, each member
welcomed before the next counts) from `--workers` load processes, waits, reads
the RSS again, and times `GET /healthz` while they are all connected. Prints
the RSS per member and the health check's p50/p99/max.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx
import msgpack
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import fanout  # noqa: E402
from tests.support.server import ServerProcess, free_port  # noqa: E402

ENV = {"ENSEMBLE_ROOMS_PER_MINUTE": "1000000", "ENSEMBLE_ROOMS_BURST": "1000000",
       "ENSEMBLE_MAX_CONNECTIONS": "100000", "ENSEMBLE_LOG_LEVEL": "warning"}


def rss_kib(server: ServerProcess) -> int:
    assert server.process is not None
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def raise_fd_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def join(url: str, room: dict[str, Any], name: str) -> Any:
    ws = await websockets.connect(url, subprotocols=["ensemble.v1.msgpack"], compression=None,
                                  max_queue=4, ping_interval=None, open_timeout=60)
    await ws.send(msgpack.packb({"type": "hello", "room": room["room_id"], "name": name,
                                 "invite": room["invite"]}))
    while True:
        frame = msgpack.unpackb(await ws.recv())
        if frame["type"] == "welcome":
            return ws
        if frame["type"] == "error":
            raise RuntimeError(frame["message"])


def hold(job: dict[str, Any]) -> int:
    raise_fd_limit()
    return asyncio.run(_hold(job))


async def _hold(job: dict[str, Any]) -> int:
    """Connect this worker's members, say how many, and keep them until released."""
    sockets = []
    for i, room in enumerate(job["rooms"]):
        batch = [join(job["url"], room, f"m{i}-{k}") for k in range(job["per_room"])]
        sockets += await asyncio.gather(*batch)
    job["ready"].put(len(sockets))
    await asyncio.get_running_loop().run_in_executor(None, job["release"].wait, job["hold"])
    for ws in sockets:
        ws.transport.abort()
    return len(sockets)


async def run(args: argparse.Namespace) -> None:
    raise_fd_limit()
    redis = None
    extra: list[str] = []
    if args.redis:
        redis, url = fanout.start_redis()
        extra = ["--redis", url]
    server = ServerProcess(free_port(), extra, ENV).start(timeout=60)
    try:
        await measure(args, server)
    finally:
        server.stop()
        fanout.stop_redis(redis)


async def measure(args: argparse.Namespace, server: ServerProcess) -> None:
    per_room = 10
    rooms_needed = args.members // per_room
    async with httpx.AsyncClient(base_url=server.http, timeout=30) as http:
        rooms = [(await http.post("/api/rooms", json={"title": f"idle {i}",
                                                      "visibility": "unlisted"})).json()
                 for i in range(rooms_needed + 1)]
        warm = [await join(server.ws, rooms[-1], f"warm{k}") for k in range(10)]
        for ws in warm:
            await ws.close()
        await asyncio.sleep(2)
        before = rss_kib(server)
        context = get_context("spawn")
        manager = context.Manager()
        ready, release = manager.Queue(), manager.Event()
        jobs = [{"url": server.ws, "rooms": rooms[w:rooms_needed:args.workers],
                 "per_room": per_room, "ready": ready, "release": release, "hold": args.hold}
                for w in range(args.workers)]
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        with ProcessPoolExecutor(len(jobs), mp_context=context) as pool:
            holders = [loop.run_in_executor(pool, hold, job) for job in jobs]
            joined = 0
            for _ in jobs:
                joined += await loop.run_in_executor(None, ready.get, True, args.hold)
            took = time.monotonic() - started
            await asyncio.sleep(3)
            after = rss_kib(server)
            times = []
            for _ in range(args.probes):
                t0 = time.perf_counter()
                reply = await http.get("/healthz")
                times.append((time.perf_counter() - t0) * 1000)
                assert reply.status_code == 200
                await asyncio.sleep(0.02)
            release.set()
            await asyncio.gather(*holders)
        manager.shutdown()
    times.sort()
    mode = "Redis" if args.redis else "in-memory"
    print(f"idle members: 1 server process ({mode}), {joined} members in {rooms_needed} rooms, "
          f"joined in {took:.1f} s")
    print(f"  RSS: {before / 1024:.1f} MiB before, {after / 1024:.1f} MiB after: "
          f"{(after - before) / max(joined, 1):.1f} KiB per idle member")
    print(f"  GET /healthz with them connected: p50 {statistics.median(times):.1f} ms, "
          f"p99 {times[max(0, int(len(times) * 0.99) - 1)]:.1f} ms, max {times[-1]:.1f} ms "
          f"({len(times)} probes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="load processes")
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--hold", type=float, default=600, help="longest time to hold them")
    parser.add_argument("--redis", action="store_true")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
