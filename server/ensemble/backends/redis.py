"""The Redis backend: any number of processes share the rooms through one Redis.

What Redis holds, per room (all keys and the channel of a room carry the hash
tag ``{room_id}``, so on a Redis Cluster a room lives on one shard):

* ``<prefix>:{room}:state`` -- hash: ``data`` (msgpack of ``RoomState.to_dict()``),
  ``v`` (version, +1 per commit), ``summary`` (msgpack of ``Room.summary()``,
  for the listing), ``c`` (token of the last commit).
* ``<prefix>:{room}:h:<key>`` -- one stream per history (``room``, ``mentors``,
  ``direct:<member>``), entry id ``<seq>-0`` so ``history(after)`` is one exact
  XRANGE, trimmed to ``settings.history_size`` entries.
* ``<prefix>:{room}:ch`` -- the pub/sub channel: one message per commit, a
  msgpack array of ``Packet.to_bytes()``, in commit order.
* ``<prefix>:{room}:leases`` -- zset ``<node>|<conn>`` scored by lease expiry.
* ``<prefix>:{room}:log`` -- list of the report's records (msgpack maps), at
  most ``settings.record_log_size``; the state hash counts the overflow in
  ``dropped``.
* ``<prefix>:{room}:hkeys`` -- set of the room's history stream keys, so
  deletion finds the direct histories of members the state has forgotten.
* ``<prefix>:{room}:lease_clock`` -- server time of the last lease call on the
  room; a longer silence than a heartbeat allows is a stall nobody is blamed for.

And three indexes across rooms: ``<prefix>:schedule`` (zset room -> next
deadline), ``<prefix>:public`` (set of listed rooms), ``<prefix>:presence``
(set of rooms that have leases). Two plain keys: ``<prefix>:run`` (a marker
written once; its loss means Redis lost its data) and ``<prefix>:signing_key``
(the token key shared by processes started without ``ENSEMBLE_SECRET``).

**Commit.** ``transact`` loads state and version, rebuilds the room, runs the
pure command, encodes each event once (`Packet.of`), then ONE Lua script
(``redis_commit.lua``, run by EVALSHA) checks the version, stores the state,
appends to the histories, updates the schedule and the listing and publishes.
Publication happens inside the script, so the channel order is the commit order.
On a version conflict the command is re-run on the fresh state, with a jittered
backoff, at most ``MAX_ATTEMPTS`` times. Within one process, transactions on
one room queue behind a local lock, so conflicts only arise between processes.
A commit token makes a retried EVALSHA (reply lost, command re-sent) idempotent.
A command that changes nothing and emits nothing writes nothing (idle ticks).

**Cluster trade-off.** The script also writes the two cross-room indexes
(schedule, public), which is atomic and simple on a single Redis (and on
Sentinel/replicas). On a Cluster those keys sit in another slot than the room
and a script may not touch them. The plan there: the script keeps the room's
deadline and summary in the room's own hash (same slot, still atomic), and the
process mirrors them into one schedule zset per shard right after the commit
(``<prefix>:{shard-N}:schedule``). The mirror is not atomic with the commit,
which is safe because a tick is idempotent: a room ticked with nothing due
commits nothing, and the worst a lost mirror write costs is a late wake-up,
repaired by a periodic sweep comparing room hashes to the index. Presence is
already laid out that way (the per-room lease script touches only the room's
slot; the ``presence`` set is maintained beside it and healed on every
heartbeat). Publishing would become SPUBLISH (sharded pub/sub) on the same tag.

**Fan-out.** One pub/sub connection per process, read by one task. A room's
channel is subscribed when its first local listener arrives (the call returns
once Redis confirmed the subscription, so no commit after it can be missed) and
unsubscribed when the last leaves. When the connection breaks, the task backs
off, reconnects, resubscribes every room and then calls every listener with
``None``: packets may have been missed and listeners catch up from ``history``.
The pub/sub client never retries by itself, so no silent resubscription can
hide a gap. A silent connection (no reply to a PING in time) counts as broken.

**Deletion.** A closed room is due again at the end of its retention; the
scheduler then calls ``delete_room``, which removes its keys (the direct
histories are named after the members in its state) and its index entries in
one MULTI/EXEC.

**Unavailability.** Every Redis error that means "cannot reach / cannot serve
now" is raised as ``BackendUnavailable``; commands time out after
``socket_timeout`` seconds. redis-py reconnects per command by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ensemble.backends.base import BackendUnavailable, Command, Listener
from ensemble.core import Outcome, Room, RoomGone
from ensemble.core.state import RoomState
from ensemble.settings import Settings
from ensemble.wire.codec import EncodeError
from ensemble.wire.packet import Packet

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 50
SCRIPTS = Path(__file__).parent
# Replies that mean "this Redis cannot serve now", not "the request is wrong".
UNAVAILABLE_REPLIES = ("LOADING", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "OOM", "BUSY")

COMMITTED, ALREADY, CONFLICT, MISSING = 1, 2, 0, -1


def _pack(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields_of(obj: Any) -> dict[str, Any]:
    """msgpack's hook for the state's dataclasses: their fields, shallowly (msgpack
    recurses). Same result as `RoomState.to_dict()` without asdict's deep copies,
    which cost most of a commit's CPU on a large room."""
    names = _FIELDS.get(type(obj))
    if names is None:
        if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
            raise TypeError(f"cannot store {type(obj).__name__} in room state")
        names = _FIELDS[type(obj)] = tuple(f.name for f in dataclasses.fields(obj))
    return {name: getattr(obj, name) for name in names}


def dump_state(state: RoomState) -> bytes:
    """The stored form of a room: msgpack of `state.to_dict()`."""
    try:
        return msgpack.packb(state, default=_fields_of, use_bin_type=True)
    except (ValueError, OverflowError) as exc:  # UnicodeEncodeError is a ValueError
        raise EncodeError(f"cannot store room {state.id}: {type(exc).__name__}") from exc


def _unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False)


@contextlib.contextmanager
def _unavailable() -> Iterator[None]:
    """Map Redis failures to BackendUnavailable."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError) as error:
        raise BackendUnavailable(f"redis: {error}") from error
    except ResponseError as error:
        if str(error).startswith(UNAVAILABLE_REPLIES):
            raise BackendUnavailable(f"redis: {error}") from error
        raise


@dataclass
class _Channel:
    """The local listeners of one room and the state of its subscription."""

    room_id: str
    listeners: list[Listener] = field(default_factory=list)
    # Resolved when Redis confirmed the subscription on the current connection.
    confirmed: asyncio.Future[None] | None = None


class RedisBackend:
    def __init__(
        self,
        settings: Settings,
        *,
        prefix: str = "ensemble",
        socket_timeout: float = 1.0,
        ping_interval: float = 2.0,
        reconnect_backoff: tuple[float, float] = (0.05, 2.0),
    ) -> None:
        if not settings.redis_url:
            raise ValueError("RedisBackend needs settings.redis_url (redis://HOST:PORT/DB)")
        self._url = settings.redis_url
        self._history_size = settings.history_size
        self._record_log_size = settings.record_log_size
        self._presence_ttl_ms = settings.presence_ttl_ms
        self._prefix = prefix
        self._socket_timeout = socket_timeout
        self._ping_interval = ping_interval
        self._reconnect_backoff = ExponentialWithJitterBackoff(
            base=reconnect_backoff[0], cap=reconnect_backoff[1]
        )
        self._conflict_backoff = ExponentialWithJitterBackoff(base=0.001, cap=0.05)
        self._redis: aioredis.Redis | None = None
        self._pubsub_client: aioredis.Redis | None = None
        self._commit: Any = None
        self._presence: Any = None
        self._channels: dict[str, _Channel] = {}
        self._by_channel: dict[bytes, _Channel] = {}
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._lease_rooms: set[str] = set()
        self._reader: asyncio.Task[None] | None = None
        self._pubsub: Any = None
        self._outstanding: dict[bytes, int] = {}
        self._connected = asyncio.Event()
        self._run_id: bytes | None = None

    # -- keys ------------------------------------------------------------------

    def _key(self, room_id: str, name: str) -> str:
        return f"{self._prefix}:{{{room_id}}}:{name}"

    def _channel(self, room_id: str) -> bytes:
        return self._key(room_id, "ch").encode()

    @property
    def _schedule(self) -> str:
        return f"{self._prefix}:schedule"

    @property
    def _public(self) -> str:
        return f"{self._prefix}:public"

    @property
    def _presence_rooms(self) -> str:
        return f"{self._prefix}:presence"

    @property
    def _run_key(self) -> str:
        return f"{self._prefix}:run"

    @property
    def _signing_key(self) -> str:
        return f"{self._prefix}:signing_key"

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Create the clients and the pub/sub reader; connecting happens lazily,
        so a process starts (not ready) while Redis is down and recovers by itself."""
        common: dict[str, Any] = {
            "decode_responses": False,
            "socket_timeout": self._socket_timeout,
            "socket_connect_timeout": self._socket_timeout,
        }
        self._redis = aioredis.Redis.from_url(
            self._url,
            retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.1), 1),
            **common,
        )
        self._pubsub_client = aioredis.Redis.from_url(
            self._url, retry=Retry(NoBackoff(), 0), **common
        )
        self._commit = self._redis.register_script((SCRIPTS / "redis_commit.lua").read_bytes())
        self._presence = self._redis.register_script((SCRIPTS / "redis_presence.lua").read_bytes())
        self._reader = asyncio.create_task(self._read_forever(), name="redis-pubsub")

    async def close(self) -> None:
        if self._reader is not None:
            # redis-py's get_message can swallow a cancellation that lands as
            # its own read timeout expires; cancel until the reader is gone.
            while not self._reader.done():
                self._reader.cancel()
                await asyncio.wait({self._reader}, timeout=0.2)
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self._drop_pubsub()
        for channel in self._channels.values():
            if channel.confirmed is not None and not channel.confirmed.done():
                channel.confirmed.cancel()
        self._channels.clear()
        self._by_channel.clear()
        for client in (self._redis, self._pubsub_client):
            if client is not None:
                await client.aclose()
        self._redis = self._pubsub_client = None

    @property
    def redis(self) -> Any:
        # Any: redis-py's stubs type replies as bytes | str; with
        # decode_responses=False they are always bytes.
        if self._redis is None:
            raise RuntimeError("RedisBackend used before start() or after close()")
        return self._redis

    async def ready(self) -> bool:
        """Redis answers and still holds the run marker `continuity` last saw."""
        try:
            async with asyncio.timeout(self._socket_timeout):
                if self._run_id is None:
                    await self.continuity()  # the first call: nothing was known to lose
                marker = await self.redis.get(self._run_key)
        except Exception:  # any failure means "not ready"
            return False
        return marker is not None and marker == self._run_id

    async def continuity(self) -> bool:
        """A run marker, written once (SET NX) by the first process on an empty
        Redis, tells whether Redis kept its data: gone or replaced means it was
        restarted without persistence or flushed since the last call."""
        with _unavailable():
            await self.redis.set(self._run_key, secrets.token_hex(8), nx=True)
            marker = await self.redis.get(self._run_key)
        known, self._run_id = self._run_id, marker
        return known is None or known == marker

    async def shared_key(self, candidate: str) -> str:
        with _unavailable():
            await self.redis.set(self._signing_key, candidate.encode(), nx=True)
            stored = await self.redis.get(self._signing_key)
        return candidate if stored is None else stored.decode()

    # -- rooms -----------------------------------------------------------------

    async def create_room(self, room: Room) -> None:
        status, _ = await self._write(room, -1, [])
        if status != COMMITTED:
            raise ValueError(f"room {room.state.id} exists already")

    async def delete_room(self, room_id: str) -> None:
        names = ["state", "leases", "lease_clock", "log", "hkeys", "h:room", "h:mentors"]
        with _unavailable():
            histories = await self.redis.smembers(self._key(room_id, "hkeys"))
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(*(self._key(room_id, name) for name in names), *histories)
                pipe.zrem(self._schedule, room_id)
                pipe.srem(self._public, room_id)
                pipe.srem(self._presence_rooms, room_id)
                await pipe.execute()

    async def load_room(self, room_id: str) -> Room | None:
        with _unavailable():
            data = await self.redis.hget(self._key(room_id, "state"), "data")
        if data is None:
            return None
        return Room(RoomState.from_dict(_unpack(data)))

    async def transact(self, room_id: str, command: Command) -> Outcome:
        async with self._room_lock(room_id):
            for attempt in range(MAX_ATTEMPTS):
                with _unavailable():
                    data, version = await self.redis.hmget(
                        self._key(room_id, "state"), ["data", "v"]
                    )
                if data is None or version is None:
                    raise RoomGone(f"no room {room_id}")
                room = Room(RoomState.from_dict(_unpack(data)))
                outcome = command(room)
                # Encoded before the commit: if this raises, nothing is written.
                packets = [Packet.of(event) for event in outcome.events]
                if not packets and not outcome.records and dump_state(room.state) == data:
                    return outcome  # nothing happened: nothing to write
                status, _ = await self._write(room, int(version), packets, outcome.records)
                if status in (COMMITTED, ALREADY):
                    return outcome
                if status == MISSING:
                    raise RoomGone(f"no room {room_id}")
                await asyncio.sleep(self._conflict_backoff.compute(attempt + 1))
        raise BackendUnavailable(f"room {room_id}: {MAX_ATTEMPTS} commits in a row conflicted")

    async def _write(
        self,
        room: Room,
        expected: int,
        packets: list[Packet],
        records: list[dict[str, Any]] | None = None,
    ) -> tuple[int, int]:
        records = records or []
        room_id = room.state.id
        deadline = room.next_deadline()
        listed = room.state.visibility == "public" and not room.closed
        keys = [
            self._key(room_id, "state"),
            self._schedule,
            self._public,
            self._key(room_id, "log"),
            self._key(room_id, "hkeys"),
        ]
        args: list[Any] = [
            expected,
            secrets.token_bytes(12),
            dump_state(room.state),
            _pack(room.summary()),
            room_id,
            "" if deadline is None else deadline,
            1 if listed else 0,
            self._history_size,
            self._channel(room_id),
            _pack([p.to_bytes() for p in packets]) if packets else b"",
            self._record_log_size,
            len(records),
            *(_pack(record) for record in records),
        ]
        for packet in packets:
            keys.append(self._key(room_id, f"h:{packet.key}"))
            args += [f"{packet.seq}-0", packet.to_bytes()]
        with _unavailable():
            status, version = await self._commit(keys=keys, args=args)
        return int(status), int(version)

    @contextlib.asynccontextmanager
    async def _room_lock(self, room_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(room_id, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[room_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[room_id]
            if users == 1:
                del self._locks[room_id]
            else:
                self._locks[room_id] = (lock, users - 1)

    # -- history -----------------------------------------------------------------

    async def history(self, room_id: str, key: str, after: int) -> list[Packet] | None:
        with _unavailable():
            entries = await self.redis.xrange(self._key(room_id, f"h:{key}"), f"{after + 1}-0", "+")
        packets = [Packet.from_bytes(fields[b"p"]) for _, fields in entries]
        if packets and packets[0].seq != after + 1:
            return None
        # No entry after `after`: nothing was missed (the newest entry is never trimmed).
        return packets

    async def recent(self, room_id: str, key: str, count: int) -> list[Packet]:
        if count <= 0:
            return []
        with _unavailable():
            entries = await self.redis.xrevrange(self._key(room_id, f"h:{key}"), count=count)
        return [Packet.from_bytes(fields[b"p"]) for _, fields in reversed(entries)]

    async def records(self, room_id: str) -> tuple[list[dict[str, Any]], int]:
        with _unavailable():
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.lrange(self._key(room_id, "log"), 0, -1)
                pipe.hget(self._key(room_id, "state"), "dropped")
                log, dropped = await pipe.execute()
        return [_unpack(r) for r in log], int(dropped or 0)

    async def list_rooms(self) -> list[dict[str, Any]]:
        with _unavailable():
            ids = sorted(await self.redis.smembers(self._public))
            if not ids:
                return []
            async with self.redis.pipeline(transaction=False) as pipe:
                for room_id in ids:
                    pipe.hget(self._key(room_id.decode(), "state"), "summary")
                summaries = await pipe.execute()
        rooms = [_unpack(s) for s in summaries if s is not None]
        return [r for r in rooms if r.get("visibility") == "public" and r.get("state") == "open"]

    # -- schedule ----------------------------------------------------------------

    async def due_rooms(self, now: int) -> list[str]:
        with _unavailable():
            ids = await self.redis.zrangebyscore(self._schedule, "-inf", now)
        return [room_id.decode() for room_id in ids]

    async def next_deadline(self) -> int | None:
        with _unavailable():
            first = await self.redis.zrange(self._schedule, 0, 0, withscores=True)
        return int(first[0][1]) if first else None

    # -- presence ----------------------------------------------------------------

    async def refresh_presence(self, node_id: str, conns: dict[str, list[str]]) -> None:
        if "|" in node_id:
            raise ValueError(f"node id {node_id!r} may not contain '|'")
        rooms = {room_id: ids for room_id, ids in conns.items() if ids}
        # Rooms this node had leases in last time and has none now: drop them.
        gone = self._lease_rooms - set(rooms)
        with _unavailable():
            if rooms:
                await self.redis.sadd(self._presence_rooms, *rooms)
            for room_id in [*rooms, *gone]:
                await self._presence(
                    keys=self._lease_keys(room_id),
                    args=["refresh", *self._lease_args, node_id, *rooms.get(room_id, [])],
                )
        self._lease_rooms = set(rooms)

    def _lease_keys(self, room_id: str) -> list[str]:
        return [self._key(room_id, "leases"), self._key(room_id, "lease_clock")]

    @property
    def _lease_args(self) -> list[int]:
        """ttl, and the silence after which a stall is assumed (redis_presence.lua):
        half a ttl, 1.5 heartbeats, since live processes call every heartbeat."""
        return [self._presence_ttl_ms, self._presence_ttl_ms // 2]

    async def orphaned_connections(self) -> dict[str, list[str]]:
        orphans: dict[str, list[str]] = {}
        with _unavailable():
            for raw in await self.redis.smembers(self._presence_rooms):
                room_id = raw.decode()
                expired, left = await self._presence(
                    keys=self._lease_keys(room_id), args=["reap", *self._lease_args]
                )
                if expired:
                    orphans[room_id] = [m.decode().partition("|")[2] for m in expired]
                if not left:
                    # Not atomic with the lease zset; a live node re-adds the room
                    # on its next heartbeat, well before its leases could lapse.
                    await self.redis.srem(self._presence_rooms, room_id)
        return orphans

    # -- fan-out -----------------------------------------------------------------

    async def subscribe(self, room_id: str, listener: Listener) -> None:
        """Returns once Redis confirmed the room's subscription (at once if it was)."""
        channel = self._channels.get(room_id)
        if channel is None:
            channel = self._channels[room_id] = _Channel(room_id)
            self._by_channel[self._channel(room_id)] = channel
        channel.listeners.append(listener)
        try:
            async with asyncio.timeout(self._socket_timeout * 2):
                await self._confirm(channel)
        except TimeoutError:
            await self._remove(channel, listener)
            raise BackendUnavailable("redis did not confirm the subscription in time") from None
        except BaseException:
            await self._remove(channel, listener)
            raise

    async def _confirm(self, channel: _Channel) -> None:
        while True:
            if channel.confirmed is None:
                await self._connected.wait()
                if channel.confirmed is None:  # not among the rooms the reader resubscribed
                    channel.confirmed = asyncio.get_running_loop().create_future()
                    await self._send("subscribe", channel)
            confirmed = channel.confirmed
            await asyncio.wait({confirmed})
            if not confirmed.cancelled():
                return
            # The connection was reset meanwhile: wait for the reader to resubscribe.
            if channel.confirmed is confirmed:
                channel.confirmed = None

    async def unsubscribe(self, room_id: str, listener: Listener) -> None:
        channel = self._channels.get(room_id)
        if channel is not None:
            await self._remove(channel, listener)

    async def _remove(self, channel: _Channel, listener: Listener) -> None:
        if listener in channel.listeners:
            channel.listeners.remove(listener)
        if channel.listeners or self._channels.get(channel.room_id) is not channel:
            return
        del self._channels[channel.room_id]
        del self._by_channel[self._channel(channel.room_id)]
        if channel.confirmed is not None and not channel.confirmed.done():
            channel.confirmed.cancel()
        try:
            await self._send("unsubscribe", channel)
        except BackendUnavailable as error:
            # Broken connection: the reader reconnects with the current rooms only.
            log.info("unsubscribe from room %s failed: %s", channel.room_id, error)

    async def _send(self, command: str, channel: _Channel) -> None:
        """Send (UN)SUBSCRIBE; the reader resolves `confirmed` when Redis answers."""
        pubsub = self._pubsub
        if pubsub is None or not self._connected.is_set():
            # The reader subscribes every current room once it is connected again.
            raise BackendUnavailable("redis pub/sub is not connected")
        name = self._channel(channel.room_id)
        self._outstanding[name] = self._outstanding.get(name, 0) + 1
        with _unavailable():
            await getattr(pubsub, command)(name)

    async def _read_forever(self) -> None:
        """Own the pub/sub connection: connect, resubscribe, read. On failure log,
        back off and start over, then tell listeners that packets may be lost."""
        failures = 0
        broken = False
        while True:
            try:
                early = await self._connect_pubsub()
                if broken:
                    log.warning("redis pub/sub connection is back")
                    self._notify_gap()
                    broken = False
                failures = 0
                for message in early:
                    self._handle(message)
                await self._read()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures += 1
                if not broken:
                    log.warning("redis pub/sub connection lost: %r", error)
                broken = True
                await self._drop_pubsub()
                for channel in self._channels.values():
                    if channel.confirmed is not None and not channel.confirmed.done():
                        channel.confirmed.cancel()
                    channel.confirmed = None
                await asyncio.sleep(self._reconnect_backoff.compute(failures))

    async def _connect_pubsub(self) -> list[dict[str, Any]]:
        """Connect and subscribe every current room; returns the packets that
        arrived meanwhile (delivered after listeners were told of the gap)."""
        assert self._pubsub_client is not None
        pubsub = self._pubsub = self._pubsub_client.pubsub()
        self._outstanding = {}
        await pubsub.connect()
        await pubsub.ping()
        loop = asyncio.get_running_loop()
        for channel in self._channels.values():
            if channel.confirmed is not None and not channel.confirmed.done():
                channel.confirmed.cancel()
            channel.confirmed = loop.create_future()
        self._connected.set()
        if self._channels:
            names = [self._channel(room_id) for room_id in self._channels]
            for name in names:
                self._outstanding[name] = 1
            await pubsub.subscribe(*names)
        early: list[dict[str, Any]] = []
        deadline = time.monotonic() + self._socket_timeout * 2
        while any(c.confirmed and not c.confirmed.done() for c in self._channels.values()):
            if time.monotonic() > deadline:
                raise RedisTimeoutError("resubscription not confirmed in time")
            message = await pubsub.get_message(timeout=self._socket_timeout)
            if message is None:
                continue
            if message["type"] == "message":
                early.append(message)
            else:
                self._handle(message)
        return early

    async def _read(self) -> None:
        pubsub = self._pubsub
        last_heard = last_ping = time.monotonic()
        while True:
            message = await pubsub.get_message(timeout=self._ping_interval / 2)
            now = time.monotonic()
            if message is not None:
                last_heard = now
                self._handle(message)
                continue
            if now - last_heard > self._ping_interval * 3:
                raise RedisTimeoutError("pub/sub connection went silent")
            if now - last_ping >= self._ping_interval:
                last_ping = now
                await pubsub.ping()

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        name = message.get("channel") or b""
        if kind in ("subscribe", "unsubscribe"):
            left = self._outstanding.get(name, 1) - 1
            if left > 0:
                self._outstanding[name] = left
                return  # a later (un)subscribe of this channel decides
            self._outstanding.pop(name, None)
        channel = self._by_channel.get(name)
        if channel is None:
            return
        if kind == "subscribe":
            if channel.confirmed is not None and not channel.confirmed.done():
                channel.confirmed.set_result(None)
        elif kind == "message":
            for data in _unpack(message["data"]):
                self._deliver(channel, Packet.from_bytes(data))

    def _deliver(self, channel: _Channel, packet: Packet | None) -> None:
        for listener in list(channel.listeners):
            try:
                listener(packet)
            except Exception:
                log.exception("a listener of room %s failed", channel.room_id)

    def _notify_gap(self) -> None:
        for channel in list(self._channels.values()):
            self._deliver(channel, None)

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        self._connected.clear()
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
