"""The lighter WebSocket protocol (transport/ws_protocol.py) behaves as uvicorn's.

Served by a real uvicorn on a loopback port, with a real websockets client:
after the handshake is let go of, frames of every kind still go both ways.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
import websockets
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

from ensemble.transport.ws_protocol import Flag, Inbox, LeanWebSocketProtocol, restart_parser
from tests.support.server import free_port

pytestmark = pytest.mark.timeout(30)

HANDSHAKE = (
    b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def client_frame(opcode: Opcode, data: bytes, fin: bool = True) -> bytes:
    return Frame(opcode, data, fin).serialize(mask=True)


# -- Inbox and Flag ---------------------------------------------------------------


async def test_inbox_is_first_in_first_out_and_wakes_its_reader():
    inbox = Inbox()
    assert inbox.empty()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait(1)
    inbox.put_nowait(2)
    assert await asyncio.wait_for(reader, 1) == 1
    assert inbox.qsize() == 1
    assert await inbox.get() == 2
    assert inbox.empty()


async def test_inbox_keeps_an_item_put_before_its_reader_was_cancelled():
    inbox = Inbox()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait("kept")
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert await asyncio.wait_for(inbox.get(), 1) == "kept"


async def test_inbox_takes_one_reader_at_a_time():
    inbox = Inbox()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError):
        await inbox.get()
    inbox.put_nowait("x")
    assert await asyncio.wait_for(reader, 1) == "x"


async def test_flag_wakes_every_waiter_and_forgets_cancelled_ones():
    flag = Flag()
    assert not flag.is_set()
    waiters = [asyncio.create_task(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    waiters[0].cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiters[0]
    flag.set()
    assert await asyncio.wait_for(asyncio.gather(*waiters[1:]), 1) == [True, True]
    flag.clear()
    assert not flag.is_set()
    assert await asyncio.wait_for(Flag(True).wait(), 1) is True


# -- the parser ---------------------------------------------------------------------


def test_restarted_parser_parses_the_frames_that_follow_and_lets_go_of_the_request():
    conn = ServerProtocol()
    conn.receive_data(HANDSHAKE)
    [request] = conn.events_received()
    conn.send_response(conn.accept(request))
    assert restart_parser(conn)
    assert not _holds(conn.parser, Request)
    # A text frame in two pieces, a ping in the middle of a fragmented message.
    data = client_frame(Opcode.TEXT, b"hello")
    conn.receive_data(data[:3])
    conn.receive_data(data[3:])
    conn.receive_data(client_frame(Opcode.BINARY, b"ab", fin=False))
    conn.receive_data(client_frame(Opcode.PING, b"p"))
    conn.receive_data(client_frame(Opcode.CONT, b"cd"))
    events = conn.events_received()
    assert [(e.opcode, bytes(e.data), e.fin) for e in events] == [
        (Opcode.TEXT, b"hello", True), (Opcode.BINARY, b"ab", False),
        (Opcode.PING, b"p", True), (Opcode.CONT, b"cd", True),
    ]
    conn.receive_data(client_frame(Opcode.CLOSE, b"\x03\xe8"))
    assert conn.close_rcvd is not None and conn.close_rcvd.code == 1000


def test_parser_in_the_middle_of_a_frame_is_left_as_it_is():
    conn = ServerProtocol()
    conn.receive_data(HANDSHAKE + client_frame(Opcode.TEXT, b"hello")[:4])
    assert len(conn.events_received()) == 1  # the request
    parser = conn.parser
    assert not restart_parser(conn)
    assert conn.parser is parser


def _holds(generator: Any, kind: type) -> bool:
    """Whether any frame of a generator chain refers to an object of `kind`."""
    while generator is not None:
        frame = generator.gi_frame
        if frame is not None and any(isinstance(v, kind) for v in frame.f_locals.values()):
            return True
        generator = generator.gi_yieldfrom
    return False


# -- served by uvicorn ----------------------------------------------------------------


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, ws=LeanWebSocketProtocol,
                            ws_per_message_deflate=False, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.02)
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def test_an_accepted_socket_echoes_every_kind_of_frame_after_letting_go_of_the_handshake():
    protocols: list[Any] = []

    async def echo(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "websocket"
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept", "subprotocol": "echo"})
        protocols.append(send.__self__)
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            reply = {k: message[k] for k in ("bytes", "text") if message.get(k) is not None}
            await send({"type": "websocket.send", **reply})

    async with serving(echo) as url, websockets.connect(
        url, subprotocols=["echo"], compression=None, ping_interval=None
    ) as ws:
        assert ws.subprotocol == "echo"
        await ws.send("héllo")
        assert await asyncio.wait_for(ws.recv(), 5) == "héllo"
        [protocol] = protocols
        assert isinstance(protocol, LeanWebSocketProtocol)
        assert protocol.request is None and protocol.response is None
        assert not _holds(protocol.conn.parser, Request)
        await ws.send(b"\x00" * 100_000)  # many TCP reads for one frame
        assert await asyncio.wait_for(ws.recv(), 5) == b"\x00" * 100_000
        await ws.send(["frag", "mented"])
        assert await asyncio.wait_for(ws.recv(), 5) == "fragmented"
        pong = await ws.ping(b"hi")
        await asyncio.wait_for(pong, 5)
        await ws.close()
        assert ws.close_code == 1000
