"""One Redis pub/sub connection read by callbacks.

A process receives every event of every room it serves through pub/sub, so
this path is hot: redis-py's ``PubSub.get_message`` costs a task switch, a
timeout context and a retry wrapper per message. Here the event loop hands
what arrives to hiredis (the RESP parser redis-py uses too) and each reply
goes to the link at once, in the same callback.

Only what a subscriber needs: connect (TLS for ``rediss``, AUTH when the URL
has credentials), send commands, receive replies, notice the connection end.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from urllib.parse import unquote, urlsplit

import hiredis

from ensemble.backends.base import BackendUnavailable

Address = tuple[str, int]
Reply = Any  # a parsed RESP reply: bytes, int, list, or hiredis.ReplyError


@dataclass(frozen=True)
class Endpoint:
    """How to reach one node: its address and the credentials of the URL."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def of(cls, url: str, address: Address) -> Endpoint:
        parts = urlsplit(url)
        return cls(
            address[0],
            address[1],
            tls=parts.scheme == "rediss",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


class Connection(asyncio.Protocol):
    """A connection to Redis read by callbacks (`connect` opens one)."""

    _transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def close(self) -> None:
        if self._transport is not None:
            self._transport.abort()


class PubSubConnection(Connection):
    def __init__(self, on_reply: Callable[[Reply], None], on_lost: Callable[[str], None]) -> None:
        self._on_reply = on_reply
        self._on_lost = on_lost
        self._reader = hiredis.Reader()
        self._handshake: asyncio.Future[Reply] | None = None

    # -- asyncio.Protocol ------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            if self._handshake is not None and not self._handshake.done():
                self._handshake.set_result(reply)
            else:
                self._on_reply(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        reason = f"connection lost: {exc!r}" if exc else "connection closed by the server"
        if self._handshake is not None and not self._handshake.done():
            self._handshake.set_exception(BackendUnavailable(f"redis pub/sub {reason}"))
        self._on_lost(reason)

    # -- use ---------------------------------------------------------------------------

    def send(self, *args: str | bytes) -> None:
        if self._transport is None or self._transport.is_closing():
            raise BackendUnavailable("redis pub/sub is not connected")
        self._transport.write(hiredis.pack_command(args))  # type: ignore[arg-type]

    async def _authenticate(self, endpoint: Endpoint) -> None:
        if endpoint.password is None:
            return
        credentials = ([endpoint.username] if endpoint.username else []) + [endpoint.password]
        self._handshake = asyncio.get_running_loop().create_future()
        self.send("AUTH", *credentials)
        reply = await self._handshake
        if isinstance(reply, hiredis.ReplyError):
            raise BackendUnavailable(f"redis pub/sub AUTH refused: {reply}")


C = TypeVar("C", bound="Connection")


async def connect(
    endpoint: Endpoint,
    timeout: float,
    factory: Callable[[], C],
    handshake: Callable[[C], Awaitable[None]],
    what: str = "redis",
) -> C:
    """A connection made by `factory` (TLS for ``rediss``), its `handshake` done,
    within `timeout`; BackendUnavailable if not (and nothing left open)."""
    loop = asyncio.get_running_loop()
    context = ssl.create_default_context() if endpoint.tls else None
    connection: C | None = None
    try:
        async with asyncio.timeout(timeout):
            _, connection = await loop.create_connection(
                factory, endpoint.host, endpoint.port, ssl=context
            )
            await handshake(connection)
    except (OSError, TimeoutError) as error:
        if connection is not None:
            connection.close()
        where = f"{endpoint.host}:{endpoint.port}"
        raise BackendUnavailable(f"{what} {where}: {error!r}") from error
    except BaseException:
        if connection is not None:
            connection.close()
        raise
    return connection


async def open_pubsub(
    endpoint: Endpoint,
    timeout: float,
    on_reply: Callable[[Reply], None],
    on_lost: Callable[[str], None],
) -> PubSubConnection:
    """Connect (and authenticate) within `timeout`; BackendUnavailable if not."""

    async def authenticate(connection: PubSubConnection) -> None:
        await connection._authenticate(endpoint)

    return await connect(endpoint, timeout, lambda: PubSubConnection(on_reply, on_lost),
                         authenticate, "redis pub/sub")
