"""Fixtures for the backend tests: real redis-server processes and backends.

`backend_factory` is parametrized over memory, Redis and a Redis Cluster (3
masters, 3 replicas, shared by the session), so the contract suite runs once
per backend from one source. Every Redis backend gets a unique key
prefix, so tests sharing one server never see each other's keys.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from ensemble.backends.memory import MemoryBackend
from ensemble.settings import Settings
from tests.support.redis_cluster import RedisCluster, running_cluster
from tests.support.redis_server import RedisServer

BackendFactory = Callable[..., Awaitable[Any]]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server shared by the tests that never break it."""
    server = RedisServer()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of this test alone: it may kill, pause or restart it."""
    server = RedisServer()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """One Redis Cluster shared by the tests that never break it."""
    with running_cluster() as cluster:
        yield cluster


def unique_prefix() -> str:
    return f"t{secrets.token_hex(4)}"


def make_redis_factory(
    server: RedisServer | RedisCluster, started: list[Any]
) -> Callable[..., Awaitable[Any]]:
    prefix = unique_prefix()

    async def make(**settings: Any) -> Any:
        from ensemble.backends.redis import RedisBackend

        names = ("socket_timeout", "ping_interval", "reconnect_backoff")
        options = {k: settings.pop(k) for k in names if k in settings}
        backend = RedisBackend(Settings(redis_url=server.url, **settings), prefix=prefix, **options)
        await backend.start()
        started.append(backend)
        return backend

    return make


@pytest.fixture(params=["memory", "redis", "cluster"])
async def backend_factory(
    request: pytest.FixtureRequest,
) -> AsyncIterator[BackendFactory]:
    """Makes started backends that share their rooms (one process for memory)."""
    started: list[Any] = []
    if request.param == "memory":
        shared: list[MemoryBackend] = []

        async def make(**settings: Any) -> Any:
            if not shared:
                backend = MemoryBackend(Settings(**settings))
                await backend.start()
                shared.append(backend)
                started.append(backend)
            return shared[0]

        yield make
    else:
        server = request.getfixturevalue(
            "redis_server" if request.param == "redis" else "redis_cluster"
        )
        yield make_redis_factory(server, started)
    for backend in started:
        await backend.close()


@pytest.fixture
async def redis_factory(redis_server: RedisServer) -> AsyncIterator[BackendFactory]:
    """Redis backends on the shared server, one prefix per test."""
    started: list[Any] = []
    yield make_redis_factory(redis_server, started)
    for backend in started:
        await backend.close()


@pytest.fixture
async def own_redis_factory(own_redis: RedisServer) -> AsyncIterator[BackendFactory]:
    started: list[Any] = []
    yield make_redis_factory(own_redis, started)
    for backend in started:
        await backend.close()
