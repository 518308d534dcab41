"""Flood: one participant sends the longest comments at the rate limit for minutes;
the room's commits must not slow down and the server must not keep growing.

    .venv/bin/python bench/flood.py --minutes 3
    .venv/bin/python bench/flood.py --minutes 3 --redis
    .venv/bin/python bench/flood.py --minutes 3 --record-log-size 1000
    .venv/bin/python bench/flood.py --minutes 1 --record-quota 200

It starts one `ensemble serve` process (on Redis with --redis) on a free
loopback port, with the server's default limits, and one room: a mentor, the
flooder, its target, a prober and an observer. The flooder sends `comment.send`
with 2000 characters (the schema's maximum) aimed at the target, public unless
--private, at --rate per second (default 20, the server's default rate limit
per member). The prober sends a small `status.set` every 0.25 s; its ack
arrives once the request is committed, so the ack time is the room's commit
time. Every member reads its events. Every 30 s it prints the server's RSS
(and Redis's), the probe's round trip at p50/p99/max, the flooder's comment
round trip and how many comments were acked or refused. At the end it fetches
the report (`GET /api/rooms/{id}/report` with the host key) and prints its
size, how long it took and its `truncated` field: the room keeps at most
`ENSEMBLE_RECORD_LOG_SIZE` report records (default 10000; PROTOCOL.md §10),
and at most `ENSEMBLE_RECORD_QUOTA_PER_MEMBER` of one member's (default 1000),
which the flood reaches after quota / rate seconds.

Meanwhile the other members keep writing records: every 2 s the mentor
comments on the target, and every 5 s the target sets a goal and checks out.
The last line says whether the report holds all of those that were acked
(complete) or not: the flooder's excess must cost only the flooder.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.measure import log_offset, log_problems, percentile, rss_mb  # noqa: E402

from ensemble.client import Client, ClientError, Closed, ConnectionLost  # noqa: E402
from tests.support.redis_server import RedisServer  # noqa: E402
from tests.support.server import ServerProcess, free_port  # noqa: E402

COMMENT_CHARS = 2000  # protocol/schema.json: comment.send text maxLength
WINDOW_S = 30


async def run(args: argparse.Namespace) -> int:
    redis = RedisServer() if args.redis else None
    server: ServerProcess | None = None
    try:
        extra: list[str] = []
        if redis is not None:
            redis.start()
            extra = ["--redis", redis.url]
        env = {}
        if args.record_log_size:
            env["ENSEMBLE_RECORD_LOG_SIZE"] = str(args.record_log_size)
        if args.record_quota:
            env["ENSEMBLE_RECORD_QUOTA_PER_MEMBER"] = str(args.record_quota)
        port = free_port()
        log = Path(tempfile.gettempdir()) / f"ensemble-{port}.log"
        offset = log_offset(log)
        server = ServerProcess(port, extra, env, log_path=log).start()
        code = await flood(args, server, redis)
        found = log_problems(log, offset)
        print(f"\nServer log since the start ({log}): {sum(found.values())} lines")
        for line, n in found.most_common(12):
            print(f"  {n:5} x {line}")
        return code
    finally:
        if server is not None:
            server.stop()
        if redis is not None:
            redis.cleanup()


def rtt(started: float) -> float:
    return (time.perf_counter() - started) * 1000


async def flood(args: argparse.Namespace, server: ServerProcess, redis: RedisServer | None) -> int:
    async with httpx.AsyncClient(timeout=60) as http:
        reply = await http.post(f"{server.http}/api/rooms",
                                json={"title": "flood", "visibility": "unlisted"})
        reply.raise_for_status()
        room = reply.json()
        rid = room["room_id"]
        mentor = await Client.connect(server.ws, room=rid, name="mentor", host_key=room["host_key"])
        flooder, target, prober = [
            await Client.connect(server.ws, room=rid, name=name, invite=room["invite"])
            for name in ("flooder", "target", "prober")
        ]
        observer = await Client.connect(server.ws, room=rid, name="observer",
                                        invite=room["invite"], role="observer")
        clients = [mentor, flooder, target, prober, observer]
        received = Counter[str]()

        async def drain(client: Client) -> None:
            async for event in client.events():
                received[event["type"]] += 1

        readers = [asyncio.create_task(drain(c)) for c in clients]
        pid = server.process.pid if server.process else None
        seconds = args.minutes * 60
        mode = "Redis" if redis else "memory"
        print(f"flood: 1 process on {mode}, {args.rate:g} comments/s of {COMMENT_CHARS} chars "
              f"({'private' if args.private else 'public'}) for {args.minutes:g} min; record log "
              f"{args.record_log_size or 'default (10000)'}, quota per member "
              f"{args.record_quota or 'default (1000)'}; server pid {pid}", flush=True)
        print(f"  {'t (s)':>5}  {'RSS MB':>7}  {'redis MB':>8}  {'probe ms p50/p99/max':>22}  "
              f"{'comment ms p50/p99':>18}  {'acked':>6}  {'total':>7}  refused", flush=True)
        rss_start = rss_mb(pid)
        rss_series = [rss_start or 0.0]
        print(f"  {0:5.0f}  {rss_start or 0:7.1f}  "
              f"{(rss_mb(redis.pid) or 0) if redis else 0:8.1f}  (before the flood)", flush=True)

        probes: list[float] = []
        comment_rtts: list[float] = []
        outcomes: Counter[str] = Counter()
        window_acked = 0
        start = time.perf_counter()
        end = start + seconds
        in_flight = asyncio.Semaphore(200)
        text = ("flood " * (COMMENT_CHARS // 6 + 1))[:COMMENT_CHARS - 12]

        async def comment(n: int) -> None:
            nonlocal window_acked
            async with in_flight:
                started = time.perf_counter()
                try:
                    await flooder.request("comment.send", timeout=30, text=f"{n:>10} {text}",
                                          to=target.member_id, private=args.private)
                    outcome = "ok"
                    comment_rtts.append(rtt(started))
                    window_acked += 1
                except ClientError as exc:
                    outcome = exc.code
                except (TimeoutError, ConnectionLost, Closed) as exc:
                    outcome = type(exc).__name__
                outcomes[outcome] += 1

        async def send_flood() -> None:
            sends = set()
            for n in itertools.count():
                at = start + n / args.rate
                if at >= end:
                    break
                await asyncio.sleep(max(0.0, at - time.perf_counter()))
                task = asyncio.create_task(comment(n))
                sends.add(task)
                task.add_done_callback(sends.discard)
            await asyncio.gather(*sends)

        async def probe() -> None:
            for n in itertools.count():
                at = start + n * 0.25
                if at >= end:
                    return
                await asyncio.sleep(max(0.0, at - time.perf_counter()))
                started = time.perf_counter()
                try:
                    await prober.request("status.set", timeout=30,
                                         status="focus" if n % 2 else "active")
                    probes.append(rtt(started))
                except (ClientError, TimeoutError, ConnectionLost, Closed) as exc:
                    outcomes[f"probe {type(exc).__name__}"] += 1

        # The other members' records, acked: the report must hold every one.
        others = Counter[str]()

        async def other_members() -> None:
            for n in itertools.count():
                at = start + 1 + n * 2
                if at >= end:
                    return
                await asyncio.sleep(max(0.0, at - time.perf_counter()))
                try:
                    await mentor.request("comment.send", timeout=30, text=f"mentor {n}",
                                         to=target.member_id)
                    others["mentor comments"] += 1
                    if n % 5 == 0:
                        await target.request("goal.set", timeout=30, text=f"goal {n}")
                        await target.request("goal.check", timeout=30, result="done")
                        others["check-outs"] += 1
                except (ClientError, TimeoutError, ConnectionLost, Closed) as exc:
                    outcomes[f"others {type(exc).__name__}"] += 1

        def window_line(t: float) -> None:
            nonlocal window_acked
            window = sorted(probes)
            comments = sorted(comment_rtts)
            probes.clear()
            comment_rtts.clear()
            mb = rss_mb(pid) or 0.0
            rss_series.append(mb)
            redis_mb = (rss_mb(redis.pid) or 0) if redis else 0
            refused = sum(n for o, n in outcomes.items() if o != "ok")
            print(f"  {t:5.0f}  {mb:7.1f}  {redis_mb:8.1f}  "
                  f"{percentile(window, 50):6.1f} / {percentile(window, 99):5.1f} / "
                  f"{window[-1] if window else float('nan'):5.1f}  "
                  f"{percentile(comments, 50):7.1f} / {percentile(comments, 99):6.1f}  "
                  f"{window_acked:6}  {outcomes['ok']:7}  {refused}", flush=True)
            window_acked = 0

        async def every_window() -> None:
            for w in itertools.count(1):
                await asyncio.sleep(max(0.0, start + w * WINDOW_S - time.perf_counter()))
                window_line(w * WINDOW_S)

        ticker = asyncio.create_task(every_window())
        await asyncio.gather(send_flood(), probe(), other_members())
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        if probes or window_acked:
            window_line(time.perf_counter() - start)

        started = time.perf_counter()
        reply = await http.get(f"{server.http}/api/rooms/{rid}/report",
                               headers={"Authorization": f"Bearer {room['host_key']}"})
        took = rtt(started)
        reply.raise_for_status()
        report = reply.json()
        comments_in_report = sum(len(f["comments"]) for f in report["feedback"])
        rss_end = rss_mb(pid) or 0.0
        print(f"\nreport: HTTP {reply.status_code}, {len(reply.content):,} bytes in {took:.0f} ms, "
              f"{comments_in_report:,} comments, truncated: {report.get('truncated')}")
        print(f"comments: {', '.join(f'{o} {n:,}' for o, n in outcomes.most_common())}")
        print(f"events received by the 5 members: {sum(received.values()):,} "
              f"({received['comment']:,} comments)")
        print(f"server RSS MB: start {rss_start or 0:.1f}, end {rss_end:.1f} (after the report), "
              f"max {max([*rss_series, rss_end]):.1f}")
        kept = Counter[str]()
        for f in report["feedback"]:
            if f["member_id"] == target.member_id:
                kept["mentor comments"] = sum(c["from"] == mentor.member_id
                                              for c in f["comments"])
        kept["check-outs"] = sum(g["member_id"] == target.member_id and g["result"] is not None
                                 for g in report["goals"])
        complete = all(kept[k] >= n for k, n in others.items())
        print(f"other members' records: {'complete' if complete else 'INCOMPLETE'} ("
              + ", ".join(f"{k} {kept[k]} of {n} in the report" for k, n in others.items())
              + ")")
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        for client in clients:
            await client.close()
    alive = server.process is not None and server.process.poll() is None
    if not alive:
        print("FAILED: the server process is gone")
    return 0 if alive else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--redis", action="store_true", help="run the server on Redis")
    parser.add_argument("--rate", type=float, default=20,
                        help="comments per second (the server's default limit is 20)")
    parser.add_argument("--private", action="store_true", help="private comments")
    parser.add_argument("--record-log-size", type=int, default=0,
                        help="ENSEMBLE_RECORD_LOG_SIZE for the server (default: its own, 10000)")
    parser.add_argument("--record-quota", type=int, default=0,
                        help="ENSEMBLE_RECORD_QUOTA_PER_MEMBER for the server "
                             "(default: its own, 1000)")
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
