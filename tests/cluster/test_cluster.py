"""Two and three `ensemble serve --redis` processes serving one room as one would.

Members of a room are split across processes; every process runs its own
scheduler and presence loop, so these tests also show that due transitions
fire once and that a dead process's members are noticed by the survivors.
"""

from __future__ import annotations

import asyncio
import itertools

import httpx
import pytest
import redis.asyncio as aioredis

from ensemble.client import ClientError

from .streams import assert_gapless, collect_until

pytestmark = pytest.mark.timeout(120)


def chat_is(text: str):  # type: ignore[no-untyped-def]
    return lambda e: e.get("type") == "chat.message" and e.get("text") == text


def room_stream(frames):  # type: ignore[no-untyped-def]
    return [f for f in frames if f.get("stream") == "room"]


async def wait_for_log(server, text: str, within: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(within):
        while text not in server.log_path.read_text(errors="replace"):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def everyone_until(clients, predicate, within: float = 30.0):  # type: ignore[no-untyped-def]
    return await asyncio.gather(*(collect_until(c, predicate, within) for c in clients))


async def test_three_processes_one_identical_room_stream(cluster):
    servers = cluster.start(3)
    room = await cluster.create(servers[0])
    mia = await cluster.join(room, "Mia", servers[0], mentor=True)
    pat = await cluster.join(room, "Pat", servers[1])
    sam = await cluster.join(room, "Sam", servers[2], encoding="json")
    olly = await cluster.join(room, "Olly", servers[1], role="observer")
    everyone = (mia, pat, sam, olly)
    await mia.request("chat.send", text="start")
    await everyone_until(everyone, chat_is("start"))

    await asyncio.gather(
        *(c.request("chat.send", text=f"{c.member_id}-{i}") for c in everyone for i in range(10)),
        pat.request("hand.raise"),
        sam.request("hand.raise"),
        mia.request("timer.start", duration_ms=60_000, label="warm-up"),
        mia.request("tempo.set", bpm=90, beats_per_bar=3),
        sam.request("status.set", status="focus"),
    )
    await mia.request("chat.send", text="end")
    streams = [room_stream(f) for f in await everyone_until(everyone, chat_is("end"))]

    assert len(streams[0]) == 40 + 2 + 1 + 1 + 1 + 1
    assert_gapless(streams[0])
    for other in streams[1:]:
        assert other == streams[0]


async def test_phases_and_turn_limits_fire_once_across_processes(cluster):
    servers = cluster.start(3)
    phases = [
        {"name": "In", "kind": "checkin", "duration_ms": 400},
        {"name": "Play", "kind": "focus", "duration_ms": 400},
        {"name": "Out", "kind": "checkout", "duration_ms": 400},
    ]
    room = await cluster.create(servers[0], program={"phases": phases, "rounds": 2})
    mia = await cluster.join(room, "Mia", servers[0], mentor=True)
    pat = await cluster.join(room, "Pat", servers[1])
    sam = await cluster.join(room, "Sam", servers[2])
    everyone = (mia, pat, sam)
    await mia.request("turns.config", mode="queue", turn_ms=1000)
    await mia.request("chat.send", text="start")
    await everyone_until(everyone, chat_is("start"))

    await pat.request("hand.raise")
    await sam.request("hand.raise")
    await mia.request("sprint.start")

    def all_done(e) -> bool:  # type: ignore[no-untyped-def]
        return e.get("type") == "sprint.changed" and e["sprint"]["state"] == "done"

    streams = [room_stream(f) for f in await everyone_until(everyone, all_done)]
    # Let both turn limits (1 s each) fire as well, then mark the end.
    middles = await everyone_until(
        everyone, lambda e: e.get("type") == "turns.changed" and e["turns"]["current"] is None
    )
    await mia.request("chat.send", text="end")
    tails = await everyone_until(everyone, chat_is("end"))
    streams = [s + room_stream(m + t) for s, m, t in zip(streams, middles, tails, strict=True)]

    for other in streams[1:]:
        assert other == streams[0]
    stream = streams[0]
    assert_gapless(stream)
    # Check-in opens round 1 only, check-out closes round 2 only: 4 phases, each once.
    entered = [
        (e["sprint"]["round"], e["sprint"]["phase_index"])
        for e in stream
        if e["type"] == "sprint.phase"
    ]
    assert entered == [(1, 0), (1, 1), (2, 1), (2, 2)]
    assert sum(e["type"] == "sprint.phase" and e["actor"] is None for e in stream) == 3
    assert sum(all_done(e) for e in stream) == 1
    expiries = [e for e in stream if e["type"] == "turns.changed" and e["actor"] is None]
    assert [e["turns"]["current"] for e in expiries] == [sam.member_id, None]
    # Every timer agrees: each phase timer ends exactly one duration after it began.
    timers = [e["timer"] for e in stream if e["type"] == "sprint.phase"]
    for before, after in itertools.pairwise(timers):
        assert after["ends_at"] == before["ends_at"] + 400


async def test_fifty_hands_raised_at_once_on_two_processes(cluster):
    servers = cluster.start(2)
    room = await cluster.create(servers[0])
    mia = await cluster.join(room, "Mia", servers[0], mentor=True)
    members = []
    for batch in range(5):
        members += await asyncio.gather(
            *(
                cluster.join(room, f"P{batch * 10 + i}", servers[(batch * 10 + i) % 2])
                for i in range(10)
            )
        )
    everyone = [mia, *members]
    await mia.request("chat.send", text="go")
    await everyone_until(everyone, chat_is("go"))

    await asyncio.gather(*(m.request("hand.raise") for m in members))

    def all_hands(e) -> bool:  # type: ignore[no-untyped-def]
        if e.get("type") != "turns.changed":
            return False
        return len(e["turns"]["queue"]) + (e["turns"]["current"] is not None) == 50

    streams = [room_stream(f) for f in await everyone_until(everyone, all_hands)]
    for other in streams[1:]:
        assert other == streams[0]
    assert_gapless(streams[0])
    final = streams[0][-1]["turns"]
    order = [final["current"], *final["queue"]]
    assert sorted(order) == sorted(m.member_id for m in members)
    assert sum(e["type"] == "turns.changed" for e in streams[0]) == 50


async def test_a_members_rate_limit_holds_across_its_sockets_on_every_process(cluster):
    # Each process lets a member's socket send 6 frames at once; the room lets
    # the member 5 requests at once, wherever they come from.
    a, b = cluster.start(2, env={"ENSEMBLE_RATE_PER_S": "0.2", "ENSEMBLE_RATE_BURST": "5"})
    room = await cluster.create(a)
    mia = await cluster.join(room, "Mia", a, mentor=True)
    pat_a = await cluster.join(room, "Pat", a)
    pat_b = await cluster.join(room, "Pat", b, token=pat_a.token)  # the same member
    assert pat_b.member_id == pat_a.member_id

    async def send(client, text):  # type: ignore[no-untyped-def]
        try:
            await client.request("chat.send", text=text)
            return "ok"
        except ClientError as error:
            return error.code

    results = []
    for i in range(4):  # 8 requests, 4 through each process
        results += await asyncio.gather(send(pat_a, f"a{i}"), send(pat_b, f"b{i}"))
    assert results.count("ok") <= 6, results  # 5 at once, and 1 more at most meanwhile
    assert set(results) == {"ok", "rate_limited"}, results
    assert await send(mia, "the mentor is not held back") == "ok"


async def test_kill_9_mid_sprint_clients_fail_over_and_resume(cluster):
    victim, survivor = cluster.start(2, "--grace-ms", "60000")
    room = await cluster.create(survivor, program={
        "phases": [{"name": "Focus", "kind": "focus", "duration_ms": 60_000}], "rounds": 1,
    })  # fmt: skip
    mia = await cluster.join(room, "Mia", survivor, mentor=True)
    movers = [await cluster.join(room, f"Pat{i}", [victim, survivor]) for i in range(3)]
    ghost = await cluster.join(room, "Ghost", victim, reconnect=False)
    everyone = [mia, *movers]

    await mia.request("sprint.start")
    started = await everyone_until(everyone, lambda e: e.get("type") == "sprint.phase")
    ends_at = started[0][-1]["timer"]["ends_at"]
    await mia.request("chat.send", text="before")
    before = await everyone_until(everyone, chat_is("before"))

    # Every admitted connection holds a lease already (none waits for a heartbeat).
    await leases_written(cluster.redis.url, room["room_id"], count=5, within=0.5)
    victim.kill()
    for i in range(5):  # commits while the movers are away
        await mia.request("chat.send", text=f"during-{i}")
    await mia.request("chat.send", text="after")
    after = await everyone_until(everyone, chat_is("after"))

    streams = [room_stream(b + a) for b, a in zip(before, after, strict=True)]
    for mover, stream in zip(movers, streams[1:], strict=True):
        assert len(mover.welcomes) == 2 and mover.welcomes[-1]["resumed"] is True
        assert mover.welcomes[-1]["snapshot"]["timer"]["ends_at"] == ends_at
        assert stream == streams[0][-len(stream) :]  # same events, none lost or doubled
        assert_gapless(stream)
    assert_gapless(streams[0])

    # The survivor notices the dead process's connections once their leases lapse.
    gone = await collect_until(
        mia,
        lambda e: (
            e.get("type") == "member.status"
            and e["member_id"] == ghost.member_id
            and e["connected"] is False
        ),
        within=20,
    )
    assert not any(
        e.get("type") == "member.status" and e["member_id"] in {m.member_id for m in movers}
        and e["connected"] is False
        for e in gone
    )  # fmt: skip
    await mia.request("chat.send", text="still here")
    for mover in movers:
        await collect_until(mover, chat_is("still here"))


async def leases_written(url: str, room_id: str, count: int, within: float) -> None:
    async with aioredis.Redis.from_url(url) as probe:
        async with asyncio.timeout(within):
            while True:
                if await probe.zcard(f"ensemble:{{{room_id}}}:leases") >= count:
                    return
                await asyncio.sleep(0.05)


async def readyz(server) -> int:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{server.http}/readyz", timeout=5)).status_code


async def send_until_accepted(client, text: str, within: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(within):
        while True:
            try:
                await client.request("chat.send", text=text)
                return
            except ClientError as error:
                assert error.code == "unavailable"
                await asyncio.sleep(0.1)


async def test_redis_paused_then_restarted_without_restarting_servers(cluster, redis_server):
    servers = cluster.start(2)
    room = await cluster.create(servers[0])
    mia = await cluster.join(room, "Mia", servers[0], mentor=True)
    pat = await cluster.join(room, "Pat", servers[1])
    everyone = (mia, pat)
    await mia.request("chat.send", text="one")
    await everyone_until(everyone, chat_is("one"))

    redis_server.pause()
    try:
        with pytest.raises(ClientError) as refused:
            await mia.request("chat.send", text="lost")
        assert refused.value.code == "unavailable"
        assert [await readyz(s) for s in servers] == [503, 503]
    finally:
        redis_server.resume()
    await send_until_accepted(mia, "two")
    first = await everyone_until(everyone, chat_is("two"))

    redis_server.restart()  # kill -9 and start again (its append-only file keeps the data)
    assert mia.closed is None and pat.closed is None
    await send_until_accepted(pat, "three")
    second = await everyone_until(everyone, chat_is("three"))
    assert [await readyz(s) for s in servers] == [200, 200]
    assert all(c.closed is None for c in everyone)

    streams = [room_stream(a + b) for a, b in zip(first, second, strict=True)]
    assert streams[0] == streams[1]
    assert_gapless(streams[0])
    assert not any(e.get("text") == "lost" for e in streams[0])


async def test_a_connection_that_closes_while_redis_is_down_is_recorded_later(
    cluster, redis_server
):
    servers = cluster.start(2, "--grace-ms", "60000")
    room = await cluster.create(servers[0])
    mia = await cluster.join(room, "Mia", servers[0], mentor=True)
    pat = await cluster.join(room, "Pat", servers[1])
    redis_server.pause()
    try:
        await pat.close()  # its server cannot record the disconnect now...
        await wait_for_log(servers[1], "could not record")  # ...and says so
    finally:
        redis_server.resume()
    gone = await mia.wait_for(
        lambda e: e["type"] == "member.status" and e["member_id"] == pat.member_id, timeout=30
    )
    assert gone["connected"] is False
