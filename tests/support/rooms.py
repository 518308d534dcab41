"""Creating rooms on a test server and connecting clients to them."""

from __future__ import annotations

from typing import Any

import httpx

from ensemble.client import Client
from tests.support.server import ServerProcess


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
