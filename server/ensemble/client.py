"""An asyncio client for Ensemble: requests by ref, events, clock sync, resume.

    client = await Client.connect("ws://127.0.0.1:8000/ws", room=room_id,
                                  name="Ada", invite=invite)
    await client.request("chat.send", text="hello")
    event = await client.wait_for(lambda e: e["type"] == "chat.message")

Given several URLs, it fails over between them. When a connection drops with a
code that allows it, it reconnects with backoff and resumes from the last seq
it saw on each stream, so `events()` yields each event once and in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import websockets
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential_jitter,
)
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.typing import Subprotocol

from ensemble.sync import SyncFilter
from ensemble.wire.codec import (
    JSON_SUBPROTOCOL,
    MSGPACK_SUBPROTOCOL,
    DecodeError,
    Format,
    decode,
    encode,
)
from ensemble.wire.codes import TERMINAL_CODES, CloseCode, ErrorCode

log = logging.getLogger(__name__)

Event = dict[str, Any]


class ClientError(Exception):
    """The server answered a request with an error frame."""

    def __init__(self, code: str, message: str, ref: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.ref = ref


class ConnectionLost(Exception):
    """The connection ended before the request was answered."""


class Closed(Exception):
    """The connection ended for good (a terminal close code, or close() was called)."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"closed with {code}: {reason}")
        self.code = code
        self.reason = reason

    @property
    def room_gone(self) -> bool:
        """The room no longer exists (deleted, expired, or lost by the server)."""
        return self.code == CloseCode.ROOM_GONE


class Client:
    def __init__(
        self,
        urls: Sequence[str],
        hello: dict[str, Any],
        *,
        encoding: str = "msgpack",
        reconnect: bool = True,
        reconnect_for_s: float = 30.0,
    ) -> None:
        self.urls = list(urls)
        self.fmt = Format(encoding)
        self.reconnect = reconnect
        self.reconnect_for_s = reconnect_for_s
        self._hello = hello
        self.member_id = ""
        self.role = ""
        self.token = ""
        self.epoch = ""
        self.snapshot: dict[str, Any] = {}
        self.seqs: dict[str, int] = {}
        self.welcomes: list[dict[str, Any]] = []
        self.clock = SyncFilter()
        # Client ms: wall-clock at start, then monotonic (a stepped system
        # clock must not look like a jump of the server's).
        self._clock_base = time.time() * 1000 - time.monotonic() * 1000
        # The close code of every connection that ended (None: dropped without one).
        self.close_codes: list[int | None] = []
        self.closed: Closed | None = None
        self._ws: ClientConnection | None = None
        self._url_index = 0
        self._refs = itertools.count(1)
        self._pending: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        self._pongs: asyncio.Queue[tuple[dict[str, Any], float]] = asyncio.Queue()
        self._events: asyncio.Queue[Event | Closed] = asyncio.Queue()
        self._welcomed = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._syncer: asyncio.Task[None] | None = None
        self._sync_again = asyncio.Event()
        self._ping_lock = asyncio.Lock()

    # -- connecting ------------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        urls: str | Sequence[str],
        *,
        room: str,
        name: str,
        invite: str | None = None,
        host_key: str | None = None,
        token: str | None = None,
        role: str | None = None,
        person_key: str | None = None,
        resume: dict[str, Any] | None = None,
        encoding: str = "msgpack",
        reconnect: bool = True,
        timeout: float = 10.0,
    ) -> Client:
        """Connect, say hello, and return once welcomed (raises ClientError if refused).

        `resume` ({"epoch": ..., "room": seq, ...}, with `token`) asks for the
        events missed since those seqs, as after an automatic reconnect.
        `person_key` (from POST /api/people) makes the member that person, so
        the session is kept in their history; `welcome` then has `person_id`.
        """
        hello: dict[str, Any] = {"type": "hello", "room": room, "name": name}
        for key, value in (("invite", invite), ("host_key", host_key), ("token", token),
                           ("role", role), ("person_key", person_key)):
            if value is not None:
                hello[key] = value
        client = cls([urls] if isinstance(urls, str) else urls, hello, encoding=encoding,
                     reconnect=reconnect)
        if resume is not None and token is not None:
            client.token = token
            client.epoch = resume.get("epoch", "")
            client.seqs = {k: v for k, v in resume.items() if k != "epoch"}
        await client._open(timeout)
        return client

    async def _open(self, timeout: float) -> None:
        ws = await self._dial()
        try:
            async with asyncio.timeout(timeout):
                welcome = await self._say_hello(ws)
        except BaseException:
            await ws.close()
            raise
        self._ws = ws
        self._welcome(welcome)
        self._runner = asyncio.create_task(self._run())

    async def _dial(self) -> ClientConnection:
        subprotocol = Subprotocol(
            MSGPACK_SUBPROTOCOL if self.fmt is Format.MSGPACK else JSON_SUBPROTOCOL
        )
        url = self.urls[self._url_index % len(self.urls)]
        return await websockets.connect(
            url, subprotocols=[subprotocol], compression=None, proxy=None, open_timeout=5,
            max_size=2**22,
        )

    async def _say_hello(self, ws: ClientConnection) -> dict[str, Any]:
        hello = dict(self._hello)
        if self.token:
            hello.pop("invite", None)
            hello.pop("host_key", None)
            hello.pop("role", None)
            hello.pop("person_key", None)
            hello["token"] = self.token
            if self.epoch:
                hello["resume"] = {"epoch": self.epoch, **self.seqs}
        await ws.send(encode(hello, self.fmt) if self.fmt is Format.MSGPACK
                      else encode(hello, self.fmt).decode())
        while True:
            frame = decode(await ws.recv(), self.fmt)
            if frame["type"] == "welcome":
                return frame
            if frame["type"] == "error":
                raise ClientError(frame["code"], frame["message"])

    def _welcome(self, welcome: dict[str, Any]) -> None:
        self.member_id = welcome["member_id"]
        self.role = welcome["role"]
        self.person_id: str | None = welcome.get("person_id")
        self.token = welcome["token"]
        self.epoch = welcome["epoch"]
        self.snapshot = welcome["snapshot"]
        if not welcome["resumed"]:
            self.seqs = dict(welcome["seqs"])
        else:
            self.seqs = {s: self.seqs.get(s, 0) for s in welcome["seqs"]}
        if self.welcomes:  # a reconnect: consumers learn whether it resumed
            self._events.put_nowait(welcome)
            self._sync_again.set()  # the path (or the clocks) may have changed
        self.welcomes.append(welcome)
        self._welcomed.set()

    # -- the connection loop -----------------------------------------------------

    async def _run(self) -> None:
        while True:
            assert self._ws is not None
            code, reason = await self._receive(self._ws)
            self.close_codes.append(code)
            self._fail_pending()
            if self.closed is not None:
                return
            if not self.reconnect or code in TERMINAL_CODES:
                self._finish(Closed(code, reason))
                return
            try:
                await self._reconnect()
            except Closed as refused:  # the server refused the resume for good
                self._finish(refused)
                return
            except Exception as exc:
                self._finish(Closed(code, f"could not reconnect: {exc}"))
                return

    async def _reconnect(self) -> None:
        self._welcomed.clear()
        retrying = AsyncRetrying(
            wait=wait_exponential_jitter(multiplier=0.05, max=2.0, jitter=0.1),
            stop=stop_after_delay(self.reconnect_for_s),
            retry=retry_if_exception_type((OSError, InvalidHandshake, ConnectionClosed,
                                           TimeoutError, ClientError)),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                try:
                    ws = await self._dial()
                except (OSError, InvalidHandshake, TimeoutError):
                    self._url_index += 1  # try the next server
                    raise
                try:
                    async with asyncio.timeout(10):
                        welcome = await self._say_hello(ws)
                except ClientError as exc:
                    await ws.close()
                    if exc.code == ErrorCode.UNAVAILABLE:
                        raise
                    # A room that is no more is said as such, as the server closes.
                    gone = exc.code == ErrorCode.NOT_FOUND
                    code = CloseCode.ROOM_GONE if gone else CloseCode.POLICY
                    raise Closed(code, exc.message) from exc
                except BaseException:
                    await ws.close()
                    raise
        self._ws = ws
        self._welcome(welcome)

    async def _receive(self, ws: ClientConnection) -> tuple[int | None, str]:
        try:
            async for data in ws:
                try:
                    frame = decode(data, self.fmt)
                except DecodeError:
                    log.warning("undecodable frame from server")
                    continue
                self._dispatch(frame)
        except ConnectionClosed:
            pass
        return ws.close_code, ws.close_reason or ""

    def _dispatch(self, frame: dict[str, Any]) -> None:
        type_ = frame["type"]
        if type_ in ("ack", "error"):
            future = self._pending.pop(frame.get("ref"), None)
            if future is not None and not future.done():
                if type_ == "ack":
                    future.set_result(frame)
                else:
                    future.set_exception(
                        ClientError(frame["code"], frame["message"], frame.get("ref"))
                    )
            else:
                self._events.put_nowait(frame)  # a reply to a raw send()
            return
        if type_ == "pong":
            self._pongs.put_nowait((frame, self.client_now()))
            return
        stream, seq = frame.get("stream"), frame.get("seq")
        if isinstance(stream, str) and isinstance(seq, int):
            if seq <= self.seqs.get(stream, 0):
                return  # already seen (cannot happen with a correct server)
            self.seqs[stream] = seq
        self._events.put_nowait(frame)

    def _fail_pending(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionLost("the connection dropped"))
        self._pending.clear()

    def _finish(self, closed: Closed) -> None:
        self.closed = closed
        self._events.put_nowait(closed)

    # -- API -------------------------------------------------------------------

    async def request(self, type_: str, timeout: float = 10.0, **payload: Any) -> dict[str, Any]:
        """Send a request and return its ack; raise ClientError on an error frame."""
        async with asyncio.timeout(timeout):
            await self._welcomed.wait()
        ref = next(self._refs)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ref] = future
        try:
            await self.send({"type": type_, "ref": ref, **payload})
            async with asyncio.timeout(timeout):
                return await future
        finally:
            self._pending.pop(ref, None)  # answered, failed or given up: not pending

    async def send(self, frame: dict[str, Any] | bytes | str) -> None:
        """Send a raw frame (a dict is encoded in this client's format)."""
        if self._ws is None:
            raise ConnectionLost("not connected")
        if isinstance(frame, dict):
            data = encode(frame, self.fmt)
            frame = data if self.fmt is Format.MSGPACK else data.decode()
        try:
            await self._ws.send(frame)
        except ConnectionClosed as exc:
            raise ConnectionLost("the connection dropped") from exc

    async def events(self) -> AsyncIterator[Event]:
        """Every event, unclaimed reply and later welcome (after a reconnect), in order,
        until closed for good. The first welcome is `welcomes[0]`."""
        while True:
            item = await self._events.get()
            if isinstance(item, Closed):
                return
            yield item

    async def next_event(self, timeout: float = 10.0) -> Event:
        async with asyncio.timeout(timeout):
            item = await self._events.get()
        if isinstance(item, Closed):
            self._events.put_nowait(item)
            raise item
        return item

    async def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 10.0) -> Event:
        """The next event matching `predicate` (earlier ones are consumed)."""
        async with asyncio.timeout(timeout):
            while True:
                event = await self.next_event(timeout)
                if predicate(event):
                    return event

    def drain(self) -> list[Event]:
        """The events received so far and not yet consumed."""
        items: list[Event] = []
        while not self._events.empty():
            item = self._events.get_nowait()
            if isinstance(item, Closed):
                self._events.put_nowait(item)
                break
            items.append(item)
        return items

    def client_now(self) -> float:
        """This client's clock in ms (wall-clock based, monotonic)."""
        return self._clock_base + time.monotonic() * 1000

    async def sync_clock(self, samples: int = 5, timeout: float = 5.0) -> tuple[float, float]:
        """Take N ping/pong samples into the clock filter (ensemble.sync).

        Returns (offset_ms, error_ms): server minus client now, and the bound
        on its error. `start_clock_sync()` keeps sampling in the background.
        """
        for _ in range(samples):
            await self._ping(timeout)
        return self.offset_ms, self.offset_error_ms

    async def _ping(self, timeout: float) -> None:
        async with self._ping_lock:  # one in flight: sync_clock() and the background sync share
            t0 = self.client_now()
            await self.send({"type": "ping", "t0": t0})
            while True:
                async with asyncio.timeout(timeout):
                    pong, t1 = await self._pongs.get()
                if pong.get("t0") == t0:  # a late answer to an earlier ping is not this one
                    self.clock.add(t0, t1, pong["server_time"])
                    return

    def start_clock_sync(self, *, fast_for_s: float = 20.0, fast_every_s: float = 0.15,
                         every_s: float = 1.0) -> None:
        """Keep the clock synced until close(): pings every `fast_every_s` for
        `fast_for_s`, then every `every_s`, and fast again after each reconnect
        (as the web client does when it wakes up)."""
        if self._syncer is None or self._syncer.done():
            follow = self._follow_clock(fast_for_s, fast_every_s, every_s)
            self._syncer = asyncio.create_task(follow)

    async def _follow_clock(self, fast_for_s: float, fast_every_s: float, every_s: float) -> None:
        fast_until = time.monotonic() + fast_for_s
        self._sync_again.clear()
        while self.closed is None:
            try:
                await self._ping(timeout=5.0)
            except (TimeoutError, ConnectionLost, ConnectionClosed) as exc:
                log.debug("clock sync ping failed: %r", exc)
            wait = fast_every_s if time.monotonic() < fast_until else every_s
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._sync_again.wait()
            if self._sync_again.is_set():
                self._sync_again.clear()
                fast_until = time.monotonic() + fast_for_s

    @property
    def offset_ms(self) -> float:
        return self.clock.offset_at(self.client_now())

    @property
    def offset_error_ms(self) -> float:
        return self.clock.error_at(self.client_now())

    def server_now(self) -> float:
        return self.clock.server_now(self.client_now())

    async def drop(self) -> None:
        """Break the connection without a goodbye (tests: simulate a network drop)."""
        if self._ws is not None:
            self._ws.transport.abort()

    async def close(self) -> None:
        self.closed = self.closed or Closed(CloseCode.NORMAL, "closed by the client")
        if self._syncer is not None:
            self._syncer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._syncer
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


__all__ = ["Client", "ClientError", "Closed", "ConnectionLost", "InvalidURI"]
