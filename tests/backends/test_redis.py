"""What only the Redis backend promises: several processes on one Redis.

Two or three `RedisBackend` instances with the same key prefix stand for
processes; the redis-server is this suite's own, so it can be paused and killed.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import msgpack
import pytest
import redis.asyncio as aioredis

from ensemble.backends.base import BackendUnavailable
from ensemble.backends.redis import RedisBackend
from ensemble.core import Room
from ensemble.settings import Settings
from ensemble.wire.packet import Packet
from tests.support.redis_server import RedisServer

from .collect import Collector, eventually
from .rooms import PHASES, T0, disconnect, join, new_room, opened, request, tick

pytestmark = pytest.mark.timeout(60)

FAST = {"socket_timeout": 0.5, "ping_interval": 0.3, "reconnect_backoff": (0.02, 0.2)}


async def test_concurrent_commits_from_two_processes_lose_nothing(redis_factory):
    one, two, three = [await redis_factory() for _ in range(3)]
    room = new_room()
    room_id = room.state.id
    await one.create_room(room.state, room.opening())
    await one.transact(room_id, join("m", "mentor"))
    await two.transact(room_id, join("p"))
    heard = [Collector() for _ in range(3)]
    for backend, collector in zip((one, two, three), heard, strict=True):
        await backend.subscribe(room_id, collector)

    sends = [
        backend.transact(room_id, request(actor, "chat.send", {"text": f"{actor}-{i}"}))
        for i in range(50)
        for backend, actor in ((one, "m"), (two, "p"))
    ]
    outcomes = await asyncio.gather(*sends)
    assert all(o.error is None for o in outcomes)

    history = await three.history(room_id, "room", 0)
    assert history is not None
    assert [p.seq for p in history] == list(range(1, 103))
    chats = [p for p in history if p.type == "chat.message"]
    assert len(chats) == 100
    committed = sorted(Packet.of(o.events[0]).seq for o in outcomes)
    assert committed == [p.seq for p in chats]
    for collector in heard:
        assert await collector.wait_packets(100) == history[2:]


async def test_a_due_transition_fires_once_when_two_processes_tick(redis_factory):
    one, two = await redis_factory(), await redis_factory()
    rooms = [new_room() for _ in range(10)]
    for room in rooms:
        await one.create_room(room.state, room.opening())
        await one.transact(room.state.id, join("m", "mentor"))
        await one.transact(room.state.id, request("m", "sprint.start", {"phases": PHASES}))
    due = T0 + 60_000
    assert sorted(await two.due_rooms(due)) == sorted(r.state.id for r in rooms)

    ticks = [
        b.transact(r.state.id, tick(due + k)) for r in rooms for b in (one, two) for k in (0, 1)
    ]
    outcomes = await asyncio.gather(*ticks)

    fired = [e for o in outcomes for e in o.events if e.type == "sprint.phase"]
    assert len(fired) == len(rooms)
    for room in rooms:
        history = await one.history(room.state.id, "room", 0)
        assert [p.type for p in history].count("sprint.phase") == 2  # start + one advance
        assert [p.seq for p in history] == list(range(1, len(history) + 1))
    assert await one.due_rooms(due + 1) == []
    assert await two.next_deadline() == T0 + 90_000


async def test_subscription_follows_the_local_count(redis_factory, redis_server):
    backend = await redis_factory()
    room = new_room()
    await backend.create_room(room.state, room.opening())
    channel = f"{backend._prefix}:{{{room.state.id}}}:ch"
    first, second = Collector(), Collector()
    async with aioredis.Redis.from_url(redis_server.url) as probe:

        async def subscribers() -> int:
            return dict(await probe.pubsub_shardnumsub(channel))[channel.encode()]

        await backend.subscribe(room.state.id, first)
        await backend.subscribe(room.state.id, second)
        assert await subscribers() == 1  # one channel subscription per process
        await backend.unsubscribe(room.state.id, first)
        assert await subscribers() == 1
        await backend.unsubscribe(room.state.id, second)

        async def none_left() -> bool:
            return await subscribers() == 0

        await eventually(none_left)
        await backend.subscribe(room.state.id, first)
        assert await subscribers() == 1


async def test_a_lapsed_lease_is_reported_once(redis_factory):
    ttl = 300
    dying, one, two = [await redis_factory(presence_ttl_ms=ttl) for _ in range(3)]
    room = new_room()
    await one.create_room(room.state, room.opening())
    room_id = room.state.id
    await dying.refresh_presence("dying", {room_id: ["c1", "c2", "c3"]})
    await dying.refresh_presence("dying", {room_id: ["c1", "c2"]})  # c3 closed normally

    reported: list[str] = []
    async with asyncio.timeout(10):
        while len(reported) < 2:
            await one.refresh_presence("one", {room_id: ["c9"]})
            for orphans in await asyncio.gather(
                one.orphaned_connections(), two.orphaned_connections()
            ):
                assert set(orphans) <= {room_id}
                reported += orphans.get(room_id, [])
            await asyncio.sleep(ttl / 10_000)
    assert sorted(reported) == ["c1", "c2"]
    assert await one.orphaned_connections() == {}
    assert await two.orphaned_connections() == {}  # c9 is kept alive by "one"


async def test_a_node_that_leaves_a_room_drops_its_leases(redis_factory, redis_server):
    backend = await redis_factory(presence_ttl_ms=60_000)
    room = new_room()
    room_id = room.state.id
    await backend.refresh_presence("n1", {room_id: ["c1"]})
    await backend.refresh_presence("n1", {})
    async with aioredis.Redis.from_url(redis_server.url) as probe:
        assert await probe.zcard(f"{backend._prefix}:{{{room_id}}}:leases") == 0


async def test_paused_redis_is_unavailable_then_recovers(own_redis, own_redis_factory):
    backend = await own_redis_factory(**FAST)
    room = new_room()
    room_id = room.state.id
    await backend.create_room(room.state, room.opening())
    await backend.transact(room_id, join("m", "mentor"))
    heard = Collector()
    await backend.subscribe(room_id, heard)
    assert await backend.ready()

    own_redis.pause()
    try:
        for call in (
            backend.transact(room_id, request("m", "chat.send", {"text": "lost?"})),
            backend.load_room(room_id),
            backend.history(room_id, "room", 0),
            backend.due_rooms(T0),
        ):
            started = time.monotonic()
            with pytest.raises(BackendUnavailable):
                await call
            assert time.monotonic() - started < 3
        assert not await backend.ready()
        with pytest.raises(BackendUnavailable):
            await backend.subscribe(new_room().state.id, Collector())

        async def reader_noticed() -> bool:
            return not backend.broker.live()

        # The reader notices the silent connection and starts reconnecting.
        await eventually(reader_noticed, within=10)
    finally:
        own_redis.resume()

    await heard.wait_for(lambda c: c.gaps >= 1, within=10)
    assert await backend.ready()
    await backend.transact(room_id, request("m", "chat.send", {"text": "back"}))
    got = await heard.wait_packets(1)
    assert got[-1].type == "chat.message"
    assert backend.broker.rooms() == {room_id}  # the failed subscription left nothing
    # The commit answered `unavailable` reached Redis when it woke up, and made nothing.
    texts = [json.loads(p.json)["text"]
             for p in await backend.history(room_id, "room", 0)
             if p.type == "chat.message"]
    assert texts == ["back"]


async def test_restarted_redis_resubscribes_and_tells_listeners(own_redis, own_redis_factory):
    writer = await own_redis_factory(**FAST)
    reader = await own_redis_factory(**FAST)
    room = new_room()
    room_id = room.state.id
    await writer.create_room(room.state, room.opening())
    heard = Collector()
    await reader.subscribe(room_id, heard)

    own_redis.kill()
    with pytest.raises(BackendUnavailable):
        await writer.transact(room_id, join("m", "mentor"))
    assert not await writer.ready()
    own_redis.start()

    await heard.wait_for(lambda c: c.gaps >= 1, within=10)
    assert await writer.ready()
    # No persistence: the room is gone with the old server; create it again.
    await writer.create_room(*opened(new_room(room_id=room_id)))
    await writer.transact(room_id, join("m", "mentor"))
    got = await heard.wait_packets(1)
    assert [(p.type, p.seq) for p in got] == [("member.joined", 1)]


async def test_a_process_starts_while_redis_is_down(own_redis, own_redis_factory):
    own_redis.kill()
    backend = await own_redis_factory(**FAST)
    assert not await backend.ready()
    with pytest.raises(BackendUnavailable):
        await backend.create_room(*opened(new_room()))
    own_redis.start()
    await eventually(backend.ready, within=10)
    room = new_room()
    await backend.create_room(room.state, room.opening())
    heard = Collector()
    async with asyncio.timeout(10):
        while True:  # the reader connects on its own schedule
            try:
                await backend.subscribe(room.state.id, heard)
                break
            except BackendUnavailable:
                await asyncio.sleep(0.05)
    await backend.transact(room.state.id, join("m", "mentor"))
    assert len(await heard.wait_packets(1)) == 1


def busy_room() -> Room:
    """A room after a little of everything: a sprint, goals, a raised hand,
    feedback, the metronome."""
    room = new_room()
    for command in (
        join("m", "mentor"),
        join("p"),
        request("m", "sprint.start", {"phases": PHASES}),
        request("p", "goal.set", {"text": "scales"}),
        request("p", "hand.raise"),
        request("m", "comment.send", {"text": "ok", "to": "p", "private": True}),
        request("p", "reaction.send", {"emoji": "👏", "to": "m"}),
        request("m", "tempo.start"),
    ):
        assert command(room).error is None
    return room


def test_stored_state_is_msgpack_of_to_dict():
    from ensemble.backends.stored import dump_state

    room = busy_room()
    assert msgpack.unpackb(dump_state(room.state), raw=False) == room.state.to_dict()
    assert dump_state(room.state) == msgpack.packb(room.state.to_dict(), use_bin_type=True)


def test_stored_state_loads_back_as_it_was_even_with_a_field_typed_otherwise():
    from ensemble.backends.stored import dump_state, load_state
    from ensemble.core.state import RoomState

    room = busy_room()
    assert load_state(dump_state(room.state)) == room.state
    # Written by a version that kept a field in another type than this one
    # declares: read the general way, not refused.
    data = room.state.to_dict()
    data["tempo"]["bpm"] = "60"
    loaded = load_state(msgpack.packb(data, use_bin_type=True))
    assert loaded == RoomState.from_dict(data)
    assert loaded.tempo.bpm == "60"
    assert loaded.members == room.state.members


async def test_deleting_a_room_leaves_no_key_even_of_forgotten_members(redis_factory, redis_server):
    backend = await redis_factory()
    room = new_room(retention_ms=1)
    room.state.limits.left_kept = 0  # members who leave are forgotten at once
    room_id = room.state.id
    await backend.create_room(room.state, room.opening())
    await backend.transact(room_id, join("m", "mentor"))
    await backend.transact(room_id, join("p"))
    await backend.transact(
        room_id, request("m", "comment.send", {"text": "x", "to": "p", "private": True})
    )
    await backend.transact(room_id, disconnect(["c-p"], T0))
    await backend.transact(room_id, tick(T0 + 60_000))  # p's grace is over: forgotten
    loaded = await backend.load_room(room_id)
    assert loaded is not None and "p" not in loaded.state.members
    await backend.delete_room(room_id)
    client = aioredis.Redis(host="127.0.0.1", port=redis_server.port)
    try:
        assert await client.keys(f"*{{{room_id}}}*") == []
    finally:
        await client.aclose()


async def test_a_stall_is_held_against_no_lease_but_a_dead_node_still_lapses(
    own_redis, own_redis_factory
):
    ttl = 600
    alive, reaper = [await own_redis_factory(presence_ttl_ms=ttl, **FAST) for _ in range(2)]
    room = new_room()
    room_id = room.state.id
    await alive.refresh_presence("alive", {room_id: ["c1"]})
    await reaper.refresh_presence("dead", {room_id: ["c2"]})  # never renewed again

    own_redis.pause()
    await asyncio.sleep(ttl * 3 / 1000)  # the stall: both leases are past their expiry
    own_redis.resume()

    # The reaper comes first after the stall: nobody lapsed during it.
    assert await reaper.orphaned_connections() == {}
    await alive.refresh_presence("alive", {room_id: ["c1"]})
    # The dead node's lease lapses a lease after the stall; the live one never does.
    reported: list[str] = []
    async with asyncio.timeout(10):
        while not reported:
            await alive.refresh_presence("alive", {room_id: ["c1"]})
            reported += (await reaper.orphaned_connections()).get(room_id, [])
            await asyncio.sleep(ttl / 10_000)
    assert reported == ["c2"]


async def test_continuity_tells_when_redis_lost_its_data(redis_factory, redis_server):
    backend = await redis_factory()
    assert await backend.continuity() is True
    assert await backend.ready() is True
    async with aioredis.Redis.from_url(redis_server.url) as probe:
        await probe.delete(f"{backend._prefix}:run")  # as a flush or an empty restart does
    assert await backend.ready() is False  # not ready until the loss was noticed
    assert await backend.continuity() is False  # told once...
    assert await backend.ready() is True
    assert await backend.continuity() is True  # ...then the new marker holds


async def test_processes_share_the_first_generated_signing_key(redis_factory):
    one, two = await redis_factory(), await redis_factory()
    assert await one.shared_key("first") == "first"
    assert await two.shared_key("second") == "first"
    assert await one.shared_key("third") == "first"


async def test_rooms_of_the_global_index_layout_move_to_the_per_slot_indexes(
    redis_factory, redis_server
):
    """A Redis written by the version with one schedule, one public set and one
    presence set: its rooms are ticked, listed and reaped after the upgrade."""
    old = await redis_factory()
    room = new_room()
    room_id = room.state.id
    await old.create_room(room.state, room.opening())
    await old.transact(room_id, join("m", "mentor"))
    async with aioredis.Redis.from_url(redis_server.url) as probe:
        keys = [k.decode() for k in await probe.keys(f"{old._prefix}:*:idx:*")]
        for key in keys:  # back to what the old version wrote
            await probe.delete(key)
        await probe.zadd(f"{old._prefix}:schedule", {room_id: T0 + 5})
        await probe.sadd(f"{old._prefix}:public", room_id)
        upgraded = await redis_factory()
        assert await upgraded.due_rooms(T0 + 5) == []
        assert await upgraded.continuity()
        assert await upgraded.due_rooms(T0 + 5) == [room_id]
        assert [r["room_id"] for r in await upgraded.list_rooms()] == [room_id]
        assert not await probe.exists(f"{old._prefix}:schedule", f"{old._prefix}:public")


async def test_leasing_one_room_touches_that_room_only(redis_factory, redis_server):
    backend = await redis_factory(presence_ttl_ms=60_000)
    first, second = new_room(), new_room()
    await backend.refresh_presence("n1", {first.state.id: ["c1"]})
    await backend.lease_room("n1", second.state.id, ["c2", "c3"])
    async with aioredis.Redis.from_url(redis_server.url) as probe:
        def leases(room_id: str) -> Any:
            return probe.zcard(f"{backend._prefix}:{{{room_id}}}:leases")

        assert await leases(first.state.id) == 1  # the other room's lease stays
        assert await leases(second.state.id) == 2
        # The next heartbeat knows the room leased in between: without it, it goes.
        await backend.refresh_presence("n1", {first.state.id: ["c1"]})
        assert await leases(second.state.id) == 0


async def test_a_process_never_judges_a_command_on_an_old_copy_of_the_room(redis_factory):
    """Each process remembers the version it last saw and runs commands on it
    without reading Redis; another process's commit in between must not let an
    old copy refuse, accept or number anything."""
    one, two = await redis_factory(), await redis_factory()
    room = new_room()
    room_id = room.state.id
    await one.create_room(room.state, room.opening())
    await one.transact(room_id, join("m", "mentor"))
    await one.transact(room_id, join("q"))
    await one.transact(room_id, join("p"))  # "one" has seen this version
    await two.transact(room_id, request("q", "hand.raise"))  # q takes the turn
    await two.transact(room_id, request("p", "hand.raise"))  # p waits
    # On one's old copy p has no hand up, and lowering it would be refused.
    lowered = await one.transact(room_id, request("p", "hand.lower"))
    assert lowered.error is None
    await two.transact(room_id, request("p", "hand.raise"))
    assert (await one.transact(room_id, request("p", "hand.lower"))).error is None
    # A write from an old copy is refused by the commit and run again: seqs stay gapless.
    await two.transact(room_id, request("m", "chat.send", {"text": "from two"}))
    chat = await one.transact(room_id, request("m", "chat.send", {"text": "from one"}))
    history = await one.history(room_id, "room", 0)
    assert history is not None
    assert [p.seq for p in history] == list(range(1, len(history) + 1))
    assert history[-1] == Packet.of(chat.events[0])


async def test_a_redis_with_a_password_is_reached_by_commands_and_pub_sub() -> None:
    """The credentials of the URL reach every connection: redis-py's for
    commands, the lean one for scripts (backends/redis_commands.py) and the
    callback-read pub/sub link (backends/redis_pubsub.py)."""
    server = RedisServer(args=("--requirepass", "s3 cret"))
    server.start()
    backends = []
    try:
        url = f"redis://:s3%20cret@127.0.0.1:{server.port}/0"
        backend = RedisBackend(Settings(redis_url=url), prefix=f"t{os.getpid()}")
        backends.append(backend)
        await backend.start()
        room = new_room()
        room_id = room.state.id
        await backend.create_room(room.state, room.opening())
        heard = Collector()
        await backend.subscribe(room_id, heard)
        await backend.transact(room_id, join("m", "mentor"))
        assert (await heard.wait_packets(1))[0].type == "member.joined"

        wrong = RedisBackend(Settings(redis_url=url.replace("s3%20cret", "nope")), prefix="w")
        backends.append(wrong)
        await wrong.start()
        with pytest.raises(BackendUnavailable):
            await wrong.subscribe(room_id, Collector())
        with pytest.raises(BackendUnavailable):
            await wrong.transact(room_id, join("p"))
    finally:
        for each in backends:
            await each.close()
        server.cleanup()


async def test_a_room_other_processes_write_is_read_before_each_command(redis_factory) -> None:  # type: ignore[no-untyped-def]
    """A process runs a command on the room as it committed it last; once that
    copy proved stale (another process wrote), it reads the room first for a
    while instead of paying a refused commit each time."""
    one, two = await redis_factory(), await redis_factory()
    room = new_room()
    room_id = room.state.id
    await one.create_room(room.state, room.opening())
    await one.transact(room_id, join("m", "mentor"))
    writes: list[int] = []
    write = one.store._write

    async def counted(*args: Any, **kwargs: Any) -> Any:
        writes.append(1)
        return await write(*args, **kwargs)

    one.store._write = counted
    chat = request("m", "chat.send", {"text": "hi"})
    await one.transact(room_id, chat)
    assert len(writes) == 1  # its own copy was current: one commit, no read
    await two.transact(room_id, chat)
    await one.transact(room_id, chat)
    assert len(writes) == 3  # a stale copy: refused, then read and committed
    await two.transact(room_id, chat)
    await one.transact(room_id, chat)
    assert len(writes) == 4  # known to be shared: read first, committed at once
    history = await one.history(room_id, "room", 0)
    assert [p.seq for p in history] == list(range(1, len(history) + 1))
