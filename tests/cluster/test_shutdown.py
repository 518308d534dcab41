"""SIGTERM: a process stops accepting, finishes its requests in flight, closes
every socket with 1001 and exits; its clients resume on another process and
nothing is lost."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from .streams import assert_gapless, collect_until

pytestmark = pytest.mark.timeout(120)


def chat_is(text: str):  # type: ignore[no-untyped-def]
    return lambda e: e.get("type") == "chat.message" and e.get("text") == text


async def refused(port: int, within: float = 10.0) -> None:
    """Wait until the port no longer accepts connections."""
    async with asyncio.timeout(within):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                return
            writer.close()
            await asyncio.sleep(0.02)


async def test_sigterm_closes_sockets_with_1001_and_clients_resume_elsewhere(cluster):
    victim, survivor = cluster.start(2, "--grace-ms", "60000")
    room = await cluster.create(survivor)
    mia = await cluster.join(room, "Mia", survivor, mentor=True)
    movers = [await cluster.join(room, f"P{i}", [victim, survivor]) for i in range(5)]
    everyone = [mia, *movers]
    await mia.request("chat.send", text="before")
    before = await asyncio.gather(*(collect_until(c, chat_is("before")) for c in everyone))

    # A request in flight as the signal comes: its body is only half sent.
    body = b'{"title": "Sent across the shutdown", "visibility": "unlisted"}'
    reader, writer = await asyncio.open_connection("127.0.0.1", victim.port)
    writer.write(b"POST /api/rooms HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 b"Content-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
    await writer.drain()
    await asyncio.sleep(0.2)  # the server has read the headers

    began = time.monotonic()
    victim.process.send_signal(signal.SIGTERM)
    await refused(victim.port)  # it stops accepting at once...
    writer.write(body[10:])  # ...and still serves the request it was reading
    await writer.drain()
    reply = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    assert reply.startswith(b"HTTP/1.1 201"), reply[:200]

    for i in range(3):  # commits while the movers move
        await mia.request("chat.send", text=f"during-{i}")
    code = await asyncio.to_thread(victim.process.wait, 20)
    took = time.monotonic() - began
    await mia.request("chat.send", text="after")
    after = await asyncio.gather(*(collect_until(c, chat_is("after")) for c in everyone))
    print(f"\nSIGTERM to exit: {took:.2f} s with {len(movers)} sockets; exit code {code}")

    # uvicorn re-raises the signal once its shutdown is done: a clean exit by SIGTERM.
    assert code in (0, -signal.SIGTERM)
    for mover in movers:
        assert mover.close_codes == [1001]  # going away: reconnect elsewhere
        assert len(mover.welcomes) == 2 and mover.welcomes[-1]["resumed"] is True
        assert mover.closed is None
    streams = [[f for f in b + a if f.get("stream") == "room"]
               for b, a in zip(before, after, strict=True)]
    for stream in streams:
        assert_gapless(stream)
        assert [e for e in stream if e["type"] == "chat.message"] == [
            e for e in streams[0] if e["type"] == "chat.message"
        ]
    assert not any(e["type"] == "member.left" for e in streams[0])

