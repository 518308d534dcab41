"""Several real `ensemble serve --redis` processes on one real redis-server."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ensemble.client import Client
from tests.support.redis_cluster import RedisCluster, running_cluster
from tests.support.redis_server import RedisServer
from tests.support.rooms import Rooms
from tests.support.server import ServerProcess, free_port

# Short leases so a killed process's connections are noticed within seconds.
CLUSTER_ENV = {"ENSEMBLE_PRESENCE_TTL_MS": "1500"}
# Counters a failed test's message quotes from each server's /metrics.
REPORTED = ("ensemble_errors_total", "ensemble_deliveries_total", "ensemble_slow_consumers",
            "ensemble_redis_unreplicated", "ensemble_connections")
ACCESS = ("OK", "Created", "[accepted]", "connection open", "connection closed")
# Server logs stay here for a failed run (`--log-level info` after ours wins).
LOGS = Path(tempfile.gettempdir()) / "ensemble-cluster-logs"
LOGS.mkdir(exist_ok=True)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(persist=True)
    server.start()
    yield server
    server.cleanup()


class Cluster:
    """N server processes sharing one Redis, and the clients connected to them."""

    def __init__(self, redis: RedisServer) -> None:
        self.redis = redis
        self.servers: list[ServerProcess] = []
        self.rooms = Rooms()  # each call names its servers

    def start(
        self, count: int, *args: str, env: dict[str, str] | None = None
    ) -> list[ServerProcess]:
        for _ in range(count):
            port = free_port()
            process = ServerProcess(
                port,
                ["--redis", self.redis.url, "--log-level", "info", *args],
                {**CLUSTER_ENV, **(env or {})},
                log_path=LOGS / f"server-{port}.log",
            )
            self.servers.append(process.start())
        return self.servers

    async def create(self, server: ServerProcess | None = None, **body: Any) -> dict[str, Any]:
        body.setdefault("title", "Cluster practice")
        return await self.rooms.create(server or self.servers[0], **body)

    async def join(
        self,
        room: dict[str, Any],
        name: str,
        servers: ServerProcess | list[ServerProcess],
        *,
        mentor: bool = False,
        **kw: Any,
    ) -> Client:
        listed = servers if isinstance(servers, list) else [servers]
        return await self.rooms.join(room, name, mentor=mentor, servers=listed, **kw)

    async def report(self, lines: int = 15) -> str:
        """What each server counted and logged last: for a failed test's message
        (a CI run keeps nothing else)."""
        parts = []
        async with httpx.AsyncClient(timeout=2) as http:
            for server in self.servers:
                try:
                    metrics = (await http.get(f"{server.http}/metrics")).text.splitlines()
                    counted = [m for m in metrics if m.startswith(REPORTED)
                               and "_created" not in m and not m.endswith(" 0.0")]
                except httpx.HTTPError as error:
                    counted = [f"/metrics: {error!r}"]
                text = server.log_path.read_text() if server.log_path else ""
                log = [line for line in text.splitlines() if not line.endswith(ACCESS)][-lines:]
                parts.append(f"server {server.port}: {counted}\n  " + "\n  ".join(log))
        return "\n".join(parts)

    async def close(self) -> None:
        """Close the clients (bounded), then stop every server whatever happened:
        a test that timed out must not leave its servers running."""
        try:
            async with asyncio.timeout(30):
                await self.rooms.close()
        finally:
            for server in self.servers:
                server.stop()


@pytest.fixture
async def cluster(redis_server: RedisServer) -> AsyncIterator[Cluster]:
    helper = Cluster(redis_server)
    yield helper
    await helper.close()


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[RedisCluster]:
    """A Redis Cluster (3 masters, 3 replicas) of the test module's own: its
    tests kill masters and move slots."""
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture
async def servers(redis_cluster: RedisCluster) -> AsyncIterator[Cluster]:
    """Server processes on the module's Redis Cluster."""
    helper = Cluster(redis_cluster)  # type: ignore[arg-type]  # has .url like a RedisServer
    yield helper
    await helper.close()
