"""The compose topology without Docker: Redis, three processes, nginx in front
(deploy/nginx.conf). Clients know one URL, the balancer's; when the process
they landed on dies, they reconnect through nginx to another and resume."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from ensemble.client import Client

from .balancer import NGINX, Nginx
from .streams import assert_gapless, collect_until

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (make system-packages)"),
]


def chat_is(text: str):  # type: ignore[no-untyped-def]
    return lambda e: e.get("type") == "chat.message" and e.get("text") == text


async def test_clients_behind_nginx_survive_the_death_of_a_replica(cluster):
    servers = cluster.start(3)
    nginx = Nginx([s.port for s in servers]).start()
    clients: list[Client] = []
    try:
        async with httpx.AsyncClient() as http:
            reply = await http.post(
                f"{nginx.http}/api/rooms", json={"title": "Behind nginx", "visibility": "public"}
            )
            assert reply.status_code == 201
            room = reply.json()
            assert (await http.get(f"{nginx.http}/readyz")).status_code == 200
        mia = await Client.connect(
            nginx.ws, room=room["room_id"], name="Mia", host_key=room["host_key"]
        )
        clients.append(mia)
        for i in range(8):
            clients.append(
                await Client.connect(
                    nginx.ws, room=room["room_id"], name=f"P{i}", invite=room["invite"]
                )
            )
        await mia.request("chat.send", text="before")
        before = await asyncio.gather(*(collect_until(c, chat_is("before")) for c in clients))

        servers[0].kill()  # least_conn spread the sockets; some were on this one
        for i in range(3):
            await mia.request("chat.send", text=f"during-{i}")
        await mia.request("chat.send", text="after")
        after = await asyncio.gather(*(collect_until(c, chat_is("after")) for c in clients))

        moved = [c for c in clients if len(c.welcomes) > 1]
        assert moved, "no client was on the killed process"
        assert all(c.welcomes[-1]["resumed"] for c in moved)
        streams = [
            [f for f in b + a if f.get("stream") == "room"]
            for b, a in zip(before, after, strict=True)
        ]
        for stream in streams:
            assert_gapless(stream)
            assert stream == streams[0][-len(stream) :]
    finally:
        for client in clients:
            await client.close()
        nginx.stop()


async def test_nginx_logs_no_query_string(server):
    """Defence in depth for old links (`?invite=`, `?host_key=`): nginx's access
    log (deploy/nginx.conf's format) has paths, never query strings."""
    nginx = Nginx([server.port]).start()
    try:
        async with httpx.AsyncClient() as http:
            reply = await http.get(f"{nginx.http}/r/r_logged?invite=SECRET-INVITE&x=1")
            assert reply.status_code == 200
            await http.get(f"{nginx.http}/api/rooms/r_logged?host_key=SECRET-KEY")
        nginx.halt()  # flushes the log
        log = nginx.access_log.read_text()
        assert "GET /r/r_logged HTTP/1.1" in log and "/api/rooms/r_logged" in log
        assert "SECRET" not in log and "?" not in log
    finally:
        nginx.stop()
