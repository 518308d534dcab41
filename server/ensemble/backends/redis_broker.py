"""Fan-out through Redis sharded pub/sub, on one Redis or a Redis Cluster alike.

Each room has one shard channel (``<prefix>:{room}:ch``, on the room's slot);
commits SPUBLISH one message per commit on it, so on a cluster a room's
messages travel only on the shard that owns the room. A process holds one
pub/sub connection (a *link*) per node that owns a channel it listens to, read
by one task per link, and subscribes a room's channel when the room's first
local listener arrives (the call returns once the node confirmed it, so no
later commit can be missed) and unsubscribes when the last leaves.

**Moves.** A channel leaves its link when the link's connection breaks (the
node died, was paused or restarted) or when the node says the channel is gone
(SUNSUBSCRIBE it did not ask for: its slot moved to another node). Either way
the channel is *rehomed*: after a back-off the topology is read again, the
channel is subscribed on its current owner's link, and once that is confirmed
its listeners get ``None``: packets may have been missed, and they catch up
from history. A link never resubscribes silently, so no gap goes unnoticed.
On a single Redis the owner is always the same node and a rehome is a
reconnect. A silent connection (no reply to a PING in time) counts as broken.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import hiredis
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ResponseError

from ensemble.backends.base import BackendUnavailable, Listener
from ensemble.backends.redis_pubsub import (
    Address,
    Endpoint,
    PubSubConnection,
    Reply,
    open_pubsub,
)
from ensemble.wire.codec import unpack_msgpack
from ensemble.wire.packet import Packet

log = logging.getLogger(__name__)


@dataclass
class Topology:
    """Where a channel lives and how to reach a node: `owner` reads the slot map
    (cheap), `refresh` reloads it from the nodes, `endpoint` says how to connect."""

    owner: Callable[[bytes], Address]
    refresh: Callable[[], Awaitable[None]]
    endpoint: Callable[[Address], Endpoint]


@dataclass(eq=False)
class _Channel:
    """The local listeners of one room and the state of its subscription."""

    room_id: str
    name: bytes
    listeners: list[Listener] = field(default_factory=list)
    link: _Link | None = None
    live: asyncio.Event = field(default_factory=asyncio.Event)  # confirmed on `link`
    gap: bool = False  # tell listeners of a gap once confirmed again


class _Link:
    """One pub/sub connection to one node, and the channels subscribed on it.

    Replies arrive by callback (redis_pubsub.py); a task per link only pings
    the node and notices a connection that broke or went silent."""

    def __init__(self, broker: ShardedBroker, address: Address) -> None:
        self.broker = broker
        self.address = address
        self.channels: dict[bytes, _Channel] = {}
        self.connected = False
        self._connection: PubSubConnection | None = None
        self._outstanding: dict[bytes, int] = {}
        self._heard = asyncio.Event()  # a reply came since the event was cleared
        self._last_heard = time.monotonic()
        self._broken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.task = asyncio.create_task(self._run(), name=f"redis-pubsub-{address[1]}")

    def add(self, channel: _Channel) -> None:
        channel.link = self
        channel.live.clear()
        self.channels[channel.name] = channel
        if self.connected:
            with contextlib.suppress(BackendUnavailable):  # the link notices too
                self._send(b"SSUBSCRIBE", channel.name)

    async def remove(self, channel: _Channel) -> None:
        if self.channels.pop(channel.name, None) is not channel:
            return
        channel.link = None
        channel.live.clear()
        if self.connected:
            try:
                self._send(b"SUNSUBSCRIBE", channel.name)
            except BackendUnavailable as error:
                log.info("unsubscribe from room %s failed: %s", channel.room_id, error)

    def _send(self, command: bytes, name: bytes) -> None:
        if self._connection is None or not self.connected:
            raise BackendUnavailable("redis pub/sub is not connected")
        self._outstanding[name] = self._outstanding.get(name, 0) + 1
        self._connection.send(command, name)

    async def _run(self) -> None:
        try:
            await self._connect()
            await self._watch()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # Loud when a working link broke; quiet while a dead node is retried.
            level = logging.WARNING if self.connected else logging.INFO
            log.log(level, "redis pub/sub link to %s:%s lost: %r", *self.address, error)
        finally:
            self._drop()
        # Broken: every channel goes to its (possibly new) owner, with a gap.
        self.broker.lost(self)

    async def _connect(self) -> None:
        timeout = self.broker.socket_timeout
        self._connection = await open_pubsub(
            self.broker.topology.endpoint(self.address), timeout, self._reply, self._lost
        )
        self._heard.clear()
        self._connection.send(b"PING")
        await self._until_heard(timeout)
        self.connected = True
        for name in list(self.channels):
            self._send(b"SSUBSCRIBE", name)  # one per channel: slots differ

    async def _until_heard(self, timeout: float) -> None:
        heard: asyncio.Future[Any] = asyncio.ensure_future(self._heard.wait())
        waiting: set[asyncio.Future[Any]] = {heard, self._broken}
        try:
            done, _ = await asyncio.wait(waiting, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            heard.cancel()
        if self._broken.done():
            self._broken.result()  # raises why
        if not done:
            raise TimeoutError("redis pub/sub did not answer")

    async def _watch(self) -> None:
        """Ping every `ping_interval`; a link silent for three of them is broken."""
        interval = self.broker.ping_interval
        last_ping = time.monotonic()
        while True:
            done, _ = await asyncio.wait({self._broken}, timeout=interval / 2)
            if done:
                self._broken.result()  # raises why
            now = time.monotonic()
            if now - self._last_heard > interval * 3:
                raise TimeoutError("pub/sub connection went silent")
            if now - last_ping >= interval:
                last_ping = now
                assert self._connection is not None
                self._connection.send(b"PING")

    def _lost(self, reason: str) -> None:
        if not self._broken.done():
            self._broken.set_exception(ConnectionError(reason))

    def _reply(self, reply: Reply) -> None:
        self._last_heard = time.monotonic()
        self._heard.set()
        if isinstance(reply, hiredis.ReplyError):
            # A refused (un)subscribe (MOVED: the slot is elsewhere): as before,
            # the link gives up and its channels find their owners again.
            if not self._broken.done():
                self._broken.set_exception(ResponseError(str(reply)))
            return
        if not isinstance(reply, list) or len(reply) < 3:
            return  # PONG
        kind, name, data = reply[0], reply[1], reply[2]
        try:
            self._handle(kind, name, data)
        except Exception:
            log.exception("a pub/sub message of %r could not be handled", name)

    def _handle(self, kind: bytes, name: bytes, data: Any) -> None:
        if kind == b"smessage":
            channel = self.channels.get(name)
            if channel is None:
                return
            deadline, packets = unpack_msgpack(data)
            self.broker.told_deadline(channel.room_id, deadline)
            for packed in packets:
                self.broker.deliver(channel, Packet.from_bytes(packed))
            return
        requested = False
        if kind in (b"ssubscribe", b"sunsubscribe"):
            left = self._outstanding.get(name, 0) - 1
            requested = left >= 0
            if left > 0:
                self._outstanding[name] = left
                return  # a later (un)subscribe of this channel decides
            self._outstanding.pop(name, None)
        channel = self.channels.get(name)
        if channel is None:
            return
        if kind == b"ssubscribe":
            channel.live.set()
            self.broker.confirmed()
            if channel.gap:
                channel.gap = False
                self.broker.deliver(channel, None)
        elif kind == b"sunsubscribe" and not requested:
            # The node let go of the channel: its slot moved elsewhere.
            log.info("room %s's channel left %s:%s", channel.room_id, *self.address)
            del self.channels[name]
            channel.link = None
            channel.live.clear()
            self.broker.rehome([channel])

    def _drop(self) -> None:
        self.connected = False
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
        if not self._broken.done():
            self._broken.set_exception(ConnectionError("closed"))
        self._broken.exception()  # retrieved: no "never retrieved" warning

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task
        self._drop()


class ShardedBroker:
    def __init__(
        self,
        topology: Topology,
        channel_of: Callable[[str], bytes],
        *,
        socket_timeout: float,
        ping_interval: float,
        reconnect_backoff: tuple[float, float],
        on_deadline: Callable[[str, int | None], None] | None = None,
    ) -> None:
        self.topology = topology
        self.ping_interval = ping_interval
        self._channel_of = channel_of
        self.socket_timeout = socket_timeout
        self._backoff = ExponentialWithJitterBackoff(
            base=reconnect_backoff[0], cap=reconnect_backoff[1]
        )
        self._failures = 0
        self._on_deadline = on_deadline
        self._channels: dict[str, _Channel] = {}
        self._links: dict[Address, _Link] = {}
        self._homeless: list[_Channel] = []
        self._rehoming: asyncio.Task[None] | None = None
        self._closed = False

    # -- the Broker role ---------------------------------------------------------

    async def subscribe(self, room_id: str, listener: Listener) -> None:
        """Returns once the room's channel is confirmed (at once if it was)."""
        if self._closed:
            raise RuntimeError("the broker is closed")
        channel = self._channels.get(room_id)
        if channel is None:
            channel = self._channels[room_id] = _Channel(room_id, self._channel_of(room_id))
            self._place(channel)
        channel.listeners.append(listener)
        try:
            async with asyncio.timeout(self.socket_timeout * 2):
                await channel.live.wait()
        except TimeoutError:
            await self.unsubscribe(room_id, listener)
            raise BackendUnavailable("redis did not confirm the subscription in time") from None
        except BaseException:
            await self.unsubscribe(room_id, listener)
            raise

    async def unsubscribe(self, room_id: str, listener: Listener) -> None:
        channel = self._channels.get(room_id)
        if channel is None:
            return
        if listener in channel.listeners:
            channel.listeners.remove(listener)
        if channel.listeners:
            return
        del self._channels[room_id]
        if channel in self._homeless:
            self._homeless.remove(channel)
        if channel.link is not None:
            await channel.link.remove(channel)

    async def close(self) -> None:
        self._closed = True
        if self._rehoming is not None:
            self._rehoming.cancel()
        for link in list(self._links.values()):
            await link.close()
        self._links.clear()
        self._channels.clear()
        self._homeless.clear()

    # -- inspection (tests, readiness) ---------------------------------------------

    def rooms(self) -> set[str]:
        return set(self._channels)

    def live(self) -> bool:
        """Whether every channel is confirmed where it belongs now."""
        return all(c.live.is_set() for c in self._channels.values())

    def links(self) -> dict[Address, list[str]]:
        return {a: [c.room_id for c in link.channels.values()] for a, link in self._links.items()}

    # -- what links report ---------------------------------------------------------

    def deliver(self, channel: _Channel, packet: Packet | None) -> None:
        for listener in list(channel.listeners):
            try:
                listener(packet)
            except Exception:
                log.exception("a listener of room %s failed", channel.room_id)

    def told_deadline(self, room_id: str, deadline: int | None) -> None:
        if self._on_deadline is not None:
            self._on_deadline(room_id, deadline)

    def confirmed(self) -> None:
        self._failures = 0

    def lost(self, link: _Link) -> None:
        if self._links.get(link.address) is link:
            del self._links[link.address]
        channels = list(link.channels.values())
        link.channels.clear()
        for channel in channels:
            channel.link = None
            channel.live.clear()
        if channels and not self._closed:
            self._failures += 1
            self.rehome(channels)

    def rehome(self, channels: list[_Channel]) -> None:
        """Find the channels' current owners (after a back-off) and subscribe
        there; their listeners hear of the gap once that is confirmed."""
        for channel in channels:
            channel.gap = True
            if channel not in self._homeless:
                self._homeless.append(channel)
        if self._rehoming is None or self._rehoming.done():
            self._rehoming = asyncio.create_task(self._rehome(), name="redis-pubsub-rehome")

    # -- placing channels -------------------------------------------------------------

    def _place(self, channel: _Channel) -> None:
        try:
            address = self.topology.owner(channel.name)
        except Exception as error:  # no owner known right now (slot uncovered)
            log.info("no owner for room %s's channel yet: %r", channel.room_id, error)
            self.rehome([channel])
            return
        link = self._links.get(address)
        if link is None:
            link = self._links[address] = _Link(self, address)
        link.add(channel)

    async def _rehome(self) -> None:
        while self._homeless and not self._closed:
            await asyncio.sleep(self._backoff.compute(max(1, self._failures)))
            try:
                await self.topology.refresh()
            except Exception as error:
                self._failures += 1
                log.info("reading the redis topology failed: %r", error)
                continue
            homeless, self._homeless = self._homeless, []
            for channel in homeless:
                if self._channels.get(channel.room_id) is channel and channel.link is None:
                    self._place(channel)
