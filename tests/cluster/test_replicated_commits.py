"""A commit is published and acknowledged only once a replica has it (WAIT),
so a master that dies with a write its replica never got takes nothing with
it that anybody saw. Two `ensemble serve` processes on a real Redis Cluster
(3 masters, 3 replicas, of this module: the last test kills a master).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
import redis

from ensemble.backends.redis_keys import Keys
from ensemble.client import Client, ClientError, ConnectionLost
from ensemble.wire.packet import Packet
from tests.support.redis_cluster import RedisCluster

pytestmark = pytest.mark.timeout(180)

KEYS = Keys("ensemble")


def history_length(redis_cluster: RedisCluster, port: int, room_id: str) -> int:
    return int(redis_cluster.cli(port, "xlen", KEYS.room(room_id, "h:room")))


def waits_on(redis_cluster: RedisCluster, port: int) -> int:
    """WAIT commands the node ran."""
    for line in redis_cluster.cli(port, "info", "commandstats").splitlines():
        if line.startswith("cmdstat_wait:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


def unreplicated(server: Any) -> float:
    with urllib.request.urlopen(f"{server.http}/metrics", timeout=5) as reply:
        for line in reply.read().decode().splitlines():
            if line.startswith("ensemble_redis_unreplicated_commits_total "):
                return float(line.split()[1])
    raise AssertionError("no ensemble_redis_unreplicated_commits_total in /metrics")


async def until(check: Callable[[], bool], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not await asyncio.to_thread(check):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def receive_until(client: Client, frames: list[dict[str, Any]], text: str,
                        within: float = 30.0) -> None:
    """Append what `client` receives to `frames` until the chat `text` (perhaps
    there already)."""
    async with asyncio.timeout(within):
        while not any(f.get("text") == text for f in frames):
            frames.append(await client.next_event(within))


async def test_a_commit_no_replica_confirms_in_time_is_still_acknowledged_and_counted(
    servers, redis_cluster
):
    servers.start(1, env={"ENSEMBLE_REDIS_WAIT_MS": "50"})
    server = servers.servers[0]
    room = await servers.create(server)
    mia = await servers.join(room, "Mia", server, mentor=True)
    frames: list[dict[str, Any]] = []
    master = redis_cluster.owner_of_room(room["room_id"])
    replica = redis_cluster.replica_of(master)

    waits = waits_on(redis_cluster, master)
    await mia.request("chat.send", text="replicated")
    await receive_until(mia, frames, "replicated")
    assert waits_on(redis_cluster, master) > waits  # the room's master ran the WAIT
    assert unreplicated(server) == 0

    replica.pause()
    try:
        started = time.monotonic()
        await mia.request("chat.send", text="unreplicated", timeout=5)
        await receive_until(mia, frames, "unreplicated", within=5)
        took = time.monotonic() - started
    finally:
        replica.resume()
    assert unreplicated(server) == 1
    assert took < 2, took  # the WAIT's 50 ms, not the replica's pause
    await asyncio.to_thread(redis_cluster.wait_ok)


async def test_commits_published_out_of_order_reach_members_once_and_in_order(
    servers, redis_cluster
):
    # Publication after WAIT may swap two processes' commits on a room: here
    # the first waits 3 s for its replica, the second 50 ms, so the second is
    # published first. Sessions catch the first up from the history and
    # drop its late publication.
    slow = servers.start(1, env={"ENSEMBLE_REDIS_WAIT_MS": "3000"})[0]
    fast = servers.start(1, env={"ENSEMBLE_REDIS_WAIT_MS": "50"})[1]
    room = await servers.create(slow)
    room_id = room["room_id"]
    members = {
        "Mia": await servers.join(room, "Mia", slow, mentor=True),
        "Pat": await servers.join(room, "Pat", fast),
    }
    frames: dict[str, list[dict[str, Any]]] = {name: [] for name in members}
    await members["Mia"].request("chat.send", text="hello")
    for name, client in members.items():
        await receive_until(client, frames[name], "hello")

    master = redis_cluster.owner_of_room(room_id)
    replica = redis_cluster.replica_of(master)
    replica.pause()  # no WAIT is satisfied meanwhile
    try:
        length = history_length(redis_cluster, master, room_id)
        first = asyncio.create_task(members["Mia"].request("chat.send", text="first"))
        await until(lambda: history_length(redis_cluster, master, room_id) > length)
        await members["Pat"].request("chat.send", text="second", timeout=5)
        # Published before "first" was: a member on the fast process has it now.
        await receive_until(members["Pat"], frames["Pat"], "second", within=5)
        assert not first.done()
        await first
    finally:
        replica.resume()
    for name, client in members.items():
        await receive_until(client, frames[name], "second")
    for name in members:
        events = [f for f in frames[name] if f.get("stream") == "room"]
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), (name, seqs)
        texts = [e["text"] for e in events if e["type"] == "chat.message"]
        assert texts == ["hello", "first", "second"], (name, texts)
    assert unreplicated(slow) == 1 and unreplicated(fast) == 1
    await asyncio.to_thread(redis_cluster.wait_ok)


async def test_a_commit_whose_process_died_before_publishing_it_still_reaches_members(
    servers, redis_cluster
):
    # The process that commits waits (its WAIT) for a paused replica, and is
    # killed meanwhile: its commit is made, its publication never sent. No
    # other event follows, yet the member on the other process gets it: its
    # scheduler sweep publishes what the dead process left. (Long leases: the
    # dead process's member is not removed meanwhile, an event that would
    # bring the missed one along.)
    leases = {"ENSEMBLE_PRESENCE_TTL_MS": "60000"}
    doomed = servers.start(1, env={**leases, "ENSEMBLE_REDIS_WAIT_MS": "60000"})[0]
    other = servers.start(1, env=leases)[1]
    room = await servers.create(doomed)
    room_id = room["room_id"]
    mia = await servers.join(room, "Mia", doomed, mentor=True)
    pat = await servers.join(room, "Pat", other)
    frames: list[dict[str, Any]] = []
    await mia.request("chat.send", text="before")
    await receive_until(pat, frames, "before")

    master = redis_cluster.owner_of_room(room_id)
    replica = redis_cluster.replica_of(master)
    length = history_length(redis_cluster, master, room_id)
    replica.pause()  # until the end: the dead process's WAIT must not end first
    try:
        sending = asyncio.create_task(mia.request("chat.send", text="stranded", timeout=120))
        await until(lambda: history_length(redis_cluster, master, room_id) > length)
        doomed.kill()  # committed; its WAIT still waiting, its publish never sent
        with contextlib.suppress(ConnectionLost):  # its server is gone
            await sending
        started = time.monotonic()
        await receive_until(pat, frames, "stranded", within=15)
        print(f"published for the dead process after {time.monotonic() - started:.1f} s")
    finally:
        replica.resume()
    await pat.request("chat.send", text="after")
    await receive_until(pat, frames, "after")
    texts = [f["text"] for f in frames if f.get("type") == "chat.message"]
    assert texts == ["before", "stranded", "after"]
    # Nothing is left waiting in the slot's index.
    index = KEYS.index(room_id, "unpublished")
    assert redis_cluster.cli(master, "zscore", index, room_id).strip() == ""


async def test_a_master_dying_with_a_commit_its_replica_lacks_loses_nothing_anybody_saw(
    servers, redis_cluster
):
    # A WAIT far longer than the test: the replica's pause, not a timeout,
    # is what holds the commit back.
    first, second = servers.start(2, env={"ENSEMBLE_REDIS_WAIT_MS": "60000"})
    room = await servers.create(first)
    room_id = room["room_id"]
    members = {
        "Mia": await servers.join(room, "Mia", [first, second], mentor=True),
        "Pat": await servers.join(room, "Pat", [second, first]),
    }
    frames: dict[str, list[dict[str, Any]]] = {name: [] for name in members}
    mia = members["Mia"]
    await mia.request("chat.send", text="before")
    for name, client in members.items():
        await receive_until(client, frames[name], "before")

    master = redis_cluster.owner_of_room(room_id)
    replica = redis_cluster.replica_of(master)
    length = history_length(redis_cluster, master, room_id)
    # The replica stops, and its link to the master is cut: what the master
    # commits now never reaches it (a pause alone would not do: the bytes
    # would wait in its socket for it to go on).
    replica.pause()
    try:
        redis_cluster.cli(master, "client", "kill", "type", "replica")
        sending = asyncio.create_task(
            mia.request("chat.send", text="in flight", timeout=120)
        )
        # The master committed it (its replica did not get it) ...
        await until(lambda: history_length(redis_cluster, master, room_id) > length)
        # ... and dies with it.
        redis_cluster.node(master).kill()
    finally:
        replica.resume()
    await asyncio.to_thread(redis_cluster.wait_takeover, master)
    new_master = redis_cluster.owner_of_room(room_id)
    assert new_master == replica.port
    try:
        await sending
        acked = True
    except ClientError as error:
        assert error.code == "unavailable", error
        acked = False
    print(f"the chat in flight when its master died was {'acked' if acked else 'refused'}")
    # The dead master comes back as the new one's replica (so commits find
    # a replica again).
    await asyncio.to_thread(redis_cluster.node(master).restart)
    await asyncio.to_thread(redis_cluster.wait_ok)

    # The room goes on: its next event takes the seq the lost commit had.
    await mia.request("chat.send", text="after", timeout=30)
    for name, client in members.items():
        # Bounded: a member that saw the lost commit drops this one (same seq);
        # the checks below say so.
        with contextlib.suppress(TimeoutError):
            await receive_until(client, frames[name], "after", within=10)

    stored = redis.Redis(port=new_master)
    try:
        entries = stored.xrange(KEYS.room(room_id, "h:room"))
    finally:
        stored.close()
    history = {p.seq: p.message() for p in (Packet.from_bytes(f[b"p"]) for _, f in entries)}
    texts = [e.get("text") for e in history.values() if e["type"] == "chat.message"]
    for name in members:
        events = [f for f in frames[name] if f.get("stream") == "room"]
        seqs = [e["seq"] for e in events]
        assert seqs == sorted(set(seqs)), (name, seqs)  # each seq once, in order
        for event in events:  # everything a member saw survived, as it saw it
            assert history.get(event["seq"]) == event, (name, event, history.get(event["seq"]))
        assert "after" in [e.get("text") for e in events]
    assert texts.count("after") == 1
    if acked:
        assert texts.count("in flight") == 1  # an acknowledged chat survived
    else:
        assert texts.count("in flight") <= 1
