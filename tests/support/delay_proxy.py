"""A TCP proxy on loopback that delays each direction, with jitter, in order.

    proxy = DelayProxy(("127.0.0.1", server.port), up=Delay(20, 60), down=Delay(20, 30))
    proxy.start()                  # in a thread of its own (for sync code)
    ...  connect to proxy.port ...
    proxy.stop()

or `async with proxy.running():` inside an event loop.

Every chunk read from one side is written to the other `Delay.draw()` ms
later: uniform between `low_ms` and `high_ms` (a fixed path delay plus
jitter). A TCP stream cannot overtake itself, so a chunk never leaves before
the one read before it: its release time is the later of its own and its
predecessor's (jitter then shows as queueing, as on a real link). Up is
client to server, down server to client. Queues are bounded: a full one
stops reading from that side until it drains.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

LOOPBACK = "127.0.0.1"
QUEUE_CHUNKS = 1024
READ_SIZE = 65536


@dataclass(frozen=True)
class Delay:
    low_ms: float = 0.0
    high_ms: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.low_ms <= self.high_ms:
            raise ValueError(f"a delay needs 0 <= low <= high, not {self.low_ms}..{self.high_ms}")

    def draw(self, rng: random.Random) -> float:
        return rng.uniform(self.low_ms, self.high_ms)

    @classmethod
    def parse(cls, text: str) -> Delay:
        """"20-60" (uniform 20 to 60 ms) or "25" (fixed)."""
        low, _, high = text.partition("-")
        return cls(float(low), float(high or low))


class DelayProxy:
    def __init__(self, target: tuple[str, int], *, up: Delay = Delay(), down: Delay = Delay(),
                 seed: int | None = None) -> None:
        if target[0] not in (LOOPBACK, "localhost"):
            raise ValueError("the delay proxy only forwards to loopback")
        self.target = target
        self.up = up
        self.down = down
        self.rng = random.Random(seed)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # pipes and senders
        self._conns: set[asyncio.Task[object]] = set()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    # -- async -------------------------------------------------------------------

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._accept, LOOPBACK, self.port or 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in [*self._tasks, *self._conns]:
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[DelayProxy]:
        await self.open()
        try:
            yield self
        finally:
            await self.close()

    def _spawn(self, coro: object) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _accept(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        me = asyncio.current_task()
        if me is not None:  # close() awaits every connection (ended by cancelling its pipes)
            self._conns.add(me)
            me.add_done_callback(self._conns.discard)
        try:
            s_reader, s_writer = await asyncio.open_connection(*self.target)
        except OSError:
            c_writer.close()
            with contextlib.suppress(OSError):
                await c_writer.wait_closed()
            return
        for writer in (c_writer, s_writer):
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pipes = [self._spawn(self._pipe(c_reader, s_writer, self.up)),
                 self._spawn(self._pipe(s_reader, c_writer, self.down))]
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pipes:
                task.cancel()
            for writer in (c_writer, s_writer):
                writer.close()
            for writer in (c_writer, s_writer):
                with contextlib.suppress(OSError, asyncio.CancelledError):
                    await writer.wait_closed()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    delay: Delay) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(QUEUE_CHUNKS)
        sender = self._spawn(self._send(queue, writer))
        last = 0.0
        try:
            while data := await reader.read(READ_SIZE):
                release = max(last, time.monotonic() + delay.draw(self.rng) / 1000)
                last = release
                await queue.put((release, data))
            await queue.put((last, b""))  # end of stream, after the rest
            await sender
        finally:
            sender.cancel()

    async def _send(self, queue: asyncio.Queue[tuple[float, bytes]],
                    writer: asyncio.StreamWriter) -> None:
        while True:
            release, data = await queue.get()
            wait = release - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                with contextlib.suppress(OSError):
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    # -- in a thread (for synchronous callers: Playwright's sync API, the bench) ------

    def start(self, timeout: float = 10.0) -> DelayProxy:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._stopping = asyncio.Event()

            async def main() -> None:
                assert self._stopping is not None
                await self.open()
                ready.set()
                await self._stopping.wait()
                await self.close()

            try:
                loop.run_until_complete(main())
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name=f"delay-proxy-{id(self)}", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("the delay proxy did not start")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None or self._loop is None or self._stopping is None:
            return
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout)
        self._thread = None
