from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from tests.support.server import ServerProcess, start_server

from ensemble.client import Client


@pytest.fixture(scope="session")
def server() -> Iterator[ServerProcess]:
    """One real server process for the app tests (rooms keep tests apart).

    Its rate limit is raised so tests can send bursts; the limit itself is
    tested on a server with the defaults.
    """
    process = start_server("--grace-ms", "1000",
                           env={"ENSEMBLE_RATE_PER_S": "500", "ENSEMBLE_RATE_BURST": "500"})
    yield process
    process.stop()


class Rooms:
    """Creates rooms on a server and connects clients to them; closes them all after."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.clients: list[Client] = []

    async def create(self, **body: Any) -> dict[str, Any]:
        body.setdefault("title", "Practice")
        body.setdefault("visibility", "public")
        async with httpx.AsyncClient() as http:
            reply = await http.post(f"{self.server.http}/api/rooms", json=body)
        assert reply.status_code == 201, reply.text
        return reply.json()

    async def join(self, room: dict[str, Any], name: str, *, mentor: bool = False,
                   **kw: Any) -> Client:
        if mentor:
            kw.setdefault("host_key", room["host_key"])
        elif "token" not in kw:
            kw.setdefault("invite", room["invite"])
        client = await Client.connect(self.server.ws, room=room["room_id"], name=name, **kw)
        self.clients.append(client)
        return client

    async def close(self) -> None:
        for client in self.clients:
            await client.close()


@pytest.fixture(scope="session")
def default_server() -> Iterator[ServerProcess]:
    """A server with every setting at its default but the grace period."""
    process = start_server("--grace-ms", "1000")
    yield process
    process.stop()


@pytest.fixture
async def default_rooms(default_server: ServerProcess) -> AsyncIterator[Rooms]:
    helper = Rooms(default_server)
    yield helper
    await helper.close()


@pytest.fixture
async def rooms(server: ServerProcess) -> AsyncIterator[Rooms]:
    helper = Rooms(server)
    yield helper
    await helper.close()
