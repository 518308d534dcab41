"""Three `ensemble serve --redis redis+cluster://...` processes on a real Redis
Cluster (3 masters, 3 replicas, shared by this module), rooms on every shard.

The tests run in file order: the last one kills a master (its replica takes
over), which leaves that shard without a replica.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest

from ensemble.backends.redis_keys import Keys
from ensemble.client import Client, ClientError
from tests.support.redis_cluster import RedisCluster

from .conftest import Cluster
from .streams import assert_gapless

pytestmark = pytest.mark.timeout(240)

PHASE_MS = 600
TURN_MS = 1000
PROGRAM = {
    "phases": [
        {"name": "Play", "kind": "focus", "duration_ms": PHASE_MS},
        {"name": "Rest", "kind": "break", "duration_ms": PHASE_MS},
    ],
    "rounds": 3,
}
KEYS = Keys("ensemble")


def shard_subscribers(redis_cluster: RedisCluster, port: int, room_id: str) -> int:
    reply = redis_cluster.cli(port, "pubsub", "shardnumsub", KEYS.channel(room_id).decode())
    return int(reply.split()[1])


async def rooms_on_every_shard(
    servers: Cluster, redis_cluster: RedisCluster, per_shard: int = 1
) -> list[dict[str, Any]]:
    """Create rooms until every master owns `per_shard` of them."""
    by_master: dict[int, list[dict[str, Any]]] = {p: [] for p in redis_cluster.master_ports()}
    for _ in range(200):
        if all(len(rooms) >= per_shard for rooms in by_master.values()):
            break
        room = await servers.create(servers.servers[0], program=PROGRAM)
        rooms = by_master[redis_cluster.owner_of_room(room["room_id"])]
        if len(rooms) < per_shard:
            rooms.append(room)
    return [room for rooms in by_master.values() for room in rooms]


class Members:
    """A mentor and two participants of one room, each on another process."""

    def __init__(self, clients: list[Client], servers: Cluster) -> None:
        self.clients = clients
        self.servers = servers
        self.mentor = clients[0]
        self.frames: list[list[dict[str, Any]]] = [[] for _ in clients]
        self.arrived: dict[tuple[int, int], float] = {}  # (client, room seq) -> wall ms

    @classmethod
    async def join(cls, servers: Cluster, room: dict[str, Any]) -> Members:
        procs = servers.servers * 4  # each member on another process when there are 3

        clients = [
            await servers.join(room, "Mia", [procs[0], procs[1]], mentor=True),
            await servers.join(room, "Pat", [procs[1], procs[2]]),
            await servers.join(room, "Sam", [procs[2], procs[3]], encoding="json"),
        ]
        return cls(clients, servers)

    async def until(self, predicate, within: float = 40.0) -> None:  # type: ignore[no-untyped-def]
        """Until each client received a frame matching `predicate` (perhaps already).
        On a timeout, say what each client got last (the test's timeout says nothing)."""

        async def one(client: Client, frames: list[dict[str, Any]]) -> None:
            if any(predicate(f) for f in frames):
                return
            async with asyncio.timeout(within):
                while True:
                    frames.append(await client.next_event(within))
                    if frames[-1].get("stream") == "room":
                        key = (self.clients.index(client), frames[-1]["seq"])
                        self.arrived.setdefault(key, time.time() * 1000)
                    if predicate(frames[-1]):
                        return

        try:
            await asyncio.gather(
                *(one(c, f) for c, f in zip(self.clients, self.frames, strict=True))
            )
        except TimeoutError:
            last = [[(f.get("type"), f.get("seq")) for f in frames[-5:]] for frames in self.frames]
            codes = [c.close_codes for c in self.clients]
            raise AssertionError(f"stalled; last frames {last}, close codes {codes}\n"
                                 f"{await self.servers.report()}") from None

    def room_streams(self) -> list[list[dict[str, Any]]]:
        return [[f for f in frames if f.get("stream") == "room"] for frames in self.frames]


def chat_is(text: str):  # type: ignore[no-untyped-def]
    return lambda e: e.get("type") == "chat.message" and e.get("text") == text


def sprint_done(e: dict[str, Any]) -> bool:
    return e.get("type") == "sprint.changed" and e["sprint"]["state"] == "done"


def check_room(members: Members, acked: set[str]) -> list[dict[str, Any]]:
    """Identical, gapless, duplicate-free room streams; every phase and turn
    limit once and on its own instant; every acknowledged chat exactly once."""
    streams = members.room_streams()
    common = max(s[0]["seq"] for s in streams)  # from when the last member was in
    streams = [[e for e in s if e["seq"] >= common] for s in streams]
    for other in streams[1:]:
        assert other == streams[0]
    stream = streams[0]
    assert_gapless(stream)
    entered = [(e["sprint"]["round"], e["sprint"]["phase_index"])
               for e in stream if e["type"] == "sprint.phase"]
    assert entered == [(r, i) for r in (1, 2, 3) for i in (0, 1)]
    timers = [e["timer"] for e in stream if e["type"] == "sprint.phase"]
    for before, after in itertools.pairwise(timers):
        assert after["ends_at"] == before["ends_at"] + PHASE_MS
    assert sum(sprint_done(e) for e in stream) == 1
    expiries = [e for e in stream if e["type"] == "turns.changed" and e["actor"] is None]
    assert len(expiries) == 2 and expiries[-1]["turns"]["current"] is None
    texts = [e["text"] for e in stream if e["type"] == "chat.message"]
    for text in acked:
        assert texts.count(text) == 1, text
    assert len(texts) == len(set(texts))
    return stream


async def run_sprint_while(members: Members, fault=None) -> set[str]:  # type: ignore[no-untyped-def]
    """Start a sprint with turn limits and chat through it; run `fault` (a
    blocking function) in a thread meanwhile. Returns the chats acknowledged."""
    mentor, pat, sam = members.clients
    await mentor.request("turns.config", mode="queue", turn_ms=TURN_MS)
    await pat.request("hand.raise")
    await sam.request("hand.raise")
    await mentor.request("sprint.start")
    acked: set[str] = set()

    async def chatter(client: Client, name: str) -> None:
        for i in itertools.count():
            text = f"{name}-{i}"
            try:
                await client.request("chat.send", text=text)
                acked.add(text)
            except ClientError as error:
                assert error.code == "unavailable", error  # only while Redis moves
            await asyncio.sleep(0.05)

    talking = [asyncio.create_task(chatter(c, n)) for c, n in zip(
        members.clients, ("mia", "pat", "sam"), strict=True)]
    try:
        if fault is not None:
            await asyncio.to_thread(fault)
        await members.until(sprint_done)
    finally:
        for task in talking:
            task.cancel()
        async with asyncio.timeout(15):  # a chatter that ignored its cancel must not hang here
            await asyncio.gather(*talking, return_exceptions=True)
    await members.until(lambda e: e.get("type") == "turns.changed"
                        and e["actor"] is None and e["turns"]["current"] is None)
    await mentor.request("chat.send", text="end")
    acked.add("end")
    await members.until(chat_is("end"))
    return acked


async def test_rooms_on_every_shard_one_stream_each_transitions_once(servers, redis_cluster):
    servers.start(3)
    rooms = await rooms_on_every_shard(servers, redis_cluster)
    owners = {redis_cluster.owner_of_room(r["room_id"]) for r in rooms}
    assert owners == set(redis_cluster.master_ports())  # a room on every shard
    everyone = [await Members.join(servers, room) for room in rooms]

    acked = await asyncio.gather(*(run_sprint_while(m) for m in everyone))
    for members, chats in zip(everyone, acked, strict=True):
        check_room(members, chats)

    # A room's messages travel on its own shard only: the room's channel is
    # subscribed on its owner (once per process with members there) and on
    # no other node.
    for room in rooms:
        home = redis_cluster.owner_of_room(room["room_id"])
        for node in redis_cluster.nodes:
            count = shard_subscribers(redis_cluster, node.port, room["room_id"])
            assert count == (3 if node.port == home else 0), (node.port, home)


async def test_no_key_spans_rooms_of_different_slots(servers, redis_cluster):
    servers.start(1)
    rooms = await rooms_on_every_shard(servers, redis_cluster)
    members = [await Members.join(servers, room) for room in rooms[:1]]
    await members[0].mentor.request("chat.send", text="hello")
    indexes = {}
    for port in redis_cluster.master_ports():
        for key in redis_cluster.cli(port, "--scan", "--pattern", "ensemble:*").split():
            if key in (KEYS.run, KEYS.signing_key):
                continue  # one value each, no room in them
            assert "{" in key, key  # every other key is tagged: a room's, or its slot's index
            if ":idx:" in key:
                read = "zrange" if key.endswith(":due") else "smembers"
                args = (key, "0", "-1") if read == "zrange" else (key,)
                indexes[key] = (port, redis_cluster.cli(port, read, *args).split())
    listed = set()
    for key, (port, room_ids) in indexes.items():
        slot = int(redis_cluster.cli(port, "cluster", "keyslot", key))
        for room_id in room_ids:  # an index names only rooms of its own slot
            state = KEYS.room(room_id, "state")
            assert int(redis_cluster.cli(port, "cluster", "keyslot", state)) == slot
        if key.endswith(":listed"):
            listed.update(room_ids)
    assert {room["room_id"] for room in rooms} <= listed


async def test_a_slot_migrated_while_its_room_is_busy_loses_and_repeats_nothing(
    servers, redis_cluster
):
    servers.start(3)
    room = await servers.create(servers.servers[0], program=PROGRAM)
    room_id = room["room_id"]
    members = await Members.join(servers, room)
    source = redis_cluster.owner_of_room(room_id)
    target = next(p for p in redis_cluster.master_ports() if p != source)
    slot = int(redis_cluster.cli(source, "cluster", "keyslot", KEYS.room(room_id, "state")))

    def migrate() -> None:
        time.sleep(PHASE_MS * 1.5 / 1000)  # into the sprint, chats flowing
        redis_cluster.move_slot(slot, target)

    acked = await run_sprint_while(members, migrate)
    check_room(members, acked)
    assert redis_cluster.owner_of_room(room_id) == target
    assert shard_subscribers(redis_cluster, target, room_id) == 3
    assert shard_subscribers(redis_cluster, source, room_id) == 0


async def test_a_master_killed_mid_sprint_is_replaced_and_clients_lose_nothing(
    servers, redis_cluster
):
    servers.start(3)
    room = await servers.create(servers.servers[0], program=PROGRAM)
    room_id = room["room_id"]
    members = await Members.join(servers, room)
    dead = redis_cluster.owner_of_room(room_id)

    def kill() -> None:
        time.sleep(PHASE_MS * 1.5 / 1000)
        redis_cluster.kill_master(dead)

    acked = await run_sprint_while(members, kill)
    stream = check_room(members, acked)
    assert redis_cluster.owner_of_room(room_id) != dead
    # On time: the sprint's last transition carries its own instant (phases
    # are scheduled from the start, not from when somebody noticed).
    start = next(e for e in stream if e["type"] == "sprint.changed")
    done = next(e for e in stream if sprint_done(e))
    assert done["at"] == start["at"] + 6 * PHASE_MS
    # And applied soon after it: the failover (about 2 s with a 1 s node
    # timeout) plus, at worst, a claim that died with the master (5 s).
    late = max(members.arrived[(i, e["seq"])] - e["at"] for e in stream
               if e["type"] == "sprint.phase" or sprint_done(e) for i in range(3))
    print(f"latest phase change arrived {late:.0f} ms after its instant")
    assert late < 10_000
