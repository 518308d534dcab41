"""What goes out to one WebSocket: in order, bounded, without a task per frame.

The same event goes to every member of a room. Through ASGI each delivery
is a chain of coroutines (Starlette, then uvicorn) run by a writer task of
its own, for every socket: most of a busy server's time went there. Here an
event is framed once per wire format (by websockets' own frame serializer,
unmasked, as a server's frames are) and those same bytes are written to each
socket's transport in one call, at once, while the socket keeps up.

A socket that does not keep up (its transport asked the protocol to stop
writing) gets a backlog instead, drained through ASGI by a task that exists
only while there is a backlog; new frames queue behind it, so the order never
changes. A backlog past its limit calls `on_overflow`: the session cuts the
socket (4000), and its client resumes.

Writing straight to the transport relies on uvicorn's websockets-sansio
protocol (the one `ensemble serve` runs), which owns the ASGI `send` callable
and exposes `transport`, `writable` (its flow control) and `close_sent`.
Starlette would wrap `send` on its way to an endpoint, so the application
(app.py) hands `/ws` to the session itself and keeps the server's own `send`
in the scope. Where those are
missing (another server), every frame takes the ASGI path.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import Any

from starlette.websockets import WebSocket
from uvicorn.protocols.utils import ClientDisconnected
from websockets.frames import Frame, Opcode

from ensemble.wire.codec import Format
from ensemble.wire.packet import Packet


def ws_frame(data: bytes | str) -> bytes:
    """A complete server-to-client WebSocket frame: binary for bytes, text for str."""
    if isinstance(data, bytes):
        return Frame(Opcode.BINARY, data).serialize(mask=False)
    return Frame(Opcode.TEXT, data.encode()).serialize(mask=False)


def packet_frame(packet: Packet, fmt: Format) -> bytes:
    """The packet's frame in `fmt`, made once and shared by every socket."""
    framed = packet.frames.get(fmt)
    if framed is None:
        framed = packet.frames[fmt] = ws_frame(packet.data(fmt))
    return framed


RAW_SEND = "ensemble.raw_send"  # the scope key of the server's own `send`


def uvicorn_protocol(websocket: WebSocket) -> Any:
    """The uvicorn protocol object under a Starlette WebSocket, or None."""
    return getattr(websocket.scope.get(RAW_SEND), "__self__", None)


def shed_handshake(websocket: WebSocket) -> None:
    """Let go of the opening handshake once the socket is accepted.

    uvicorn keeps the HTTP request and response of the upgrade (and the scope
    keeps the request's headers) for as long as the socket lives: a few KiB
    per idle member that nothing reads again.
    """
    protocol = uvicorn_protocol(websocket)
    if protocol is not None and getattr(protocol, "handshake_complete", False):
        for name in ("request", "response"):
            if hasattr(protocol, name):
                setattr(protocol, name, None)
    websocket.scope["headers"] = []


class Outbox:
    __slots__ = ("_backlog", "_drainer", "_limit", "_on_overflow", "_protocol", "_shut",
                 "_websocket")

    def __init__(
        self, websocket: WebSocket, limit: int, on_overflow: Callable[[], None]
    ) -> None:
        self._websocket = websocket
        self._limit = limit
        self._on_overflow = on_overflow
        protocol = uvicorn_protocol(websocket)
        direct = all(hasattr(protocol, name) for name in ("transport", "writable", "close_sent"))
        self._protocol = protocol if direct else None
        self._backlog: deque[bytes | str] | None = None  # made when first needed
        self._drainer: asyncio.Task[None] | None = None
        self._shut = False

    def put(self, data: bytes | str, framed: bytes | None = None) -> None:
        """Send `data` (bytes: a binary frame, str: a text frame) after what came before.

        `framed` is the same data already framed, when the caller has it.
        """
        if self._shut:
            return
        if not self._backlog:
            transport = self._writable_transport()
            if transport is not None:
                transport.write(framed or ws_frame(data))
                return
        backlog = self._backlog
        if backlog is None:
            backlog = self._backlog = deque()
        if len(backlog) >= self._limit:
            self.discard()
            self._on_overflow()
            return
        backlog.append(data)
        if self._drainer is None:
            self._drainer = asyncio.create_task(self._drain())

    def put_packet(self, packet: Packet, fmt: Format) -> None:
        self.put(packet.data(fmt), packet_frame(packet, fmt) if self._protocol else None)

    def _writable_transport(self) -> asyncio.Transport | None:
        """The transport, if a frame may be written to it right now."""
        protocol = self._protocol
        if protocol is None or protocol.close_sent or not protocol.writable.is_set():
            return None
        transport = protocol.transport
        if transport is None or transport.is_closing():
            return None
        return transport  # type: ignore[no-any-return]

    async def _drain(self) -> None:
        try:
            while self._backlog:
                data = self._backlog[0]
                if isinstance(data, bytes):
                    await self._websocket.send_bytes(data)
                else:
                    await self._websocket.send_text(data)
                self._backlog.popleft()
            self._backlog = None  # caught up: back to writing straight through
        except (OSError, RuntimeError, ClientDisconnected):
            # The socket is gone (its reader sees it too): nothing more goes out.
            self._shut = True
            self._backlog = None
        finally:
            self._drainer = None

    async def flush(self, timeout: float) -> None:
        """Wait (at most `timeout` s) until the backlog is out."""
        if self._drainer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait({self._drainer}, timeout=timeout)

    def discard(self) -> None:
        """Drop the backlog and take nothing more."""
        self._shut = True
        self._backlog = None
        if self._drainer is not None:
            self._drainer.cancel()

    async def aclose(self) -> None:
        self.discard()
        if self._drainer is not None:
            with contextlib.suppress(BaseException):
                await self._drainer
