"""A client that cannot keep up is cut loose with 4000; nobody else waits for it."""

from __future__ import annotations

import json

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
