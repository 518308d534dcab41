"""Script calls to one Redis over one pipelined connection read by callbacks.

Every commit is a script call. Through redis-py each call packed its command
in Python and went through a pool checkout, a retry wrapper and a timeout:
half of a commit's CPU (`bench/commit.py`). Here hiredis packs the command
(in C), it is written at once with any others in flight on the same
connection (Redis answers in order), and each reply resolves the future of
the oldest command still waiting, in the read callback.

Failures are those of a socket: a connection that breaks, or a reply later
than `timeout`, fails every command in flight with BackendUnavailable and
drops the connection (a later reply could no longer be matched to its
command); the next call connects again. Replies come in order, so only the
oldest command in flight can be the first late one: one timer per connection
watches it, instead of a timeout armed and cancelled around every call.
Used on one Redis; a Redis Cluster's calls go through redis-py's cluster
client, which follows the slot map.
"""

from __future__ import annotations

import asyncio
from collections import deque

import hiredis

from ensemble.backends.base import BackendUnavailable
from ensemble.backends.redis_pubsub import Connection, Endpoint, Reply, connect

Arg = str | bytes | int | float


class CommandConnection(Connection):
    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._reader = hiredis.Reader()
        # Each command in flight: its reply's future and when it is late.
        self._waiting: deque[tuple[asyncio.Future[Reply], float]] = deque()
        self._watch: asyncio.TimerHandle | None = None

    @property
    def open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        try:
            while (reply := self._reader.gets()) is not False:
                if self._waiting:
                    waiter, _ = self._waiting.popleft()
                    if not waiter.done():  # a caller that gave up
                        waiter.set_result(reply)
        except hiredis.ProtocolError as error:
            self._fail(f"unreadable reply: {error}")
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        self._fail(f"connection lost: {exc!r}" if exc else "connection closed by the server")

    def _fail(self, reason: str) -> None:
        error = BackendUnavailable(f"redis: {reason}")
        while self._waiting:
            waiter, _ = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(error)

    def send(self, args: tuple[Arg, ...]) -> asyncio.Future[Reply]:
        """Write a command; its reply resolves the returned future, or
        BackendUnavailable if it is not there within the timeout."""
        if self._transport is None or self._transport.is_closing():
            raise BackendUnavailable("redis: not connected")
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Reply] = loop.create_future()
        self._transport.write(hiredis.pack_command(args))  # type: ignore[arg-type]
        late_at = loop.time() + self._timeout
        self._waiting.append((waiter, late_at))
        if self._watch is None:
            self._watch = loop.call_at(late_at, self._check)
        return waiter

    def _check(self) -> None:
        """The watch: is the oldest command in flight late? Then the
        connection is given up; if not, look again when it would be."""
        self._watch = None
        if not self._waiting:
            return
        loop = asyncio.get_running_loop()
        late_at = self._waiting[0][1]
        if late_at > loop.time():
            self._watch = loop.call_at(late_at, self._check)
            return
        self._fail(f"no reply within {self._timeout} s")
        self.close()


class Commands:
    """Calls to one Redis (`db` selected, AUTH when the endpoint has credentials)."""

    def __init__(self, endpoint: Endpoint, db: int, timeout: float) -> None:
        self._endpoint = endpoint
        self._db = db
        self._timeout = timeout
        self._connection: CommandConnection | None = None
        self._connecting = asyncio.Lock()

    async def call(self, *args: Arg) -> Reply:
        """The command's reply (an error reply is returned, as hiredis.ReplyError)."""
        connection = await self._connected()
        return await connection.send(args)

    async def _connected(self) -> CommandConnection:
        if self._connection is not None and self._connection.open:
            return self._connection
        async with self._connecting:
            if self._connection is None or not self._connection.open:
                self._connection = await self._connect()
            return self._connection

    async def _connect(self) -> CommandConnection:
        timeout = self._timeout
        return await connect(self._endpoint, timeout, lambda: CommandConnection(timeout),
                             self._handshake)

    async def _handshake(self, connection: CommandConnection) -> None:
        """AUTH with the URL's credentials, SELECT its database."""
        endpoint = self._endpoint
        commands: list[tuple[Arg, ...]] = []
        if endpoint.password is not None:
            user = [endpoint.username] if endpoint.username else []
            commands.append(("AUTH", *user, endpoint.password))
        if self._db:
            commands.append(("SELECT", self._db))
        for command in commands:
            reply = await connection.send(command)
            if isinstance(reply, hiredis.ReplyError):
                raise BackendUnavailable(f"redis: {command[0]!r} refused: {reply}")

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        await asyncio.sleep(0)  # let the transport report its end

