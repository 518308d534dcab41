"""The Redis backend: any number of processes share the rooms through one Redis
or a Redis Cluster, with the same code.

``redis://HOST:PORT/DB`` runs on one Redis; ``redis+cluster://HOST:PORT[,HOST:PORT...]``
on a Redis Cluster through redis-py's asyncio ``RedisCluster`` (the nodes listed
are only the way in; the slot map is read from the cluster and followed).

What Redis holds, per room (all keys and the channel of a room carry the hash
tag ``{room_id}``, so on a cluster a room lives on one slot):

* ``<prefix>:{room}:state`` -- hash: ``data`` (msgpack of ``RoomState.to_dict()``),
  ``v`` (version, +1 per commit), ``summary`` (msgpack of the listing summary
  the core told), ``c`` (token of the last commit).
* ``<prefix>:{room}:h:<key>`` -- one stream per history (``room``, ``mentors``,
  ``direct:<member>``), entry id ``<seq>-0`` so ``history(after)`` is one exact
  XRANGE, trimmed to ``settings.history_size`` entries.
* ``<prefix>:{room}:ch`` -- the shard channel: one SPUBLISH per commit, a
  msgpack ``[deadline, [Packet.to_bytes()...]]``, in commit order.
* ``<prefix>:{room}:leases`` -- zset ``<node>|<conn>`` scored by lease expiry.
* ``<prefix>:{room}:log`` -- list of the report's records (msgpack maps), at
  most ``settings.record_log_size``; the state hash counts the overflow in
  ``dropped``.
* ``<prefix>:{room}:hkeys`` -- set of the room's history stream keys, so
  deletion finds the direct histories of members the state has forgotten.
* ``<prefix>:{room}:lease_clock`` -- server time of the last lease call on the
  room; a longer silence than a heartbeat allows is a stall nobody is blamed for.

No key spans rooms of different slots: the schedule (zset room -> deadline),
the listing (set of listed rooms) and the rooms with leases are indexes per
slot (``<prefix>:{<slot tag>}:idx:due|listed|leased``, redis_keys.py), written
by the same scripts as the room, atomically. Processes find the indexes by
scanning every master (cached for ``index_ttl`` seconds; a commit adds its own
slot's index at once). Two plain keys: ``<prefix>:run`` (a marker written once;
its loss means Redis lost its data) and ``<prefix>:signing_key`` (the token key
shared by processes started without ``ENSEMBLE_SECRET``).

**Commit.** ``transact`` loads state and version, rebuilds the room, runs the
pure command, encodes each event once (`Packet.of`), then ONE Lua script
(``redis_commit.lua``, run by EVALSHA on the room's slot) checks the version,
stores the state, appends to the histories, writes the deadline and listing
the outcome told into the slot's indexes and publishes. Publication happens
inside the script, so the channel order is the commit order. On a version
conflict the command is re-run on the fresh state, with a jittered backoff, at
most ``MAX_ATTEMPTS`` times. Within one process, transactions on one room
queue behind a local lock, so conflicts only arise between processes. A commit
token makes a retried EVALSHA (reply lost, command re-sent, or redirected
while its slot moved) idempotent. A command that changes nothing and emits
nothing writes nothing (idle ticks).

**Schedule.** ``claim`` moves a due room's entry forward by a lease in one
script, so exactly one process ticks it; its commit writes the real deadline.

**Fan-out.** Sharded pub/sub (redis_broker.py): one connection per node, moves
and failovers followed, listeners told of every possible gap.

**Failover.** When a master dies or a slot moves, ``RedisCluster`` follows
MOVED/ASK replies and reloads the slot map; commands that fail meanwhile raise
``BackendUnavailable`` and are retried by the caller (the scheduler's next
pass, the client's next request) or, for a commit whose reply was lost, made
idempotent by its token.

**Deletion.** A closed room is due again at the end of its retention; the
scheduler then calls ``delete_room``, which removes its keys (the direct
histories are named after the members in its state) and its index entries in
one script.

**Unavailability.** Every Redis error that means "cannot reach / cannot serve
now" is raised as ``BackendUnavailable``; commands time out after
``socket_timeout`` seconds. redis-py reconnects per command by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.crc import key_slot
from redis.exceptions import ClusterError, ReadOnlyError, RedisClusterException, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ensemble.backends.base import BackendUnavailable, Command, DeadlineListener, Listener
from ensemble.backends.redis_broker import Address, ShardedBroker, Topology
from ensemble.backends.redis_keys import DUE, INDEXES, LEASED, LISTED, Keys
from ensemble.backends.stored import dump_state, load_state, pack, unpack
from ensemble.core import Outcome, Room, RoomGone
from ensemble.core.state import RoomState
from ensemble.settings import Settings
from ensemble.wire.packet import Packet

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 50
SCRIPTS = Path(__file__).parent
# Replies that mean "this Redis cannot serve now", not "the request is wrong".
UNAVAILABLE_REPLIES = (
    "LOADING", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "OOM", "BUSY", "MOVED", "ASK",
)
CLUSTER_SCHEME = "redis+cluster"

COMMITTED, ALREADY, CONFLICT, MISSING = 1, 2, 0, -1


@contextlib.contextmanager
def _unavailable() -> Iterator[None]:
    """Map Redis failures to BackendUnavailable."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError) as error:
        raise BackendUnavailable(f"redis: {error}") from error
    except (ClusterError, RedisClusterException) as error:
        raise BackendUnavailable(f"redis cluster: {error}") from error
    except ResponseError as error:
        if str(error).startswith(UNAVAILABLE_REPLIES):
            raise BackendUnavailable(f"redis: {error}") from error
        raise


def cluster_nodes(url: str) -> list[Address]:
    """The nodes of a ``redis+cluster://host:port[,host:port...]`` URL."""
    parts = urlsplit(url)
    if parts.scheme != CLUSTER_SCHEME or not parts.netloc:
        raise ValueError(f"not a {CLUSTER_SCHEME}://host:port[,host:port...] URL: {url!r}")
    nodes = []
    for hostport in parts.netloc.rpartition("@")[2].split(","):
        host, _, port = hostport.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"{hostport!r} in {url!r} is not host:port")
        nodes.append((host.strip("[]"), int(port)))
    return nodes


class RedisBackend:
    def __init__(
        self,
        settings: Settings,
        *,
        prefix: str = "ensemble",
        socket_timeout: float = 1.0,
        ping_interval: float = 2.0,
        reconnect_backoff: tuple[float, float] = (0.05, 2.0),
        index_ttl: float = 2.0,
    ) -> None:
        if not settings.redis_url:
            raise ValueError("RedisBackend needs settings.redis_url (redis://HOST:PORT/DB)")
        self._url = settings.redis_url
        self._clustered = urlsplit(self._url).scheme == CLUSTER_SCHEME
        if self._clustered:
            cluster_nodes(self._url)  # a bad URL fails here, not at the first command
        self._history_size = settings.history_size
        self._record_log_size = settings.record_log_size
        self._presence_ttl_ms = settings.presence_ttl_ms
        self._prefix = prefix
        self.keys = Keys(prefix)
        self._socket_timeout = socket_timeout
        self._ping_interval = ping_interval
        self._reconnect_backoff = reconnect_backoff
        self._index_ttl = index_ttl
        self._conflict_backoff = ExponentialWithJitterBackoff(base=0.001, cap=0.05)
        self._redis: Any = None
        self._broker: ShardedBroker | None = None
        self._scripts: dict[str, Any] = {}
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._lease_rooms: set[str] = set()
        self._indexes: dict[str, set[bytes]] = {kind: set() for kind in INDEXES}
        self._indexes_read = -1e9
        self._run_id: bytes | None = None
        self._deadline_listeners: list[DeadlineListener] = []

    def _key(self, room_id: str, name: str) -> str:
        return self.keys.room(room_id, name)

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Create the clients and the broker; connecting happens lazily, so a
        process starts (not ready) while Redis is down and recovers by itself."""
        common: dict[str, Any] = {
            "decode_responses": False,
            "socket_timeout": self._socket_timeout,
            "socket_connect_timeout": self._socket_timeout,
        }
        retry = Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.1), 1)
        if self._clustered:
            cluster = RedisCluster(
                startup_nodes=[ClusterNode(h, p) for h, p in cluster_nodes(self._url)],
                require_full_coverage=False,
                retry=retry,
                **common,
            )
            self._redis = cluster

            def owner(channel: bytes) -> Address:
                node = cluster.nodes_manager.get_node_from_slot(key_slot(channel))
                return node.host, int(node.port)

            async def refresh() -> None:
                # The client's own first initialization (a no-op later) makes
                # its close() close what the slot map reload connects.
                await cluster.initialize()
                await cluster.nodes_manager.initialize()

            def connect(address: Address) -> aioredis.Redis:
                return aioredis.Redis(host=address[0], port=address[1],
                                      retry=Retry(NoBackoff(), 0), **common)

            topology = Topology(owner, refresh, connect)
        else:
            self._redis = aioredis.Redis.from_url(self._url, retry=retry, **common)
            single = urlsplit(self._url)
            address = (single.hostname or "localhost", single.port or 6379)

            async def nothing() -> None:
                return None

            topology = Topology(
                lambda channel: address,
                nothing,
                lambda _: aioredis.Redis.from_url(self._url, retry=Retry(NoBackoff(), 0),
                                                  **common),
            )
        for name in ("commit", "presence", "claim", "delete"):
            source = (SCRIPTS / f"redis_{name}.lua").read_bytes()
            self._scripts[name] = self._redis.register_script(source)
        self._broker = ShardedBroker(
            topology,
            self.keys.channel,
            socket_timeout=self._socket_timeout,
            ping_interval=self._ping_interval,
            reconnect_backoff=self._reconnect_backoff,
            on_deadline=self._told_deadline,
        )

    async def close(self) -> None:
        if self._broker is not None:
            await self._broker.close()
            self._broker = None
        if self._redis is not None:
            await self._redis.aclose()
        self._redis = None

    @property
    def redis(self) -> Any:
        # Any: redis-py's stubs type replies as bytes | str; with
        # decode_responses=False they are always bytes.
        if self._redis is None:
            raise RuntimeError("RedisBackend used before start() or after close()")
        return self._redis

    @property
    def broker(self) -> ShardedBroker:
        if self._broker is None:
            raise RuntimeError("RedisBackend used before start() or after close()")
        return self._broker

    async def _script(self, name: str, keys: list[Any], args: list[Any]) -> Any:
        with _unavailable():
            return await self._scripts[name](keys=keys, args=args)

    async def ready(self) -> bool:
        """Redis answers and still holds the run marker `continuity` last saw."""
        try:
            async with asyncio.timeout(self._socket_timeout):
                if self._run_id is None:
                    await self.continuity()  # the first call: nothing was known to lose
                marker = await self.redis.get(self.keys.run)
        except Exception:  # any failure means "not ready"
            return False
        return marker is not None and marker == self._run_id

    async def continuity(self) -> bool:
        """A run marker, written once (SET NX) by the first process on an empty
        Redis, tells whether Redis kept its data: gone or replaced means it was
        restarted without persistence or flushed since the last call."""
        with _unavailable():
            await self.redis.set(self.keys.run, secrets.token_hex(8), nx=True)
            marker = await self.redis.get(self.keys.run)
        known, self._run_id = self._run_id, marker
        return known is None or known == marker

    async def shared_key(self, candidate: str) -> str:
        with _unavailable():
            await self.redis.set(self.keys.signing_key, candidate.encode(), nx=True)
            stored = await self.redis.get(self.keys.signing_key)
        return candidate if stored is None else stored.decode()

    # -- rooms -----------------------------------------------------------------

    async def create_room(self, state: RoomState, outcome: Outcome) -> None:
        status, _ = await self._write(state, outcome, -1, [])
        if status != COMMITTED:
            raise ValueError(f"room {state.id} exists already")

    async def delete_room(self, room_id: str) -> None:
        names = ["state", "leases", "lease_clock", "log", "hkeys", "h:room", "h:mentors"]
        with _unavailable():
            histories = await self.redis.smembers(self._key(room_id, "hkeys"))
        keys = [*(self.keys.index(room_id, kind) for kind in INDEXES),
                *(self._key(room_id, name) for name in names), *histories]
        await self._script("delete", keys, [room_id])

    async def load_room(self, room_id: str) -> Room | None:
        with _unavailable():
            data = await self.redis.hget(self._key(room_id, "state"), "data")
        if data is None:
            return None
        return Room(load_state(data))

    async def transact(self, room_id: str, command: Command) -> Outcome:
        async with self._room_lock(room_id):
            for attempt in range(MAX_ATTEMPTS):
                with _unavailable():
                    data, version = await self.redis.hmget(
                        self._key(room_id, "state"), ["data", "v"]
                    )
                if data is None or version is None:
                    raise RoomGone(f"no room {room_id}")
                room = Room(load_state(data))
                outcome = command(room)
                # Encoded before the commit: if this raises, nothing is written.
                packets = [Packet.of(event) for event in outcome.events]
                if not packets and not outcome.records and dump_state(room.state) == data:
                    return outcome  # nothing happened: nothing to write
                status, _ = await self._write(room.state, outcome, int(version), packets)
                if status in (COMMITTED, ALREADY):
                    return outcome
                if status == MISSING:
                    raise RoomGone(f"no room {room_id}")
                await asyncio.sleep(self._conflict_backoff.compute(attempt + 1))
        raise BackendUnavailable(f"room {room_id}: {MAX_ATTEMPTS} commits in a row conflicted")

    async def _write(
        self, state: RoomState, outcome: Outcome, expected: int, packets: list[Packet]
    ) -> tuple[int, int]:
        """Commit what the core told (state, records, deadline, listing) in one script."""
        records = outcome.records
        room_id = state.id
        deadline = outcome.deadline
        assert outcome.listing is not None, "an outcome from Room tells its listing"
        keys = [
            self._key(room_id, "state"),
            self.keys.index(room_id, DUE),
            self.keys.index(room_id, LISTED),
            self._key(room_id, "log"),
            self._key(room_id, "hkeys"),
        ]
        payload = pack([deadline, [p.to_bytes() for p in packets]]) if packets else b""
        args: list[Any] = [
            expected,
            secrets.token_bytes(12),
            dump_state(state),
            pack(outcome.listing.summary),
            room_id,
            "" if deadline is None else deadline,
            1 if outcome.listing.listed else 0,
            self._history_size,
            self.keys.channel(room_id),
            payload,
            self._record_log_size,
            len(records),
            *(pack(record) for record in records),
        ]
        for packet in packets:
            keys.append(self._key(room_id, f"h:{packet.key}"))
            args += [f"{packet.seq}-0", packet.to_bytes()]
        # A token makes a re-sent commit (reply lost, or redirected meanwhile) idempotent.
        for attempt in range(3):
            try:
                status, version = await self._script("commit", keys, args)
                break
            except BackendUnavailable:
                if attempt == 2:
                    raise
                await asyncio.sleep(self._socket_timeout / 4)
        self._indexes[DUE].add(keys[1].encode())
        self._indexes[LISTED].add(keys[2].encode())
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
            log_entries = await self.redis.lrange(self._key(room_id, "log"), 0, -1)
            dropped = await self.redis.hget(self._key(room_id, "state"), "dropped")
        return [unpack(r) for r in log_entries], int(dropped or 0)

    # -- indexes ---------------------------------------------------------------

    async def _index_keys(self, kind: str) -> list[bytes]:
        """The per-slot indexes of `kind` that exist, rescanned every `index_ttl`."""
        now = time.monotonic()
        if now - self._indexes_read > self._index_ttl:
            found: dict[str, set[bytes]] = {k: set() for k in INDEXES}
            with _unavailable():
                async for key in self.redis.scan_iter(match=self.keys.index_pattern, count=1000):
                    kind_of = self.keys.index_kind(key)
                    if kind_of in found:
                        found[kind_of].add(key)
            self._indexes, self._indexes_read = found, now
        return sorted(self._indexes[kind])

    async def _each_index(self, kind: str, call: Callable[[Any, bytes], None]) -> list[Any]:
        keys = await self._index_keys(kind)
        if not keys:
            return []
        with _unavailable():
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    call(pipe, key)
                return list(await pipe.execute())

    async def list_rooms(self) -> list[dict[str, Any]]:
        members = await self._each_index(LISTED, lambda pipe, key: pipe.smembers(key))
        ids = sorted(room_id.decode() for found in members for room_id in found)
        if not ids:
            return []
        with _unavailable():
            async with self.redis.pipeline(transaction=False) as pipe:
                for room_id in ids:
                    pipe.hget(self._key(room_id, "state"), "summary")
                summaries = await pipe.execute()
        # Listed by the commit that made them public and open; nothing to judge here.
        return [unpack(s) for s in summaries if s is not None]

    # -- schedule ----------------------------------------------------------------

    async def due_rooms(self, now: int) -> list[str]:
        found = await self._each_index(DUE, lambda pipe, key: pipe.zrangebyscore(key, "-inf", now))
        return [room_id.decode() for ids in found for room_id in ids]

    async def next_deadline(self) -> int | None:
        firsts = await self._each_index(
            DUE, lambda pipe, key: pipe.zrange(key, 0, 0, withscores=True)
        )
        return min((int(first[0][1]) for first in firsts if first), default=None)

    async def claim(self, room_id: str, now: int, lease_ms: int) -> bool:
        claimed = await self._script("claim", [self.keys.index(room_id, DUE)],
                                     [room_id, now, lease_ms])
        return bool(claimed)

    def watch_deadlines(self, listener: DeadlineListener) -> None:
        self._deadline_listeners.append(listener)

    def _told_deadline(self, room_id: str, deadline: int | None) -> None:
        for listener in self._deadline_listeners:
            listener(room_id, deadline)

    # -- presence ----------------------------------------------------------------

    async def refresh_presence(self, node_id: str, conns: dict[str, list[str]]) -> None:
        if "|" in node_id:
            raise ValueError(f"node id {node_id!r} may not contain '|'")
        rooms = {room_id: ids for room_id, ids in conns.items() if ids}
        # Rooms this node had leases in last time and has none now: drop them.
        gone = self._lease_rooms - set(rooms)
        for room_id in [*rooms, *gone]:
            await self._script(
                "presence",
                self._lease_keys(room_id),
                ["refresh", *self._lease_args, room_id, node_id, *rooms.get(room_id, [])],
            )
            self._indexes[LEASED].add(self.keys.index(room_id, LEASED).encode())
        self._lease_rooms = set(rooms)

    def _lease_keys(self, room_id: str) -> list[str]:
        return [self._key(room_id, "leases"), self._key(room_id, "lease_clock"),
                self.keys.index(room_id, LEASED)]

    @property
    def _lease_args(self) -> list[int]:
        """ttl, and the silence after which a stall is assumed (redis_presence.lua):
        half a ttl, 1.5 heartbeats, since live processes call every heartbeat."""
        return [self._presence_ttl_ms, self._presence_ttl_ms // 2]

    async def orphaned_connections(self) -> dict[str, list[str]]:
        orphans: dict[str, list[str]] = {}
        found = await self._each_index(LEASED, lambda pipe, key: pipe.smembers(key))
        for raw in sorted({room_id for ids in found for room_id in ids}):
            room_id = raw.decode()
            expired, _ = await self._script(
                "presence", self._lease_keys(room_id), ["reap", *self._lease_args, room_id]
            )
            if expired:
                orphans[room_id] = [m.decode().partition("|")[2] for m in expired]
        return orphans

    # -- fan-out -----------------------------------------------------------------

    async def subscribe(self, room_id: str, listener: Listener) -> None:
        """Returns once Redis confirmed the room's subscription (at once if it was)."""
        await self.broker.subscribe(room_id, listener)

    async def unsubscribe(self, room_id: str, listener: Listener) -> None:
        if self._broker is not None:
            await self._broker.unsubscribe(room_id, listener)
