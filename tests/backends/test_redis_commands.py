"""The lean connection for script calls (backends/redis_commands.py) on a real
redis-server: replies matched in order, failures as BackendUnavailable, and
back to work once Redis is."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import hiredis
import pytest

from ensemble.backends.base import BackendUnavailable
from ensemble.backends.redis_commands import Commands
from ensemble.backends.redis_pubsub import Endpoint
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def redis() -> AsyncIterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.cleanup()


def commands_for(server: RedisServer, db: int = 0, timeout: float = 0.5) -> Commands:
    return Commands(Endpoint("127.0.0.1", server.port), db, timeout)


async def test_many_calls_in_flight_each_get_their_own_reply(redis) -> None:  # type: ignore[no-untyped-def]
    commands = commands_for(redis)
    try:
        replies = await asyncio.gather(*(commands.call("ECHO", f"n{i}") for i in range(500)))
        assert replies == [f"n{i}".encode() for i in range(500)]
        error = await commands.call("INCR", "no", "such", "arity")
        assert isinstance(error, hiredis.ReplyError)  # returned, not raised
        assert await commands.call("PING") == b"PONG"  # and the connection goes on
    finally:
        await commands.close()


async def test_the_url_database_is_selected(redis) -> None:  # type: ignore[no-untyped-def]
    three, zero = commands_for(redis, db=3), commands_for(redis)
    try:
        await three.call("SET", "k", "in three")
        assert await zero.call("GET", "k") is None
        assert await three.call("GET", "k") == b"in three"
    finally:
        await three.close()
        await zero.close()


async def test_a_stalled_redis_fails_calls_in_time_then_they_work_again(redis) -> None:  # type: ignore[no-untyped-def]
    commands = commands_for(redis, timeout=0.3)
    try:
        assert await commands.call("PING") == b"PONG"
        # Later than the PING by most of a timeout: each call's own timeout
        # counts, not the one its connection was watching for the PING.
        await asyncio.sleep(0.2)
        redis.pause()
        try:
            started = time.monotonic()
            results = await asyncio.gather(
                *(commands.call("ECHO", str(i)) for i in range(3)), return_exceptions=True
            )
            waited = time.monotonic() - started
        finally:
            redis.resume()
        assert all(isinstance(r, BackendUnavailable) for r in results), results
        # Each was given its whole timeout, counted from when it was sent
        # (the PING before had its own), and not much more.
        assert 0.28 <= waited < 1.5, waited
        assert await commands.call("ECHO", "back") == b"back"  # a new connection
    finally:
        await commands.close()


async def test_a_restarted_redis_is_reconnected(redis) -> None:  # type: ignore[no-untyped-def]
    commands = commands_for(redis)
    try:
        assert await commands.call("PING") == b"PONG"
        redis.kill()
        with pytest.raises(BackendUnavailable):
            await commands.call("PING")
        redis.start()
        assert await commands.call("PING") == b"PONG"
    finally:
        await commands.close()


async def test_a_script_call_on_a_replica_is_unavailable_not_an_error() -> None:
    """A Redis that became a replica (a failover) refuses writes with READONLY:
    the caller hears `unavailable` and retries, as with redis-py's client."""
    from ensemble.backends.redis_client import RedisClient
    from ensemble.backends.redis_keys import Keys

    master, replica = RedisServer(), RedisServer()
    master.start()
    replica.start()
    client = RedisClient(replica.url, Keys("t"), socket_timeout=1.0, index_ttl=1.0)
    try:
        await asyncio.to_thread(replica_of, replica, master)
        client.start()
        with pytest.raises(BackendUnavailable):
            indexes = [f"t:{{x}}:idx:{kind}" for kind in ("due", "listed", "leased", "unpub")]
            await client.script("delete", [*indexes, "t:{x}:state"], ["r_x"])  # writes
    finally:
        await client.close()
        replica.cleanup()
        master.cleanup()


def replica_of(replica: RedisServer, master: RedisServer) -> None:
    import redis as sync_redis

    sync_redis.Redis(port=replica.port).replicaof("127.0.0.1", master.port)
