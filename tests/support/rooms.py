"""Creating rooms on a test server and connecting clients to them."""

from __future__ import annotations

from typing import Any

import httpx

from ensemble.client import Client
from tests.support.server import ServerProcess


class Rooms:
    """Creates rooms on a server and connects clients to them; closes them all after."""

    def __init__(self, server: ServerProcess | None = None) -> None:
        self.server = server  # the default; each call may name its own
        self.clients: list[Client] = []

    def _server(self, server: ServerProcess | None) -> ServerProcess:
        chosen = server or self.server
        if chosen is None:
            raise ValueError("name a server: this Rooms has no default one")
        return chosen

    async def create(self, server: ServerProcess | None = None, **body: Any) -> dict[str, Any]:
        body.setdefault("title", "Practice")
        body.setdefault("visibility", "public")
        async with httpx.AsyncClient() as http:
            reply = await http.post(f"{self._server(server).http}/api/rooms", json=body)
        assert reply.status_code == 201, reply.text
        return reply.json()

    async def join(self, room: dict[str, Any], name: str, *, mentor: bool = False,
                   servers: list[ServerProcess] | None = None, **kw: Any) -> Client:
        """Connect a member: to this server, or to `servers` (the client fails over)."""
        if mentor:
            kw.setdefault("host_key", room["host_key"])
        elif "token" not in kw and "invite" in room:  # a group's room: person_key alone
            kw.setdefault("invite", room["invite"])
        urls = [s.ws for s in (servers or [self._server(None)])]
        client = await Client.connect(urls, room=room["room_id"], name=name, **kw)
        self.clients.append(client)
        return client

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
