"""Two processes on Redis + PostgreSQL archive a session exactly once, even through kill -9."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest

from ensemble.client import ClientError
from tests.cluster.conftest import Cluster
from tests.support.people import auth, kept_sessions, new_person
from tests.support.postgres_server import PostgresServer

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
async def database(postgres: PostgresServer) -> AsyncIterator[str]:
    yield postgres.new_database()


async def count(url: str, sql: str, *args: object) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def start_two(cluster: Cluster, database: str) -> list:
    servers = []
    for node in ("n1", "n2"):
        servers += cluster.start(1, "--database", database, "--node-id", node)[-1:]
    return servers


async def test_a_session_closed_with_members_on_both_is_archived_once(cluster, database):
    one, two = await start_two(cluster, database)
    mira = await new_person(one.http, "Mira")
    ana = await new_person(two.http, "Ana")
    bo = await new_person(one.http, "Bo")
    room = await cluster.create(one, title="Two nodes")
    mentor = await cluster.join(room, "Mira", one, mentor=True, person_key=mira["person_key"])
    await cluster.join(room, "Ana", two, person_key=ana["person_key"])
    await cluster.join(room, "Bo", one, person_key=bo["person_key"])
    await cluster.join(room, "Guest", two)
    await mentor.request("room.close")

    # Each person's history, read through either process, has the session once.
    for person, server in ((ana, one), (bo, two), (mira, two)):
        [kept] = await kept_sessions(server.http, person, 1)
        assert kept["room_id"] == room["room_id"]
    await asyncio.sleep(0.5)  # a second archive, were there one, would land by now
    assert await count(database, "SELECT count(*) FROM sessions WHERE room_id = $1",
                       room["room_id"]) == 1
    assert await count(database, "SELECT count(*) FROM attendances WHERE room_id = $1",
                       room["room_id"]) == 3  # the guest is not kept


async def test_kill_9_during_the_archive_loses_nothing_and_archives_once(cluster, database):
    one, two = await start_two(cluster, database)
    by_node = {"n1": one, "n2": two}
    mira = await new_person(one.http, "Mira")
    ana = await new_person(two.http, "Ana")
    room = await cluster.create(one, title="Kill me")
    mentor = await cluster.join(room, "Mira", one, mentor=True, person_key=mira["person_key"])
    await cluster.join(room, "Ana", two, person_key=ana["person_key"])

    # Hold the sessions table: whichever process archives blocks inside its transaction.
    blocker = await asyncpg.connect(database)
    transaction = blocker.transaction()
    await transaction.start()
    await blocker.execute("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE")
    try:
        await mentor.request("room.close")
        deadline = time.monotonic() + 20
        archiving = None
        while archiving is None:
            assert time.monotonic() < deadline, "no process started archiving"
            archiving = await blocker.fetchval(
                "SELECT application_name FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND application_name LIKE 'ensemble-%'")
            if archiving is None:
                await asyncio.sleep(0.05)
        victim = by_node[archiving.removeprefix("ensemble-")]
        victim.kill()  # SIGKILL, mid-transaction
    finally:
        await transaction.rollback()
        await blocker.close()

    survivor = two if victim is one else one
    # The survivor is asked again when the dead process's lease on the archive runs out.
    [kept] = await kept_sessions(survivor.http, ana, 1, timeout=40)
    assert kept["room_id"] == room["room_id"]
    [kept] = await kept_sessions(survivor.http, mira, 1)
    assert kept["role"] == "mentor"
    await asyncio.sleep(0.5)
    assert await count(database, "SELECT count(*) FROM sessions WHERE room_id = $1",
                       room["room_id"]) == 1
    assert await count(database, "SELECT count(*) FROM attendances WHERE room_id = $1",
                       room["room_id"]) == 2


async def test_rooms_live_on_while_the_database_is_down_and_the_archive_catches_up(cluster):
    """The live path never waits on the database; the archive is retried until it lands."""
    postgres = PostgresServer()
    postgres.start()
    try:
        database = postgres.new_database()
        [server] = cluster.start(1, "--database", database)
        ana = await new_person(server.http, "Ana")
        room = await cluster.create(server, title="Through an outage")
        mentor = await cluster.join(room, "Mira", server, mentor=True)
        member = await cluster.join(room, "Ana", server, person_key=ana["person_key"])

        postgres.stop()
        await member.request("chat.send", text="still here")
        await mentor.wait_for(lambda e: e["type"] == "chat.message")
        async with httpx.AsyncClient(base_url=server.http) as http:
            reply = await http.get("/api/me", headers=auth(ana))
        assert reply.status_code == 503 and reply.json()["error"]["code"] == "unavailable"
        # With the invite, the door is enough: in as a guest while the key cannot be checked.
        late = await cluster.join(room, "Bo", server, person_key=ana["person_key"])
        assert late.person_id is None
        with pytest.raises(ClientError) as refused:  # a person key alone needs the database
            await cluster.join({"room_id": room["room_id"]}, "Cy", server,
                               person_key=ana["person_key"])
        assert refused.value.code == "unavailable"
        await mentor.request("room.close")  # its archive fails, and is asked for again

        postgres.start()
        [kept] = await kept_sessions(server.http, ana, 1, timeout=40)
        assert kept["room_id"] == room["room_id"]
    finally:
        postgres.cleanup()
