"""uvicorn's websockets-sansio protocol, lighter per idle socket.

An idle member's socket is mostly this object, so what it keeps counts:

- its ASGI inbox was an `asyncio.Queue`, and its flow control an
  `asyncio.Event`: five deques of about 760 bytes each, allocated up front.
  `Inbox` and `Flag` do the same for the one reader a socket has, with
  nothing allocated while there is nothing to hold or wait for;
- the handshake stays referenced after the socket is open: uvicorn keeps the
  HTTP request and response, and websockets' frame parser (a generator) keeps
  the request in its frame for as long as the connection lives. Once uvicorn
  has taken the request, the parser is restarted at the same point (between
  frames, nothing buffered), and the request and response are dropped once
  the socket is accepted;
- its attributes' dict is made anew once they are all set, about half the size.

Everything else is uvicorn's protocol as it is; the outbox (outbox.py) writes
through its `transport`, `writable` and `close_sent` as before.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import Protocol
from websockets.server import ServerProtocol
from websockets.streams import StreamReader


class Inbox:
    """What `asyncio.Queue` does for uvicorn (`put_nowait`, `get`, `empty`),
    for one reader at a time, holding nothing while it is empty."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: collections.deque[Any] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = collections.deque()
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    async def get(self) -> Any:
        while not self._items:
            if self._waiter is not None:
                raise RuntimeError("Inbox.get: another reader is already waiting")
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        item = self._items.popleft()
        if not self._items:
            self._items = None
        return item


class Flag:
    """What `asyncio.Event` does for uvicorn (`set`, `clear`, `is_set`, `wait`),
    with its list of waiters made only while someone waits."""

    __slots__ = ("_set", "_waiters")

    def __init__(self, value: bool = False) -> None:
        self._set = value
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
                if not self._waiters:
                    self._waiters = None
        return True


def restart_parser(conn: ServerProtocol) -> bool:
    """Restart websockets' frame parser where it stands, to let go of the
    handshake request its generator frame holds.

    Only when it waits between frames with nothing buffered (it always does
    right after the handshake: a client sends nothing before the 101), where a
    fresh frame parser stands too; in any other state it is left as it is.
    Returns whether it was restarted.
    """
    parser = conn.parser
    frames = getattr(parser, "gi_yieldfrom", None)
    waiting = getattr(frames, "gi_yieldfrom", None)
    if (
        getattr(parser, "gi_code", None) is not ServerProtocol.parse.__code__
        or getattr(frames, "gi_code", None) is not Protocol.parse.__code__
        or getattr(waiting, "gi_code", None) is not StreamReader.at_eof.__code__
        or conn.reader.buffer
        or conn.reader.eof
    ):
        return False
    fresh = Protocol.parse(conn)
    next(fresh)  # to the same point: waiting in at_eof() for the first frame
    conn.parser = fresh
    parser.close()
    return True


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Flag(True)  # type: ignore[assignment]

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        restart_parser(self.conn)

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # uvicorn reads neither again once the socket is open.
            self.request = None  # type: ignore[assignment]
            self.response = None  # type: ignore[assignment]
            # Its ~37 attributes overflow the instance dict's shared keys, and
            # the dict grown one by one has room for 85: a copy fits them in
            # half the memory (same attributes, same values).
            self.__dict__ = dict(self.__dict__)
