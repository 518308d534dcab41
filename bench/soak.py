"""Soak: members in rooms running sprints, turns, goals, chat and comments for minutes
on two server processes + Redis, with a Redis pause and a kill -9 in the middle.

    .venv/bin/python bench/soak.py                        # 500 members, 50 rooms, 10 min
    .venv/bin/python bench/soak.py --minutes 2 --members 200 --rooms 20

It starts redis-server and two `ensemble serve --redis` processes on free
loopback ports, creates the rooms, and connects every member with BOTH server
URLs (half start on each), so a member whose process dies fails over to the
other and resumes. In every room one mentor runs a sprint program (check-in,
focus/break rounds, check-out) and a turn queue with a time limit;
participants set and check goals, raise hands and pass, chat and send
comments (a third of them private) at a modest rate. Timeline, T = --minutes:

    T/3       Redis is stopped (SIGSTOP) for --pause-s seconds, then continued
    0.6 T     the second server process is killed (SIGKILL)
    0.6 T+20s it is started again on its port (unless --no-restart)
    T         the load stops; each room's mentor sends a last chat, every member
              waits for it (bounded), then the checks run

Every member checks every event frame it receives, per stream, from `seq`,
below the client library's own deduplication: each stream must be gapless
across reconnects (lost), never repeat a seq (duplicated) and never go back
to a seq it skipped (out of order). A `welcome` with `resumed: false` replaces
the member's state with a snapshot, so the seqs it skips are not lost; those
are counted apart. On top: every acked chat reached every member once, no
chat the server refused was delivered, every room's sprint went through its
program's phases once each in order (each phase starting exactly at the
previous one's end), every member saw each `sprint.phase` seq once, private
comments reached nobody else, and at the end every member sees everyone in
its room, connected. It prints the servers' and Redis's RSS every 10 s, the
chat latency from commit (`at`) to arrival (one machine, one clock) at
p50/p99/max, reconnects, request outcomes and what the server logs say, and
exits 1 if anything was lost, duplicated, out of order or otherwise wrong.

The load runs in --workers processes of its own; on a small machine they
compete with the servers and Redis for the same cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.measure import cpu_seconds, log_offset, log_problems, percentile, rss_mb, summary  # noqa: E402

from ensemble.client import Client, ClientError, Closed, ConnectionLost  # noqa: E402
from tests.support.redis_server import RedisServer  # noqa: E402
from tests.support.server import ServerProcess, free_port  # noqa: E402

EXAMPLES = 10  # problems of each kind kept with their details


# -- the per-stream check, below the client's deduplication ----------------------


class StreamCheck:
    """Every event frame one member receives, checked per stream against its seq."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}
        self.missing: dict[str, set[int]] = defaultdict(set)
        self.counts: Counter[str] = Counter()
        self.examples: list[str] = []
        self.phase_seqs: Counter[int] = Counter()  # sprint.phase seqs as they arrived
        self.closes: list[tuple[float, int | None, str]] = []  # when, code, reason
        self.events = 0

    def note(self, kind: str, detail: str, n: int = 1) -> None:
        self.counts[kind] += n
        if len(self.examples) < EXAMPLES:
            self.examples.append(f"{kind}: {detail}")

    def welcome(self, welcome: dict[str, Any]) -> None:
        seqs = dict(welcome["seqs"])
        if not self.last:  # the first welcome
            self.last = seqs
            return
        self.counts["reconnects"] += 1
        if welcome["resumed"]:
            self.counts["resumed"] += 1
            for stream, seq in seqs.items():
                if stream not in self.last:
                    self.note("new stream on resume", f"{stream} at {seq}")
                    self.last[stream] = seq
                elif seq < self.last[stream]:
                    self.note("resumed behind", f"{stream}: had {self.last[stream]}, now {seq}")
            return
        # A fresh snapshot: the state is replaced, the seqs in between are skipped.
        self.counts["fresh snapshots"] += 1
        for stream, seq in seqs.items():
            self.counts["seqs skipped by fresh snapshots"] += max(0, seq - self.last.get(stream, 0))
        self.missing.clear()  # gaps before a fresh snapshot were counted as lost already
        self.last = seqs

    def frame(self, frame: dict[str, Any]) -> None:
        stream, seq = frame.get("stream"), frame.get("seq")
        if not isinstance(stream, str) or not isinstance(seq, int):
            return
        self.events += 1
        if frame.get("type") == "sprint.phase" and stream == "room":
            self.phase_seqs[seq] += 1
        last = self.last.get(stream)
        if last is None:
            self.note("event on a stream not in the welcome", f"{stream} {seq}")
            self.last[stream] = seq
            return
        if seq == last + 1:
            self.last[stream] = seq
        elif seq > last + 1:
            self.note("lost", f"{stream}: after {last} came {seq}", seq - last - 1)
            self.missing[stream].update(range(last + 1, seq))
            self.last[stream] = seq
        elif seq in self.missing[stream]:
            self.missing[stream].discard(seq)
            self.counts["lost"] -= 1  # it came after all, late
            self.note("out of order", f"{stream}: {seq} after {last}")
        else:
            self.note("duplicated", f"{stream}: {seq} again (last {last}) {frame.get('type')}")


class CheckedClient(Client):
    """The client library, with every welcome and frame seen by a StreamCheck first."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.check = StreamCheck()

    def _welcome(self, welcome: dict[str, Any]) -> None:
        self.check.welcome(welcome)
        super()._welcome(welcome)

    def _dispatch(self, frame: dict[str, Any]) -> None:
        self.check.frame(frame)
        super()._dispatch(frame)

    async def _say_hello(self, ws: Any) -> dict[str, Any]:
        try:
            return await super()._say_hello(ws)
        except ClientError as exc:  # the library retries; we count it
            self.check.closes.append((time.time(), None, f"hello refused: {exc.code}: "
                                                         f"{exc.message}"))
            raise

    async def _receive(self, ws: Any) -> tuple[int | None, str]:
        code, reason = await super()._receive(ws)
        if self.closed is None:  # not our own close() at the end
            self.check.closes.append((time.time(), code, reason))
        return code, reason


# -- the program every room runs ------------------------------------------------


def program(args: argparse.Namespace) -> tuple[list[dict[str, Any]], int]:
    """Check-in, focus/break rounds, check-out: as many rounds as fit the run."""
    phases = [
        {"name": "Check-in", "kind": "checkin", "duration_ms": 10_000},
        {"name": "Focus", "kind": "focus", "duration_ms": int(args.focus_s * 1000)},
        {"name": "Break", "kind": "break", "duration_ms": int(args.break_s * 1000)},
        {"name": "Check-out", "kind": "checkout", "duration_ms": 10_000},
    ]
    rounds = int((args.minutes * 60 - 35) // (args.focus_s + args.break_s))
    return phases, max(1, min(20, rounds))


def schedule(phases: list[dict[str, Any]], rounds: int) -> list[tuple[int, int]]:
    """(round, phase_index) of every phase the sprint runs, in order (PROTOCOL §6 sprint)."""
    order = []
    for r in range(1, rounds + 1):
        for i, phase in enumerate(phases):
            if phase["kind"] == "checkin" and r != 1:
                continue
            if phase["kind"] == "checkout" and r != rounds:
                continue
            order.append((r, i))
    return order


# -- one member --------------------------------------------------------------------


@dataclass
class Member:
    client: CheckedClient
    tag: str
    mentor: bool
    rng: random.Random
    room: str = ""
    others: list[str] = field(default_factory=list)
    todo: asyncio.Queue[tuple[str, dict[str, Any]]] = field(default_factory=asyncio.Queue)
    outcomes: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    acked_chats: set[str] = field(default_factory=set)
    refused_chats: set[str] = field(default_factory=set)
    unsure_chats: set[str] = field(default_factory=set)
    received_chats: Counter[str] = field(default_factory=Counter)
    latencies: list[tuple[float, float]] = field(default_factory=list)
    phases: list[tuple[int, int, int, int, int, str | None]] = field(default_factory=list)
    view: dict[str, bool] = field(default_factory=dict)  # member id -> connected
    has_goal: bool = False
    holding: bool = False
    fresh_after_start: bool = False
    privacy: list[str] = field(default_factory=list)
    marker_seen: asyncio.Event = field(default_factory=asyncio.Event)
    marker: str = ""

    @property
    def id(self) -> str:
        return self.client.member_id

    def reset_view(self, snapshot: dict[str, Any]) -> None:
        self.view = {m["id"]: m["connected"] for m in snapshot["members"]}

    async def ask(self, type_: str, **payload: Any) -> str:
        """One request; its outcome ("ok", an error code, "timeout", "lost") is counted."""
        try:
            await self.client.request(type_, timeout=15.0, **payload)
            outcome = "ok"
        except ClientError as exc:
            outcome = exc.code
        except TimeoutError:
            outcome = "timeout"
        except (ConnectionLost, Closed):
            outcome = "lost"
        self.outcomes[f"{type_} {outcome}"] += 1
        return outcome

    async def chat(self, text: str | None = None) -> str:
        self.sent += 1
        text = text or f"{self.tag}#{self.sent}"
        outcome = await self.ask("chat.send", text=text)
        if outcome == "ok":
            self.acked_chats.add(text)
        elif outcome in ("timeout", "lost"):
            self.unsure_chats.add(text)  # committed or not: all members or none
        else:
            self.refused_chats.add(text)  # an error frame: nothing was applied
        return outcome


async def read(member: Member, started: asyncio.Event) -> None:
    """Consume the member's events until it is closed: see `observe` and `respond`."""
    loop = asyncio.get_running_loop()

    def later(delay: float, type_: str, **payload: Any) -> None:
        loop.call_later(delay, member.todo.put_nowait, (type_, payload))

    async for event in member.client.events():
        observe(member, event, started.is_set())
        if started.is_set() and not member.mentor:
            respond(member, event, later)


def observe(member: Member, event: dict[str, Any], started: bool) -> None:
    """Latencies, chats, phases, private comments, and the member's view of the room."""
    kind = event["type"]
    if kind == "welcome":  # after a reconnect
        if not event["resumed"]:
            member.reset_view(event["snapshot"])
            member.fresh_after_start = member.fresh_after_start or started
    elif kind == "chat.message":
        now = time.time() * 1000
        member.latencies.append((event["at"], now - event["at"]))
        member.received_chats[event["text"]] += 1
        if event["text"] == member.marker:
            member.marker_seen.set()
    elif kind == "member.joined":
        member.view[event["member"]["id"]] = event["member"]["connected"]
    elif kind == "member.left":
        member.view.pop(event["member_id"], None)
    elif kind == "member.status":
        member.view[event["member_id"]] = event["connected"]
    elif kind == "sprint.phase":
        sprint, timer = event["sprint"], event["timer"]
        member.phases.append((event["seq"], sprint["round"], sprint["phase_index"],
                              event["at"], timer["ends_at"], event["actor"]))
    elif (kind == "comment" and event["private"] and not member.mentor
          and event["to"] != member.id):
        member.privacy.append(f"{member.id} got a private comment to {event['to']}")


def respond(member: Member, event: dict[str, Any], later: Any) -> None:
    """What a participant does when the room changes: a goal and focus when a focus
    phase starts, a check and a break when a break starts, pass a turn it holds."""
    kind = event["type"]
    if kind == "sprint.phase":
        sprint = event["sprint"]
        phase_kind = sprint["phases"][sprint["phase_index"]]["kind"]
        jitter = member.rng.uniform(0.5, 6.0)
        if phase_kind == "focus" and member.rng.random() < 0.7:
            later(jitter, "goal.set", text=f"goal of {member.tag} in round {sprint['round']}")
            later(jitter + 1, "status.set", status="focus")
        elif phase_kind == "break" and member.has_goal:
            later(jitter, "goal.check", result=member.rng.choice(["done", "partial", "missed"]),
                  note="soak")
            later(jitter + 1, "status.set", status="break", text="back soon")
    elif kind == "turns.changed":
        holding = event["turns"]["current"] == member.id
        if holding and not member.holding:  # the turn just came to us
            later(member.rng.uniform(2.0, 8.0), "turn.pass")
        member.holding = holding


async def act(member: Member, end: float, every: float) -> None:
    """Requests until `end`: what the room asked for, else a random action now and then."""
    next_at = time.time() + member.rng.expovariate(1 / every)
    while time.time() < end:
        try:
            type_, payload = await asyncio.wait_for(
                member.todo.get(), max(0.0, min(next_at, end) - time.time()))
        except TimeoutError:
            if time.time() >= end:
                return
            next_at = time.time() + member.rng.expovariate(1 / every)
            type_, payload = pick(member)
        if type_ == "chat.send":
            await member.chat()
            continue
        outcome = await member.ask(type_, **payload)
        if type_ == "goal.set" and outcome == "ok":
            member.has_goal = True


def pick(member: Member) -> tuple[str, dict[str, Any]]:
    rng = member.rng
    roll = rng.random()
    if member.mentor:
        if roll < 0.4:
            return "chat.send", {}
        if roll < 0.7 and member.others:
            return "comment.send", {"text": f"note for you from {member.tag}",
                                    "to": rng.choice(member.others), "private": True}
        if roll < 0.9:
            return "turn.next", {}
        return "note.mentors", {"text": f"mentor note from {member.tag}"}
    if roll < 0.55:
        return "chat.send", {}
    if roll < 0.65:
        private = rng.random() < 1 / 3
        return "comment.send", {"text": f"comment from {member.tag}",
                                "to": rng.choice(member.others), "private": private}
    if roll < 0.8:
        return "hand.raise", {}
    if roll < 0.9:
        return "reaction.send", {"emoji": "👏", "to": rng.choice(member.others)}
    return "status.set", {"status": rng.choice(["active", "focus", "away"]), "text": "soak"}


# -- a load worker: its rooms' members, in a process of its own ------------------------


def run_worker(job: dict[str, Any], barrier: Any, results: Any) -> None:
    try:
        result = asyncio.run(worker(job, barrier))
    except BaseException:
        result = {"error": traceback.format_exc()}
    results.put(result)


async def connect(urls: list[str], room: dict[str, Any], name: str,
                  credential: dict[str, str]) -> CheckedClient:
    for attempt in range(5):
        try:
            client = await CheckedClient.connect(urls, room=room["room_id"], name=name,
                                                 timeout=20, **credential)
            client.reconnect_for_s = 90.0
            return client
        except (OSError, TimeoutError, ClientError):
            if attempt == 4:
                raise
            await asyncio.sleep(1 + attempt)
    raise AssertionError("unreachable")


async def worker(job: dict[str, Any], barrier: Any) -> dict[str, Any]:
    urls: list[str] = job["urls"]
    rooms: dict[str, list[Member]] = {}
    n = job["offset"]
    for r, room in enumerate(job["rooms"]):
        members = []
        for k in range(job["per_room"]):
            n += 1
            credential = {"host_key": room["host_key"]} if k == 0 else {"invite": room["invite"]}
            mine = urls[n % len(urls):] + urls[:n % len(urls)]  # both URLs, half start on each
            client = await connect(mine, room, f"m{k}", credential)
            tag = f"w{job['worker']}r{r}m{k}"
            member = Member(client, tag, k == 0, random.Random(tag), room=room["room_id"])
            member.reset_view(client.welcomes[0]["snapshot"])
            members.append(member)
        for member in members:
            member.others = [m.id for m in members if m is not member]
            member.marker = f"end of {room['room_id']}"
        rooms[room["room_id"]] = members
    everyone = [m for members in rooms.values() for m in members]
    started = asyncio.Event()
    readers = [asyncio.create_task(read(m, started)) for m in everyone]

    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, barrier.wait, job["connect_s"])
    start = time.time()
    end = start + job["seconds"]
    started.set()
    cpu_start = time.process_time()
    lags: list[float] = []
    lag_task = asyncio.create_task(measure_lag(lags))

    async def run_room(index: int, members: list[Member]) -> None:
        mentor = members[0]
        await asyncio.sleep(index % 10)  # rooms' phase boundaries spread over 10 s
        await mentor.ask("turns.config", mode="queue", turn_ms=20_000)
        await mentor.ask("sprint.start", phases=job["phases"], rounds=job["rounds"])
        await asyncio.gather(*(act(m, end, job["every"]) for m in members))

    await asyncio.gather(*(run_room(i, ms) for i, ms in enumerate(rooms.values())))

    # Settle: the in-flight deliveries, then one last chat per room that every
    # member must receive (a stream is ordered, so everything before it came too).
    await asyncio.sleep(3)
    settle_start = time.time()
    for members in rooms.values():
        for _ in range(5):
            if await members[0].chat(members[0].marker) == "ok":
                break
            await asyncio.sleep(2)
    unsettled = 0
    for member in everyone:
        remaining = job["settle_s"] - (time.time() - settle_start)
        try:
            await asyncio.wait_for(member.marker_seen.wait(), max(0.1, remaining))
        except TimeoutError:
            unsettled += 1
    lag_task.cancel()
    result = check(job, rooms, start)
    result["lags"] = lags
    result["cpu"] = (time.process_time() - cpu_start) / (time.time() - start)
    result["unsettled"] = unsettled
    result["gave up"] = sum(1 for m in everyone if m.client.closed is not None)
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    await asyncio.gather(*(m.client.close() for m in everyone), return_exceptions=True)
    return result


async def measure_lag(lags: list[float]) -> None:
    """How late this worker's event loop wakes up: the part of a latency that is ours."""
    while True:
        before = time.perf_counter()
        await asyncio.sleep(0.1)
        lags.append((time.perf_counter() - before - 0.1) * 1000)


# -- the checks of one worker's rooms ---------------------------------------------------


def check(job: dict[str, Any], rooms: dict[str, list[Member]], start: float) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    examples: list[str] = []
    latencies: list[tuple[float, float]] = []
    outcomes: Counter[str] = Counter()
    closes: dict[str, list[float]] = defaultdict(list)  # close code and reason -> when
    expected = schedule(job["phases"], job["rounds"])
    phases_complete = 0

    def note(kind: str, detail: str, n: int = 1) -> None:
        counts[kind] += n
        if len(examples) < 4 * EXAMPLES:
            examples.append(f"{kind}: {detail}")

    for room_id, members in rooms.items():
        ids = {m.id for m in members}
        acked = set().union(*(m.acked_chats for m in members))
        refused = set().union(*(m.refused_chats for m in members))
        unsure = set().union(*(m.unsure_chats for m in members))
        for m in members:
            latencies.extend((at / 1000 - start, ms) for at, ms in m.latencies)
            outcomes.update(m.outcomes)
            counts.update(m.client.check.counts)
            for when, code, reason in m.client.check.closes:
                closes[f"{code or ''} {reason}".strip()].append(when - start)
            for line in m.client.check.examples:
                note("stream", f"{room_id} {m.tag}: {line}", 0)
            for line in m.privacy:
                note("privacy", f"{room_id}: {line}")
            counts["events received"] += m.client.check.events
            counts["fresh snapshots after start (members)"] += m.fresh_after_start
            gone = ids - set(m.view)
            if gone:
                note("members missing from a view at the end", f"{room_id} {m.tag}: {sorted(gone)}",
                     len(gone))
            offline = [i for i in ids & set(m.view) if not m.view[i]]
            if offline:
                note("members shown disconnected at the end", f"{room_id} {m.tag}: {offline}",
                     len(offline))
            for text, n in m.received_chats.items():
                if n > 1:
                    note("chat delivered twice (two seqs)", f"{room_id} {m.tag}: {text!r} x{n}",
                         n - 1)
                if text in refused:
                    note("refused chat delivered", f"{room_id} {m.tag}: {text!r}")
            if not m.fresh_after_start:
                missed = acked - set(m.received_chats)
                if missed:
                    note("acked chat never delivered", f"{room_id} {m.tag}: {sorted(missed)[:3]}",
                         len(missed))
        for text in unsure:
            got = sum(1 for m in members if text in m.received_chats)
            if 0 < got < len(members) and not any(m.fresh_after_start for m in members):
                note("unacked chat reached some members only", f"{room_id}: {text!r}")
        counts["chats acked"] += len(acked)
        counts["chats unacked (timeout or dropped connection)"] += len(unsure)
        counts["chats refused"] += len(refused)

        # The sprint: each phase once, in the program's order, at the exact boundary.
        seen: dict[int, tuple[int, int, int, int | None, str | None]] = {}
        for m in members:
            for event in m.phases:
                key = event[0]
                if key in seen and seen[key] != event[1:]:
                    note("members disagree on a sprint.phase", f"{room_id} seq {key}")
                seen[key] = event[1:]
        ordered = [seen[s] for s in sorted(seen)]
        order = [(r, i) for r, i, _, _, _ in ordered]
        if order != expected[:len(order)]:
            note("sprint phases out of program order", f"{room_id}: {order} vs {expected}")
        if len(order) == len(expected):
            phases_complete += 1
        for before, after in itertools.pairwise(ordered):
            if after[4] is None and after[2] != before[3]:
                note("phase not started at the previous one's end",
                     f"{room_id}: at {after[2]} vs ends_at {before[3]}")
        counts["sprint.phase events (per room)"] += len(order)
        for m in members:
            arrived = m.client.check.phase_seqs
            for seq in seen:
                if arrived[seq] > 1:
                    note("sprint.phase seen twice", f"{room_id} {m.tag}: seq {seq}")
                elif arrived[seq] == 0 and not m.fresh_after_start:
                    note("sprint.phase missed", f"{room_id} {m.tag}: seq {seq}")
    counts["rooms whose sprint ran every phase"] += phases_complete
    counts["members"] += sum(len(ms) for ms in rooms.values())
    return {"counts": counts, "examples": examples, "latencies": latencies,
            "outcomes": outcomes, "closes": dict(closes)}


# -- the run: processes, faults, samples, verdict ------------------------------------------

FAILURES = (
    "lost", "duplicated", "out of order", "resumed behind", "new stream on resume",
    "event on a stream not in the welcome", "privacy", "members missing from a view at the end",
    "members shown disconnected at the end", "chat delivered twice (two seqs)",
    "refused chat delivered", "acked chat never delivered",
    "unacked chat reached some members only", "members disagree on a sprint.phase",
    "sprint phases out of program order", "phase not started at the previous one's end",
    "sprint.phase seen twice", "sprint.phase missed",
    "connections still counted after every member closed",
)


@dataclass
class Fleet:
    """Every process the soak starts, so that each is stopped by its pid."""

    redis: RedisServer
    servers: list[ServerProcess] = field(default_factory=list)
    workers: list[Any] = field(default_factory=list)
    timeline: list[tuple[float, str]] = field(default_factory=list)
    rss: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    logs: list[tuple[Path, int]] = field(default_factory=list)  # each server's log, from where

    def stop(self) -> None:
        for process in self.workers:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGKILL)
            process.join(5)
        for server in self.servers:
            server.stop()
        self.redis.cleanup()


async def run(args: argparse.Namespace) -> int:
    fleet = Fleet(RedisServer())
    try:
        fleet.redis.start()
        for _ in range(2):
            port = free_port()
            log = Path(tempfile.gettempdir()) / f"ensemble-{port}.log"
            fleet.logs.append((log, log_offset(log)))
            fleet.servers.append(
                ServerProcess(port, ["--redis", fleet.redis.url], log_path=log).start())
        return await soak(args, fleet)
    finally:
        fleet.stop()


async def soak(args: argparse.Namespace, fleet: Fleet) -> int:
    servers = fleet.servers
    async with httpx.AsyncClient(timeout=30) as http:
        rooms = []
        for i in range(args.rooms):
            reply = await http.post(f"{servers[0].http}/api/rooms",
                                    json={"title": f"soak {i}", "visibility": "unlisted"})
            reply.raise_for_status()
            rooms.append(reply.json())
    phases, rounds = program(args)
    seconds = args.minutes * 60
    per_room = args.members // args.rooms
    ctx = get_context("spawn")
    barrier = ctx.Barrier(args.workers + 1)
    results = ctx.Queue()
    connect_s = 60 + args.members * 0.3
    for w in range(args.workers):
        job = {"worker": w, "rooms": rooms[w::args.workers], "urls": [s.ws for s in servers],
               "per_room": per_room, "offset": w, "seconds": seconds, "every": args.every,
               "phases": phases, "rounds": rounds, "connect_s": connect_s,
               "settle_s": args.settle_s}
        process = ctx.Process(target=run_worker, args=(job, barrier, results), daemon=True)
        process.start()
        fleet.workers.append(process)
    print(f"soak: {per_room * args.rooms} members in {args.rooms} rooms ({per_room} each, "
          f"1 mentor), 2 server processes + Redis, {args.minutes:g} min, "
          f"{args.workers} load workers; sprint {len(schedule(phases, rounds))} phases "
          f"({rounds} rounds of focus {args.focus_s:g} s / break {args.break_s:g} s); "
          f"a request every {args.every:g} s per member on average", flush=True)
    print(f"  servers: pid {servers[0].process.pid} port {servers[0].port}, "  # type: ignore[union-attr]
          f"pid {servers[1].process.pid} port {servers[1].port}; "  # type: ignore[union-attr]
          f"redis pid {fleet.redis.pid} port {fleet.redis.port}; load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    loop = asyncio.get_running_loop()
    connecting = time.time()
    await loop.run_in_executor(None, barrier.wait, connect_s)
    start = time.time()
    print(f"  all members connected in {start - connecting:.1f} s", flush=True)
    print("\n  t (s)  " + "  ".join(f"{name:>16}" for name in ("server 1", "server 2", "redis"))
          + "  trouble lines logged by server 1, 2")
    print("         " + "  ".join(f"{'RSS MB   CPU':>16}" for _ in range(3)), flush=True)
    sampler = asyncio.create_task(sample(fleet, start))
    faults_task = asyncio.create_task(faults(args, fleet, start))
    collected = []
    deadline = start + seconds + args.settle_s + 120
    for _ in fleet.workers:
        remaining = max(1.0, deadline - time.time())
        collected.append(await loop.run_in_executor(None, results.get, True, remaining))
    await faults_task
    gauges = await settled_gauges(fleet)
    sampler.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sampler
    return report(args, fleet, collected, gauges)


async def settled_gauges(fleet: Fleet, timeout: float = 15.0) -> list[dict[str, float]]:
    """Each live server's metrics once every member has closed: its connection
    gauge must come down to 0 (waited for up to `timeout`: closes take a moment)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=5) as http:
        while True:
            gauges = []
            for server in fleet.servers:
                reply = await http.get(f"{server.http}/metrics")
                values: dict[str, float] = {}
                for line in reply.text.splitlines():
                    name, _, value = line.rpartition(" ")
                    if name.startswith(("ensemble_connections", "ensemble_rooms_active",
                                        "ensemble_slow_consumers_total", "ensemble_errors_total")):
                        values[name] = float(value)
                gauges.append(values)
            if all(g.get("ensemble_connections", 0) == 0 for g in gauges) or (
                    time.monotonic() > deadline):
                return gauges
            await asyncio.sleep(1)


async def sample(fleet: Fleet, start: float) -> None:
    """RSS and CPU use of every process we started, every 10 s, printed as it comes."""
    cpu: dict[int, tuple[float, float]] = {}  # pid -> (cpu seconds, when)

    def cell(name: str, pid: int | None, t: float) -> str:
        mb, used, now = rss_mb(pid), cpu_seconds(pid), time.monotonic()
        if mb is None or used is None or pid is None:
            return f"{'down':>16}"
        fleet.rss.setdefault(f"{name} (pid {pid})", []).append((t, mb))
        before, then = cpu.get(pid, (used, now))
        cpu[pid] = (used, now)
        share = 100 * (used - before) / (now - then) if now > then else 0.0
        return f"{mb:8.1f} {share:5.0f} %"

    logged = [0 for _ in fleet.logs]
    while True:
        t = time.time() - start
        cells = []
        for i, server in enumerate(fleet.servers):
            alive = server.process is not None and server.process.poll() is None
            cells.append(cell(f"server {i + 1}", server.process.pid if alive else None, t))
        cells.append(cell("redis", fleet.redis.pid if fleet.redis.process else None, t))
        for i, (path, offset) in enumerate(fleet.logs):
            total = sum(log_problems(path, offset).values())
            cells.append(f"{total - logged[i]:>+7}" if total > logged[i] else f"{'':>7}")
            logged[i] = total
        print(f"  {t:5.0f}  " + "  ".join(cells), flush=True)
        await asyncio.sleep(10 - (time.time() - start) % 10)


async def faults(args: argparse.Namespace, fleet: Fleet, start: float) -> None:
    seconds = args.minutes * 60

    def mark(text: str) -> None:
        t = time.time() - start
        fleet.timeline.append((t, text))
        print(f"  {t:5.0f}  -- {text}", flush=True)

    await asyncio.sleep(max(0.0, start + seconds / 3 - time.time()))
    mark(f"Redis paused (SIGSTOP pid {fleet.redis.pid}) for {args.pause_s:g} s")
    fleet.redis.pause()
    await asyncio.sleep(args.pause_s)
    fleet.redis.resume()
    mark("Redis continued (SIGCONT)")
    await asyncio.sleep(max(0.0, start + 0.6 * seconds - time.time()))
    victim = fleet.servers[1]
    pid = victim.process.pid if victim.process else None
    victim.kill()
    mark(f"server 2 killed (SIGKILL pid {pid})")
    if args.no_restart:
        return
    await asyncio.sleep(20)
    again = ServerProcess(victim.port, victim.args, victim.env, log_path=victim.log_path)
    await asyncio.get_running_loop().run_in_executor(None, again.start)
    fleet.servers[1] = again
    mark(f"server 2 started again on port {victim.port} (pid {again.process.pid})"  # type: ignore[union-attr]
         )


def report(args: argparse.Namespace, fleet: Fleet, collected: list[dict[str, Any]],
           gauges: list[dict[str, float]]) -> int:
    seconds = args.minutes * 60
    errors = [r["error"] for r in collected if "error" in r]
    for error in errors:
        print(f"\nA load worker failed:\n{error}")
    done = [r for r in collected if "error" not in r]
    counts: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    latencies: list[tuple[float, float]] = []
    examples: list[str] = []
    for r in done:
        counts.update(r["counts"])
        outcomes.update(r["outcomes"])
        latencies.extend(r["latencies"])
        examples.extend(r["examples"])
        counts["unsettled"] += r["unsettled"]
        counts["gave up"] += r["gave up"]
    counts["connections still counted after every member closed"] = int(
        sum(g.get("ensemble_connections", 0) for g in gauges))

    print("\nRSS (MB): start / end / max")
    for name, series in fleet.rss.items():
        values = [mb for _, mb in series]
        print(f"  {name:22} {values[0]:7.1f} / {values[-1]:7.1f} / {max(values):7.1f}"
              f"   ({series[0][0]:.0f} s .. {series[-1][0]:.0f} s)")
    print("\nFaults:")
    for t, text in fleet.timeline:
        print(f"  {t:5.0f} s  {text}")

    windows = [(seconds / 3 - 1, seconds / 3 + args.pause_s + 10),
               (0.6 * seconds - 1, 0.6 * seconds + 30)]
    during = [ms for t, ms in latencies if any(a <= t <= b for a, b in windows)]
    steady = [ms for t, ms in latencies if not any(a <= t <= b for a, b in windows)]
    print("\nChat latency, commit to arrival (ms):")
    print(f"  all:                      {summary([ms for _, ms in latencies])}")
    print(f"  outside the fault windows {summary(steady)}")
    print(f"  in the fault windows      {summary(during)}  (a Redis pause or a failover; "
          "replayed events arrive late)")
    print("  by minute of commit:")
    for minute in range(int(seconds // 60) + 1):
        values = [ms for t, ms in latencies if minute * 60 <= t < (minute + 1) * 60]
        if values:
            print(f"    {minute * 60:4.0f} s  {summary(values)}")
    lags = sorted(lag for r in done for lag in r["lags"])
    print(f"  load workers' own event loop lag (ms): p50 {percentile(lags, 50):.1f}  "
          f"p99 {percentile(lags, 99):.1f}  max {lags[-1] if lags else float('nan'):.1f}; "
          f"their CPU: " + ", ".join(f"{100 * r['cpu']:.0f} %" for r in done))

    print("\nRequests (outcome: count):")
    by_type: dict[str, Counter[str]] = defaultdict(Counter)
    for key, n in outcomes.items():
        type_, outcome = key.rsplit(" ", 1)
        by_type[type_][outcome] += n
    for type_, counter in sorted(by_type.items()):
        print(f"  {type_:14} " + ", ".join(f"{o} {n:,}" for o, n in counter.most_common()))

    closes: dict[str, list[float]] = defaultdict(list)
    for r in done:
        for key, whens in r["closes"].items():
            closes[key].extend(whens)
    print("\nConnections the server closed or that dropped, by close code, and hellos refused"
          " on reconnect (when, s):")
    for key, whens in sorted(closes.items(), key=lambda item: -len(item[1])):
        print(f"  {len(whens):5} x {key or '(none)'}   ({min(whens):.0f} .. {max(whens):.0f})")

    print("\nDelivery (every member, every stream):")
    for key in ("members", "events received", "reconnects", "resumed", "fresh snapshots",
                "seqs skipped by fresh snapshots", "fresh snapshots after start (members)",
                "chats acked", "chats unacked (timeout or dropped connection)", "chats refused",
                "sprint.phase events (per room)", "rooms whose sprint ran every phase",
                "unsettled", "gave up"):
        print(f"  {key:48} {counts[key]:,}")
    failures = {key: counts[key] for key in FAILURES if counts[key]}
    for key in ("unsettled", "gave up"):
        if counts[key]:
            failures[key] = counts[key]
    print(f"  lost {counts['lost']} / duplicated {counts['duplicated']} / "
          f"out of order {counts['out of order']}")
    expected = len(schedule(*program(args)))
    print(f"  sprint: {counts['rooms whose sprint ran every phase']} of {args.rooms} rooms ran all "
          f"{expected} phases, each seen once by every member: "
          f"{'yes' if not any('sprint' in k or 'phase' in k for k in failures) else 'NO'}")

    print("\nServer metrics after every member closed:")
    for i, values in enumerate(gauges):
        print(f"  server {i + 1}: " + ", ".join(f"{k} {v:g}" for k, v in sorted(values.items())))

    print("\nServer logs since the start (line: count):")
    for i, (path, offset) in enumerate(fleet.logs):
        found = log_problems(path, offset)
        print(f"  server {i + 1} ({path}): {sum(found.values())} lines")
        for line, n in found.most_common(12):
            print(f"    {n:5} x {line}")

    if failures or errors:
        print("\nFAILED: " + ", ".join(f"{k} {v:,}" for k, v in failures.items())
              + (f", {len(errors)} worker(s) failed" if errors else ""))
        for line in examples[:40]:
            print(f"  {line}")
        return 1
    print("\nOK: nothing lost, duplicated or out of order")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--every", type=float, default=8,
                        help="mean seconds between a member's own requests")
    parser.add_argument("--focus-s", type=float, default=30)
    parser.add_argument("--break-s", type=float, default=10)
    parser.add_argument("--pause-s", type=float, default=5, help="how long Redis is stopped")
    parser.add_argument("--no-restart", action="store_true",
                        help="leave the killed server down")
    parser.add_argument("--settle-s", type=float, default=60,
                        help="how long members may take to receive the last chat")
    parser.add_argument("--workers", type=int, default=2, help="load generator processes")
    args = parser.parse_args()
    if args.members // args.rooms < 2:
        parser.error("at least 2 members per room")
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
