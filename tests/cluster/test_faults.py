"""Faults of the shared parts: Redis stalls, Redis restarted empty, a room or a
member lost under open sockets, and a process dying without ENSEMBLE_SECRET.

Real redis-server and `ensemble serve --redis` processes; the clients are the
client library's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgpack
import pytest
import redis.asyncio as aioredis

from ensemble.backends.redis_keys import DUE, Keys
from ensemble.client import Client, ClientError, ConnectionLost
from ensemble.wire.packet import Packet
from tests.support.redis_server import RedisServer

from .conftest import Cluster
from .streams import collect_until

pytestmark = pytest.mark.timeout(120)

STALL_S = 5.0


def chat_is(text: str):  # type: ignore[no-untyped-def]
    return lambda e: e.get("type") == "chat.message" and e.get("text") == text


def went_away(member_ids: set[str]):  # type: ignore[no-untyped-def]
    """Events that take one of these members out of the room or mark it disconnected."""

    def check(e: dict[str, Any]) -> bool:
        if e.get("member_id") not in member_ids:
            return False
        return e.get("type") == "member.left" or (
            e.get("type") == "member.status" and e.get("connected") is False
        )

    return check


async def readyz(url: str) -> int:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{url}/readyz", timeout=5)).status_code


async def wait_until(probe, within: float = 20.0, step: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(within):
        while not await probe():  # noqa: ASYNC110
            await asyncio.sleep(step)


async def lease_margins(url: str, room_id: str) -> list[float]:
    """Seconds each lease of the room has left, by Redis's own clock."""
    async with aioredis.Redis.from_url(url) as probe:
        seconds, micros = await probe.time()
        now = seconds * 1000 + micros // 1000
        leases = await probe.zrange(f"ensemble:{{{room_id}}}:leases", 0, -1, withscores=True)
    return [(score - now) / 1000 for _, score in leases]


async def touched_since_now(url: str, room_id: str, within: float = 10.0) -> None:
    """Wait until a process ran a lease call on the room (its lease clock moved on)."""
    async with aioredis.Redis.from_url(url) as probe:
        seconds, micros = await probe.time()
        now = seconds * 1000 + micros // 1000
        async with asyncio.timeout(within):
            while int(await probe.get(f"ensemble:{{{room_id}}}:lease_clock") or 0) < now:  # noqa: ASYNC110
                await asyncio.sleep(0.01)


@pytest.fixture
async def empty_redis_cluster() -> AsyncIterator[Cluster]:
    """A cluster on a Redis without persistence: a restart loses everything."""
    redis = RedisServer(persist=False)
    redis.start()
    helper = Cluster(redis)
    try:
        yield helper
    finally:
        await helper.close()
        redis.cleanup()


# -- A. a Redis stall reaps nobody -------------------------------------------------


async def test_a_five_second_redis_stall_under_load_reaps_no_live_connection(cluster):
    """Leases last 1.5 s here; Redis stops for 5 s while 20 members keep sending.
    Afterwards nobody is marked disconnected or leaves, and no socket was lost."""
    servers = cluster.start(2)
    room = await cluster.create(servers[0])
    room_id = room["room_id"]
    mia = await cluster.join(room, "Mia", servers[0], mentor=True)
    members: list[Client] = []
    for batch in range(2):
        members += await asyncio.gather(*(
            cluster.join(room, f"P{batch * 10 + i}", servers[i % 2]) for i in range(10)
        ))  # fmt: skip
    everyone = [mia, *members]
    await mia.request("chat.send", text="before")
    await asyncio.gather(*(collect_until(c, chat_is("before"), 30) for c in everyone))
    assert len(await lease_margins(cluster.redis.url, room_id)) == 21

    stop = asyncio.Event()
    refused = 0

    async def chatter(client: Client) -> None:
        nonlocal refused
        n = 0
        while not stop.is_set():
            n += 1
            try:
                await client.request("chat.send", text=f"{client.member_id}-{n}", timeout=3)
            except (ClientError, ConnectionLost, TimeoutError):
                refused += 1
            await asyncio.sleep(0.2)

    load = [asyncio.create_task(chatter(m)) for m in members]
    try:
        await asyncio.sleep(1)  # load before the stall
        cluster.redis.pause()
        try:
            await asyncio.sleep(STALL_S)  # the stall itself
        finally:
            cluster.redis.resume()
        resumed = time.monotonic()
        # Once a process first touched the room's leases after the stall, every
        # lease still has time left: nobody may reap.
        await touched_since_now(cluster.redis.url, room_id)
        margins = await lease_margins(cluster.redis.url, room_id)
        print(f"\nlease margins {time.monotonic() - resumed:.2f} s after the stall:"
              f" min {min(margins):.2f} s, max {max(margins):.2f} s over {len(margins)} leases")
        assert len(margins) == 21 and min(margins) > 0
        # Two lease lifetimes more under load: any wrongly lapsed lease would be reaped.
        await asyncio.sleep(3.0)
    finally:
        stop.set()
        await asyncio.gather(*load)
    await mia.request("chat.send", text="after")
    frames = await asyncio.gather(*(collect_until(c, chat_is("after"), 30) for c in everyone))

    ids = {c.member_id for c in everyone}
    gone = [e for f in frames for e in f if went_away(ids)(e)]
    print(f"requests refused during the stall: {refused}; members marked gone: {len(gone)}")
    assert refused > 0  # the stall was real
    assert gone == []
    assert all(c.closed is None and len(c.welcomes) == 1 for c in everyone)
    assert len(await lease_margins(cluster.redis.url, room_id)) == 21


# -- B. sockets of a lost room or a lost member are closed --------------------------


async def test_a_request_to_a_room_that_vanished_closes_the_socket_with_4103(cluster):
    servers = cluster.start(1)
    room = await cluster.create(servers[0])
    pat = await cluster.join(room, "Pat", servers[0])
    async with aioredis.Redis.from_url(cluster.redis.url) as probe:
        await probe.delete(f"ensemble:{{{room['room_id']}}}:state")

    with pytest.raises(ClientError) as refused:
        await pat.request("chat.send", text="anyone?")
    assert refused.value.code == "not_found"
    async with asyncio.timeout(10):
        async for _ in pat.events():
            pass
    assert pat.closed is not None and pat.closed.code == 4103  # terminal: no reconnect
    assert len(pat.welcomes) == 1


async def test_a_socket_the_room_took_for_gone_reconnects_and_is_back(cluster):
    """A lease taken for lapsed under an open socket: the member shows as
    disconnected, so the socket closes with 4001 and the client comes back at
    once, resuming; it is never left as a zombie."""
    servers = cluster.start(2)
    room = await cluster.create(servers[0])
    mia = await cluster.join(room, "Mia", servers[0], mentor=True)
    pat = await cluster.join(room, "Pat", servers[1])
    # Pat's process stops for twice a lease (a long GC pause, CPU starvation):
    # the other process takes Pat's lease for lapsed while Pat's socket stays open.
    os.kill(servers[1].process.pid, signal.SIGSTOP)
    try:
        await mia.wait_for(
            lambda e: e["type"] == "member.status" and e["member_id"] == pat.member_id,
            timeout=20,
        )
    finally:
        os.kill(servers[1].process.pid, signal.SIGCONT)
    welcome = await pat.wait_for(lambda e: e["type"] == "welcome", timeout=20)
    assert welcome["resumed"] is True and welcome["member_id"] == pat.member_id
    assert pat.closed is None and len(pat.welcomes) == 2
    seen = await collect_until(
        mia, lambda e: e.get("type") == "member.status" and e["member_id"] == pat.member_id
        and e["connected"] is True,
    )  # fmt: skip
    statuses = [e["connected"] for e in seen
                if e.get("type") == "member.status" and e["member_id"] == pat.member_id]
    assert statuses == [True]
    await pat.request("chat.send", text="still here")
    await collect_until(mia, chat_is("still here"))


# -- C. Redis restarted empty --------------------------------------------------------


async def test_redis_restarted_empty_closes_every_socket_of_the_lost_rooms(empty_redis_cluster):
    cluster = empty_redis_cluster
    servers = cluster.start(2)
    room = await cluster.create(servers[0])
    mia = await cluster.join(room, "Mia", servers[0], mentor=True)
    idle = [await cluster.join(room, f"P{i}", servers[i % 2]) for i in range(4)]
    assert [await readyz(s.http) for s in servers] == [200, 200]

    cluster.redis.restart()  # no persistence: the room is gone
    # Nobody sends anything: the servers notice by themselves and tell everyone.
    for client in [mia, *idle]:
        async with asyncio.timeout(20):
            async for _ in client.events():
                pass
        assert client.closed is not None and client.closed.room_gone, client.closed
        assert len(client.welcomes) == 1  # terminal: no reconnect
    for server in servers:
        await wait_until(lambda s=server: _ready(s.http))
    # Ready again, the servers serve new rooms.
    fresh = await cluster.create(servers[1])
    pat = await cluster.join(fresh, "Pat", servers[0])
    await pat.request("chat.send", text="new room")


LOST = "the backend lost its data"  # the server's log line when it finds the loss


async def _ready(url: str) -> bool:
    return await readyz(url) == 200


async def test_readyz_is_503_until_the_server_knows_what_redis_lost(empty_redis_cluster):
    cluster = empty_redis_cluster
    (server,) = cluster.start(1, "--log-level", "info")
    room = await cluster.create(server)
    pat = await cluster.join(room, "Pat", server)
    assert await readyz(server.http) == 200
    async with aioredis.Redis.from_url(cluster.redis.url) as probe:
        await probe.flushall()  # the same as a restart without persistence
        # Right away /readyz knows: not ready, unless the presence pass (every
        # 0.5 s here) happened to find the loss and deal with it meanwhile.
        status = await readyz(server.http)
        assert status == 503 or (status == 200 and LOST in server.log_path.read_text()), status
    async with asyncio.timeout(20):
        async for _ in pat.events():
            pass
    assert pat.closed is not None and pat.closed.code == 4103
    await wait_until(lambda: _ready(server.http))


# -- E. a shared signing key without ENSEMBLE_SECRET ---------------------------------


async def test_without_a_secret_a_token_of_a_dead_process_works_on_another(redis_server):
    cluster = Cluster(redis_server)
    try:
        cluster.start(2, env={"ENSEMBLE_SECRET": ""})  # no secret: a generated key
        victim, survivor = cluster.servers
        room = await cluster.create(victim)
        mia = await cluster.join(room, "Mia", survivor, mentor=True)
        pat = await cluster.join(room, "Pat", [victim, survivor])
        await pat.request("chat.send", text="before")
        await collect_until(mia, chat_is("before"))

        victim.kill()
        await pat.wait_for(lambda e: e["type"] == "welcome", timeout=30)
        assert pat.closed is None
        assert pat.welcomes[-1]["member_id"] == pat.welcomes[0]["member_id"]
        assert pat.welcomes[-1]["resumed"] is True
        await pat.request("chat.send", text="after")
        await collect_until(mia, chat_is("after"))
    finally:
        with contextlib.suppress(Exception):
            await cluster.close()


# -- D. a room nobody served for hours ------------------------------------------------

HOUR = 3_600_000


async def test_a_room_unserved_for_hours_catches_up_and_other_rooms_keep_ticking(cluster):
    """Every process down for ten hours while a one-second round robin ran: the
    room owes 36,000 turn limits. It catches up in one bounded step, and the
    scheduler keeps serving the other rooms meanwhile."""
    (server,) = cluster.start(1, "--grace-ms", str(20 * HOUR))
    stale = await cluster.create(server)
    room_id = stale["room_id"]
    mia = await cluster.join(stale, "Mia", server, mentor=True, reconnect=False)
    for i in range(3):
        await cluster.join(stale, f"P{i}", server, reconnect=False)
    await mia.request("turns.config", mode="round_robin", turn_ms=1000)
    server.kill()

    # Ten hours pass with nobody serving: the room's turn limit lies that far back.
    async with aioredis.Redis.from_url(cluster.redis.url) as probe:
        key = f"ensemble:{{{room_id}}}:state"
        state = msgpack.unpackb(await probe.hget(key, "data"), raw=False)
        ends_at = int(time.time() * 1000) - 10 * HOUR
        state["turns"]["started_at"], state["turns"]["ends_at"] = ends_at - 1000, ends_at
        await probe.hset(key, "data", msgpack.packb(state, use_bin_type=True))
        await probe.zadd(Keys("ensemble").index(room_id, DUE), {room_id: ends_at})
        (last_id, _), = await probe.xrevrange(f"ensemble:{{{room_id}}}:h:room", count=1)
    server.start()

    # Another room's sprint runs its phases on time all the same.
    other = await cluster.create(server, program={
        "phases": [{"name": f"F{i}", "kind": "focus", "duration_ms": 500} for i in range(2)],
        "rounds": 2,
    })  # fmt: skip
    ann = await cluster.join(other, "Ann", server, mentor=True)
    await ann.request("sprint.start")
    await ann.wait_for(
        lambda e: e["type"] == "sprint.changed" and e["sprint"]["state"] == "done", timeout=15
    )

    back = await Client.connect(server.ws, room=room_id, name="Mia", token=mia.token)
    cluster.rooms.clients.append(back)
    turns = back.welcomes[0]["snapshot"]["turns"]
    now = int(time.time() * 1000)
    assert now - 2000 <= turns["ends_at"] <= now + 1000  # the rotation is at now
    async with aioredis.Redis.from_url(cluster.redis.url) as probe:
        since = await probe.xrange(f"ensemble:{{{room_id}}}:h:room", min=f"({last_id.decode()}")
    events = [Packet.from_bytes(fields[b"p"]).message() for _, fields in since]
    changed = [e for e in events if e["type"] == "turns.changed"]
    assert 1 <= len(changed) <= 5, [e["type"] for e in events]  # not one per missed turn
    first = events[0]["seq"]
    assert [e["seq"] for e in events] == list(range(first, first + len(events)))
    await back.request("chat.send", text="back after ten hours")
