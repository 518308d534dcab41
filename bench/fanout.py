"""Fan-out benchmark: N clients in R rooms, one sender per room, measured at every receiver.

    .venv/bin/python bench/fanout.py --clients 200 --rooms 10 --rate 20 --seconds 10
    .venv/bin/python bench/fanout.py --processes 2 --redis   # two servers on one Redis

It starts its own server processes (and redis-server with --redis) on free
loopback ports, connects the clients spread over the processes, and prints
deliveries per second and the fan-out latency (from the event's commit time,
`at`, to its arrival at a client; one machine, so one clock) at p50/p99/max.
The load generator runs in this one Python process: on a small machine it
competes with the servers for CPU, so the figures are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ensemble.client import Client  # noqa: E402
from tests.support.server import ServerProcess, free_port  # noqa: E402


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", tempfile.gettempdir()],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        probe = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True)
        if probe.stdout.strip() == b"PONG":
            return process, f"redis://127.0.0.1:{port}/0"
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("redis-server did not start")


async def run(args: argparse.Namespace) -> None:
    redis = None
    env = {"ENSEMBLE_RATE_PER_S": "100000", "ENSEMBLE_RATE_BURST": "100000",
           "ENSEMBLE_SEND_QUEUE": "100000"}
    extra: list[str] = []
    if args.redis:
        redis, url = start_redis()
        extra = ["--redis", url]
    servers = [ServerProcess(free_port(), extra, env).start() for _ in range(args.processes)]
    try:
        await measure(args, servers)
    finally:
        for server in servers:
            server.stop()
        if redis is not None:
            os.kill(redis.pid, signal.SIGTERM)
            redis.wait(timeout=10)


async def measure(args: argparse.Namespace, servers: list[ServerProcess]) -> None:
    per_room = args.clients // args.rooms
    rooms = []
    async with httpx.AsyncClient() as http:
        for i in range(args.rooms):
            reply = await http.post(f"{servers[0].http}/api/rooms", json={"title": f"bench {i}"})
            rooms.append(reply.json())

    latencies: list[float] = []
    received = 0
    clients: list[Client] = []
    senders: list[Client] = []
    for r, room in enumerate(rooms):
        for k in range(per_room):
            server = servers[(r * per_room + k) % len(servers)]
            mentor = k == 0
            client = await Client.connect(
                server.ws, room=room["room_id"], name=f"c{k}",
                **({"host_key": room["host_key"]} if mentor else {"invite": room["invite"]}),
            )
            clients.append(client)
            if mentor:
                senders.append(client)

    stop = asyncio.Event()

    async def listen(client: Client) -> None:
        nonlocal received
        async for event in client.events():
            if event["type"] == "chat.message":
                latencies.append(time.time() * 1000 - event["at"])
                received += 1
            if stop.is_set():
                return

    async def send(client: Client) -> None:
        interval = 1 / args.rate
        next_at = time.monotonic()
        while not stop.is_set():
            await client.send({"type": "chat.send", "text": "tick"})
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    listeners = [asyncio.create_task(listen(c)) for c in clients]
    await asyncio.sleep(0.5)
    latencies.clear()
    received = 0
    started = time.monotonic()
    sending = [asyncio.create_task(send(c)) for c in senders]
    await asyncio.sleep(args.seconds)
    stop.set()
    elapsed = time.monotonic() - started
    for task in sending:
        task.cancel()
    await asyncio.sleep(0.5)
    for task in listeners:
        task.cancel()
    await asyncio.gather(*sending, *listeners, return_exceptions=True)
    for client in clients:
        await client.close()

    latencies.sort()
    p50 = statistics.median(latencies) if latencies else float("nan")
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan")
    mode = f"{args.processes} process(es)" + (" + Redis" if args.redis else ", in-memory")
    print(f"fan-out: {mode}, {len(clients)} clients in {args.rooms} rooms, "
          f"{args.rate} msg/s per room for {args.seconds} s")
    print(f"  deliveries/s: {received / elapsed:,.0f}  ({received:,} frames)")
    print(f"  latency ms:   p50 {p50:.1f}  p99 {p99:.1f}  max {latencies[-1]:.1f}"
          if latencies else "  no deliveries")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--rate", type=float, default=20, help="messages per second per room")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--redis", action="store_true", help="share rooms through Redis")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
