"""A client that cannot keep up is cut loose with 4000; nobody else waits for it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import websockets

from tests.support.rooms import Rooms
from tests.support.server import start_server

pytestmark = pytest.mark.timeout(60)


async def test_slow_reader_is_closed_with_4000_and_others_carry_on():
    server = start_server(env={"ENSEMBLE_SEND_QUEUE": "16", "ENSEMBLE_RATE_PER_S": "100000",
                               "ENSEMBLE_RATE_BURST": "100000"})
    rooms = Rooms(server)
    try:
        room = await rooms.create()
        mia = await rooms.join(room, "Mia", mentor=True)
        pat = await rooms.join(room, "Pat")
        async with websockets.connect(server.ws, subprotocols=["ensemble.v1.json"],
                                      max_queue=1, compression=None) as slow:
            await slow.send(json.dumps({"type": "hello", "room": room["room_id"],
                                        "name": "Slow", "invite": room["invite"]}))
            text = "x" * 2000
            for _ in range(8000):  # up to 16 MB to a reader that reads nothing
                await mia.request("chat.send", text=text)
                if slow.state is websockets.State.CLOSED:
                    break
            await mia.request("chat.send", text="END")
            end = await pat.wait_for(lambda e: e.get("text") == "END", timeout=20)
            assert end["type"] == "chat.message"
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    await slow.recv()
            assert slow.close_code == 4000
    finally:
        await rooms.close()
        server.stop()


def established(local_port: int) -> bool:
    """Whether this machine's TCP socket on `local_port` is still ESTABLISHED (from /proc)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == local_port and fields[3] == "01":
            return True
    return False


def gauge(server, name: str) -> float:
    import urllib.request

    with urllib.request.urlopen(f"{server.http}/metrics", timeout=5) as reply:
        for line in reply.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"no {name} in /metrics")


async def test_a_reader_that_never_reads_is_cut_and_leaves_the_gauge_at_once():
    server = start_server(env={"ENSEMBLE_SEND_QUEUE": "16", "ENSEMBLE_RATE_PER_S": "100000",
                               "ENSEMBLE_RATE_BURST": "100000",
                               "ENSEMBLE_CLOSE_TIMEOUT_MS": "1000"})
    rooms = Rooms(server)
    try:
        room = await rooms.create()
        mia = await rooms.join(room, "Mia", mentor=True)
        async with websockets.connect(server.ws, subprotocols=["ensemble.v1.json"],
                                      compression=None) as stuck:
            await stuck.send(json.dumps({"type": "hello", "room": room["room_id"],
                                         "name": "Stuck", "invite": room["invite"]}))
            await mia.wait_for(lambda e: e["type"] == "member.joined"
                               and e["member"]["name"] == "Stuck")
            stuck.transport.pause_reading()  # its kernel buffers fill, then the server's
            assert gauge(server, "ensemble_connections") == 2
            text = "x" * 2000
            for _ in range(4000):
                await mia.request("chat.send", text=text)
                if gauge(server, "ensemble_slow_consumers_total") == 1:
                    break
            else:
                pytest.fail("the stuck reader was never cut")
            # Out of the gauge at once, though its socket is still full.
            assert gauge(server, "ensemble_connections") == 1
            # Within the close timeout the server drops the connection itself,
            # though the client still reads nothing.
            port = stuck.transport.get_extra_info("sockname")[1]
            assert established(port)
            for _ in range(100):
                if not established(port):
                    break
                await asyncio.sleep(0.1)
            else:
                pytest.fail("the server kept the connection of a reader that never reads")
            stuck.transport.resume_reading()
            with pytest.raises(websockets.ConnectionClosed):
                async with asyncio.timeout(10):
                    while True:
                        await stuck.recv()
            assert stuck.close_code in (4000, 1006)
            await mia.request("chat.send", text="still here")
    finally:
        await rooms.close()
        server.stop()
