"""Fan-out benchmark: N clients in R rooms, one sender per room, measured at every receiver.

    .venv/bin/python bench/fanout.py --clients 200 --rooms 10 --rate 20 --seconds 10
    .venv/bin/python bench/fanout.py --processes 2 --redis   # two servers on one Redis
    .venv/bin/python bench/fanout.py --processes 4 --cluster # four on a Redis Cluster

It starts its own server processes (and redis-server with --redis, or a Redis
Cluster of 3 masters and 3 replicas with --cluster) on free loopback ports,
connects the clients spread over the processes, and prints deliveries per
second and the fan-out latency (from the event's commit time, `at`, to its
arrival at a client; one machine, so one clock) at p50/p99/max, and the CPU
the servers (and, on a cluster, each shard's redis-server) spent.
The load runs in --workers processes of its own; on a small machine they
compete with the servers for the same cores, so the figures are a floor.
Placed and paced as the peers harness does: member m of room r connects to
process (r + m) mod N, so the senders alternate between processes, and the
rooms' senders are spread evenly over each interval instead of sending at
the same instant (a server then handles one message at a time, as in use).
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
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ensemble.client import Client  # noqa: E402
from tests.support.redis_cluster import RedisCluster  # noqa: E402
from tests.support.server import ServerProcess, free_port  # noqa: E402


def stop_redis(process: subprocess.Popen[bytes] | None) -> None:
    """Stop a redis-server this benchmark started, by pid."""
    if process is not None:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


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
    cluster = None
    env = {"ENSEMBLE_RATE_PER_S": "100000", "ENSEMBLE_RATE_BURST": "100000",
           "ENSEMBLE_SEND_QUEUE": "100000"}
    extra: list[str] = []
    if args.cluster:
        cluster = RedisCluster(masters=3, replicas=1)
        cluster.start()
        extra = ["--redis", cluster.url]
    elif args.redis:
        redis, url = start_redis()
        extra = ["--redis", url]
    servers: list[ServerProcess] = []
    try:
        servers += [ServerProcess(free_port(), extra, env).start() for _ in range(args.processes)]
        await measure(args, servers, cluster)
    finally:
        for server in servers:
            server.stop()
        stop_redis(redis)
        if cluster is not None:
            cluster.stop()


def shard_cpu(cluster: RedisCluster) -> dict[int, float]:
    """CPU seconds of each redis-server of the cluster so far, by port."""
    return {node.port: pid_cpu_seconds(node.process.pid)
            for node in cluster.nodes if node.process is not None}


async def measure(
    args: argparse.Namespace, servers: list[ServerProcess], cluster: RedisCluster | None
) -> None:
    per_room = args.clients // args.rooms
    async with httpx.AsyncClient() as http:
        rooms = [
            (await http.post(f"{servers[0].http}/api/rooms", json={"title": f"bench {i}"})).json()
            for i in range(args.rooms)
        ]
    # Members of a room are spread over the server processes; rooms are spread
    # over the load workers, each a process of its own.
    urls = [s.ws for s in servers]
    shares = [rooms[w::args.workers] for w in range(args.workers)]
    start_at = time.time() + 2 + args.clients / 200  # time for everyone to connect
    jobs = [
        {"rooms": share, "urls": urls, "per_room": per_room, "rate": args.rate,
         "seconds": args.seconds, "start_at": start_at, "first": w, "stride": args.workers,
         "room_count": len(rooms)}
        for w, share in enumerate(shares) if share
    ]
    loop = asyncio.get_running_loop()

    shards: dict[int, float] = {}

    async def server_cpu_in_window() -> float:
        """CPU seconds the server processes (and each redis-server of a cluster)
        spent during the measured window."""
        await asyncio.sleep(max(0.0, start_at - time.time()))
        before = sum(cpu_seconds(s) for s in servers)
        redis_before = shard_cpu(cluster) if cluster else {}
        await asyncio.sleep(args.seconds)
        if cluster:
            after = shard_cpu(cluster)
            shards.update({port: after[port] - redis_before[port] for port in after})
        return sum(cpu_seconds(s) for s in servers) - before

    cpu = asyncio.create_task(server_cpu_in_window())
    with ProcessPoolExecutor(len(jobs), mp_context=get_context("spawn")) as pool:
        results = await asyncio.gather(
            *(loop.run_in_executor(pool, run_worker, job) for job in jobs)
        )
    server_cpu = await cpu
    latencies = sorted(x for r in results for x in r["latencies"])
    received = sum(r["received"] for r in results)
    elapsed = args.seconds
    p50 = statistics.median(latencies) if latencies else float("nan")
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] if latencies else float("nan")
    backend = " + Redis Cluster (3 masters, 3 replicas)" if args.cluster else (
        " + Redis" if args.redis else ", in-memory")
    mode = f"{args.processes} server process(es)" + backend
    print(f"fan-out: {mode}, {per_room * args.rooms} clients in {args.rooms} rooms, "
          f"{args.rate:g} msg/s per room for {args.seconds:g} s, {len(jobs)} load workers")
    print(f"  offered:      {args.rate * args.rooms * per_room / 1:,.0f} deliveries/s")
    print(f"  deliveries/s: {received / elapsed:,.0f}  ({received:,} frames)")
    if latencies:
        print(f"  latency ms:   p50 {p50:.1f}  p99 {p99:.1f}  max {latencies[-1]:.1f}")
    if received:
        print(f"  server CPU:   {100 * server_cpu / elapsed:.0f}% of a core, "
              f"{1e6 * server_cpu / received:.1f} us per delivery")
    if cluster:
        masters = set(cluster.master_ports())
        homes = [cluster.owner_of(f"ensemble:{{{room['room_id']}}}:state") for room in rooms]
        for port in sorted(shards):
            role = "master" if port in masters else "replica"
            print(f"  redis {port} ({role}, {homes.count(port)} rooms): "
                  f"{100 * shards[port] / elapsed:.1f}% of a core")


def cpu_seconds(server: ServerProcess) -> float:
    """User + system CPU time of a server process so far (from /proc)."""
    assert server.process is not None
    return pid_cpu_seconds(server.process.pid)


def pid_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_worker(job: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(worker(job))


async def worker(job: dict[str, Any]) -> dict[str, Any]:
    """One load process: its rooms' clients, one sender each, measured until the end."""
    latencies: list[float] = []
    received = 0
    clients: list[Client] = []
    urls = job["urls"]
    senders: list[tuple[Client, int]] = []  # each with its room's place in all rooms
    for j, room in enumerate(job["rooms"]):
        index = job["first"] + j * job["stride"]
        for k in range(job["per_room"]):
            credential = {"host_key": room["host_key"]} if k == 0 else {"invite": room["invite"]}
            client = await Client.connect(urls[(index + k) % len(urls)], room=room["room_id"],
                                          name=f"c{k}", **credential)
            clients.append(client)
            if k == 0:
                senders.append((client, index))
    start, end = job["start_at"], job["start_at"] + job["seconds"]

    async def listen(client: Client) -> None:
        nonlocal received
        async for event in client.events():
            now = time.time() * 1000
            if event["type"] == "chat.message" and start * 1000 <= event["at"] < end * 1000:
                latencies.append(now - event["at"])
                received += 1

    async def send(client: Client, index: int) -> None:
        interval = 1 / job["rate"]
        next_at = start + interval * index / job["room_count"]
        while next_at < end:
            await asyncio.sleep(max(0.0, next_at - time.time()))
            await client.send({"type": "chat.send", "text": "tick"})
            next_at += interval

    listeners = [asyncio.create_task(listen(c)) for c in clients]
    await asyncio.gather(*(send(c, index) for c, index in senders))
    await asyncio.sleep(1.0)  # the last deliveries
    for task in listeners:
        task.cancel()
    await asyncio.gather(*listeners, return_exceptions=True)
    for client in clients:
        await client.close()
    return {"latencies": latencies, "received": received}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--rate", type=float, default=20, help="messages per second per room")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--redis", action="store_true", help="share rooms through Redis")
    parser.add_argument("--cluster", action="store_true",
                        help="share rooms through a Redis Cluster (3 masters, 3 replicas)")
    parser.add_argument("--workers", type=int, default=2, help="load generator processes")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
