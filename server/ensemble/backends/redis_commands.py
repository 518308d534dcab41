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
command); the next call connects again. Used on one Redis; a Redis Cluster's
calls go through redis-py's cluster client, which follows the slot map.
"""

from __future__ import annotations

import asyncio
from collections import deque

import hiredis

from ensemble.backends.base import BackendUnavailable
from ensemble.backends.redis_pubsub import Connection, Endpoint, Reply, connect

Arg = str | bytes | int | float


class CommandConnection(Connection):
    def __init__(self) -> None:
        self._reader = hiredis.Reader()
        self._waiting: deque[asyncio.Future[Reply]] = deque()

    @property
    def open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        try:
            while (reply := self._reader.gets()) is not False:
                if self._waiting:
                    waiter = self._waiting.popleft()
                    if not waiter.done():  # a caller that gave up
                        waiter.set_result(reply)
        except hiredis.ProtocolError as error:
            self._fail(f"unreadable reply: {error}")
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._fail(f"connection lost: {exc!r}" if exc else "connection closed by the server")

    def _fail(self, reason: str) -> None:
        error = BackendUnavailable(f"redis: {reason}")
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(error)

    def send(self, args: tuple[Arg, ...]) -> asyncio.Future[Reply]:
        """Write a command; its reply resolves the returned future."""
        if self._transport is None or self._transport.is_closing():
            raise BackendUnavailable("redis: not connected")
        waiter: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._transport.write(hiredis.pack_command(args))  # type: ignore[arg-type]
        self._waiting.append(waiter)
        return waiter


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
        waiter = connection.send(args)
        try:
            async with asyncio.timeout(self._timeout):
                return await waiter
        except TimeoutError:
            connection.close()  # what is in flight can no longer be matched
            raise BackendUnavailable(f"redis: no reply within {self._timeout} s") from None

    async def _connected(self) -> CommandConnection:
        if self._connection is not None and self._connection.open:
            return self._connection
        async with self._connecting:
            if self._connection is None or not self._connection.open:
                self._connection = await self._connect()
            return self._connection

    async def _connect(self) -> CommandConnection:
        return await connect(self._endpoint, self._timeout, CommandConnection, self._handshake)

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

