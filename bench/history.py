"""History at scale: archive time per session, and the history pages with 1,000
sessions for one person, on SQLite and on PostgreSQL.

    .venv/bin/python bench/history.py [--sessions 1000] [--requests 50] [--only sqlite|postgresql]

Each session is a real room run through the core (a mentor and three
participants, all people; goals, turns, comments, reactions, a focus phase),
closed, turned into its report, and archived through the store exactly as
the archiver does (`core.history.archive_records` + `Archive.archive`, one
transaction). Then a real `ensemble serve` on that database answers
`GET /api/me` (streak and totals over every session) and
`GET /api/me/sessions` (a page of 50, first and deep), timed from an HTTP client.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ensemble.core import Room  # noqa: E402
from ensemble.core.history import archive_records  # noqa: E402
from ensemble.store import Store, database_url  # noqa: E402
from tests.support.postgres_server import PostgresServer  # noqa: E402
from tests.support.server import start_server  # noqa: E402

DAY = 24 * 3600 * 1000
T0 = 1_700_000_000_000
PROGRAM = {"phases": [{"name": "Check-in", "kind": "checkin", "duration_ms": 60_000},
                      {"name": "Focus", "kind": "focus", "duration_ms": 1_500_000},
                      {"name": "Check-out", "kind": "checkout", "duration_ms": 60_000}],
           "rounds": 2}


def session_report(index: int, people: list[str]) -> dict[str, Any]:
    """A closed room's report: one session of a mentor and three participants."""
    now = T0 + index * DAY
    room = Room.create(room_id=f"r_{index:010x}", title="Evening scales", visibility="public",
                       epoch="e", invite="i", host_key="h", now=now, grace_ms=15_000,
                       program=PROGRAM)
    records: list[dict[str, Any]] = []

    def run(outcome: Any) -> None:
        assert outcome.error is None, outcome.error
        records.extend(outcome.records)

    names = ["Mira", "Ana", "Bo", "Cy"]
    ids = [f"m_{n.lower()}" for n in names]
    for k, (member_id, name) in enumerate(zip(ids, names, strict=True)):
        run(room.join(member_id=member_id, name=name, role="mentor" if k == 0 else "participant",
                      conn_id=f"c{k}", now=now, person_id=people[k]))
    for member_id in ids[1:]:
        run(room.request(member_id, "goal.set", {"text": f"bars {index % 40}-{index % 40 + 8}"},
                         now))
    run(room.request(ids[0], "sprint.start", {}, now))
    now += 120_000
    run(room.tick(now))
    for member_id in ids[1:]:
        run(room.request(ids[0], "comment.send",
                         {"to": member_id, "text": "relax the wrist", "private": True}, now))
        run(room.request(member_id, "reaction.send", {"to": ids[1], "emoji": "👏"}, now))
        run(room.request(member_id, "hand.raise", {}, now))
    now += 600_000
    run(room.request(ids[0], "turn.next", {}, now))
    now += 2_400_000
    run(room.tick(now))
    for member_id in ids[1:]:
        run(room.request(member_id, "goal.check", {"result": "done", "note": "clean"}, now))
    run(room.request(ids[0], "room.close", {}, now))
    return room.report(now, records)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(label: str, values: list[float]) -> str:
    return (f"{label}: mean {statistics.fmean(values):.2f} ms, p50 {pct(values, .5):.2f} ms, "
            f"p95 {pct(values, .95):.2f} ms (n={len(values)})")


async def fill(url: str, sessions: int) -> tuple[list[float], str]:
    """Archive `sessions` sessions; returns the archive times and the first person's key."""
    store = Store(url)
    await store.start()
    people = [f"p_{k:010x}" for k in range(4)]
    keys = [f"bench-key-{k}" for k in range(4)]
    for person_id, key, name in zip(people, keys, ["Mira", "Ana", "Bo", "Cy"], strict=True):
        await store.people.create(person_id, key, name, "Europe/Paris", T0)
    reports = [session_report(i, people) for i in range(sessions)]
    times = []
    for report in reports:
        start = time.perf_counter()
        session, records = archive_records(report)
        kept = await store.archive.archive(session, records, T0)
        times.append((time.perf_counter() - start) * 1000)
        assert kept
    await store.close()
    return times, keys[1]


async def time_pages(
    base: str, key: str, requests: int, sessions: int
) -> dict[str, list[float]]:
    headers = {"Authorization": f"Bearer {key}"}
    results: dict[str, list[float]] = {"GET /api/me": [], "GET /api/me/sessions (first page)": [],
                                       "GET /api/me/sessions (page 10)": []}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
        cursor = None
        for _ in range(10):
            page = (await http.get("/api/me/sessions", params={"cursor": cursor} if cursor
                                   else {})).json()
            cursor = page["next"]
        me = (await http.get("/api/me")).json()
        assert me["totals"]["sessions"] == sessions, me
        for _ in range(requests):
            for label, params in (("GET /api/me", None),
                                  ("GET /api/me/sessions (first page)", {}),
                                  ("GET /api/me/sessions (page 10)", {"cursor": cursor})):
                path = "/api/me" if params is None else "/api/me/sessions"
                start = time.perf_counter()
                reply = await http.get(path, params=params)
                results[label].append((time.perf_counter() - start) * 1000)
                assert reply.status_code == 200, reply.text
    return results


def run(kind: str, url: str, serve_url: str, sessions: int, requests: int) -> None:
    times, key = asyncio.run(fill(url, sessions))
    print(f"\n== {kind}: {sessions} sessions, 4 people each ==")
    print(summary("archive one session (records + one transaction)", times))
    server = start_server("--database", serve_url)
    try:
        pages = asyncio.run(time_pages(server.http, key, requests, sessions))
    finally:
        server.stop()
    for label, values in pages.items():
        print(summary(label, values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory(prefix="ensemble-bench-") as data:
            url = database_url("", data)
            run("SQLite", url, "sqlite:///" + str(Path(data) / "ensemble.db"), args.sessions,
                args.requests)
    if args.only in (None, "postgresql"):
        postgres = PostgresServer()
        postgres.start()
        try:
            raw = postgres.new_database()
            run("PostgreSQL", database_url(raw, ""), raw, args.sessions, args.requests)
        finally:
            postgres.cleanup()


if __name__ == "__main__":
    main()
