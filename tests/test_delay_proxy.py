"""The delay proxy the sync tests and bench use: delays per direction, jitter, order."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator

import pytest

from tests.support.delay_proxy import Delay, DelayProxy


@pytest.fixture
async def stamping_server() -> AsyncIterator[tuple[int, list[float]]]:
    """Echoes every line back, noting when each arrived (monotonic s)."""
    arrivals: list[float] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            arrivals.append(time.monotonic())
            writer.write(line)
            await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1], arrivals
    server.close()
    await server.wait_closed()


async def test_each_direction_gets_its_own_delay(stamping_server) -> None:  # type: ignore[no-untyped-def]
    port, arrivals = stamping_server
    proxy = DelayProxy(("127.0.0.1", port), up=Delay(40, 50), down=Delay(10, 15), seed=1)
    async with proxy.running():
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        ups, downs = [], []
        for i in range(10):
            sent = time.monotonic()
            writer.write(f"{i}\n".encode())
            await writer.drain()
            assert await asyncio.wait_for(reader.readline(), 5) == f"{i}\n".encode()
            back = time.monotonic()
            ups.append((arrivals[-1] - sent) * 1000)
            downs.append((back - arrivals[-1]) * 1000)
        writer.close()
        await writer.wait_closed()
    # Never early; late only by the machine's scheduling (shared: judged on the median).
    assert min(ups) >= 40 and statistics.median(ups) < 50 + 3, ups
    assert min(downs) >= 10 and statistics.median(downs) < 15 + 3, downs
    assert max(ups) - min(ups) > 1  # jitter, not a constant


async def test_jitter_never_reorders_a_stream(stamping_server) -> None:  # type: ignore[no-untyped-def]
    port, _ = stamping_server
    proxy = DelayProxy(("127.0.0.1", port), up=Delay(0, 20), down=Delay(0, 20), seed=2)
    async with proxy.running():
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        lines = [f"{i:05d}\n".encode() for i in range(2000)]
        for line in lines:
            writer.write(line)
            if int(line) % 50 == 0:
                await writer.drain()
                await asyncio.sleep(0.001)  # many chunks, each with its own draw
        await writer.drain()
        got = [await asyncio.wait_for(reader.readline(), 10) for _ in lines]
        writer.close()
        await writer.wait_closed()
    assert got == lines


async def test_only_loopback_and_sane_delays() -> None:
    with pytest.raises(ValueError, match="loopback"):
        DelayProxy(("10.0.0.1", 80))
    with pytest.raises(ValueError):
        Delay(30, 20)
    assert Delay.parse("20-60") == Delay(20, 60)
    assert Delay.parse("25") == Delay(25, 25)


def test_runs_in_a_thread_for_synchronous_callers() -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as listener:
        proxy = DelayProxy(("127.0.0.1", listener.getsockname()[1]), up=Delay(5, 5)).start()
        try:
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as client:
                conn, _ = listener.accept()
                with conn:
                    sent = time.monotonic()
                    client.sendall(b"hi")
                    conn.settimeout(5)
                    assert conn.recv(2) == b"hi"
                    assert time.monotonic() - sent >= 0.005
        finally:
            proxy.stop()
