"""The Redis backend: any number of processes share the rooms through one Redis
or a Redis Cluster, with the same code.

``redis://HOST:PORT/DB`` runs on one Redis; ``redis+cluster://HOST:PORT[,HOST:PORT...]``
on a Redis Cluster through redis-py's asyncio ``RedisCluster`` (the nodes listed
are only the way in; the slot map is read from the cluster and followed).

What Redis holds, per room (all keys and the channel of a room carry the hash
tag ``{room_id}``, so on a cluster a room lives on one slot):

* ``<prefix>:{room}:state`` -- hash: ``data`` (msgpack of ``RoomState.to_dict()``),
  ``v`` (version, +1 per commit), ``summary`` (msgpack of the listing summary
  the core told), ``c`` (token of the last commit); with replicas also ``pub``
  (the last commit's publication until it is published) and ``pubclaim``
  (a sweep publishing it for a process that died, redis_stranded.lua).
* ``<prefix>:{room}:h:<key>`` -- one stream per history (``room``, ``mentors``,
  ``direct:<member>``), entry id ``<seq>-0`` so ``history(after)`` is one exact
  XRANGE, trimmed to ``settings.history_size`` entries.
* ``<prefix>:{room}:ch`` -- the shard channel: one SPUBLISH per commit, a
  msgpack ``[deadline, [Packet.to_bytes()...]]``, in commit order on one
  Redis, in seq order give or take a swap with replicas (see Commit).
* ``<prefix>:{room}:leases`` -- zset ``<node>|<conn>`` scored by lease expiry.
* ``<prefix>:{room}:log`` -- list of the report's records (msgpack maps), at
  most ``settings.record_log_size``; the state hash counts the overflow in
  ``dropped``.
* ``<prefix>:{room}:quota`` -- hash, per record author (``core.record_author``):
  ``k:<member>`` records kept in the log (at most
  ``settings.record_quota_per_member``), ``d:<member>`` records dropped.
* ``<prefix>:{room}:hkeys`` -- set of the room's history stream keys, so
  deletion finds the direct histories of members the state has forgotten.
* ``<prefix>:{room}:lease_clock`` -- server time of the last lease call on the
  room; a longer silence than a heartbeat allows is a stall nobody is blamed for.

No key spans rooms of different slots: the schedule (zset room -> deadline),
the listing (set of listed rooms) and the rooms with leases are indexes per
slot (``<prefix>:{<slot tag>}:idx:due|listed|leased|unpublished``, redis_keys.py), written
by the same scripts as the room, atomically. Processes find the indexes by
scanning every master: the scheduler's sweep scans each time, the listing and
presence reuse a scan for ``index_ttl`` seconds (so a room on a slot new to a
process shows in its listing within that time), and a process's own commits
add their slot's index at once. Two plain keys: ``<prefix>:run`` (a marker written once;
its loss means Redis lost its data) and ``<prefix>:signing_key`` (the token key
shared by processes started without ``ENSEMBLE_SECRET``).

**Roles.** This module is the façade the app holds; each role is a class of
its own over one shared client (redis_client.py): the state store and
history (redis_store.py), the schedule (redis_schedule.py), presence
(redis_leases.py) and the broker (redis_broker.py).

**Commit.** ``transact`` loads state and version, rebuilds the room, runs the
pure command, encodes each event once (`Packet.of`), then ONE Lua script
(``redis_commit.lua``, run by EVALSHA on the room's slot) checks the version,
stores the state, appends to the histories, writes the deadline and listing
the outcome told into the slot's indexes and publishes. On one Redis
(``redis_wait_replicas`` 0) publication happens inside the script, so the
channel order is the commit order. With replicas (a cluster, by default) the
script publishes nothing: the same connection then WAITs for a replica and
runs the publish script (redis_replicated.py), so nobody hears of a commit a
failover could lose; two processes' commits may then be published out of
order, which sessions mend by seq (catch-up from the history, duplicates
dropped). A process that dies between its commit and its publication leaves
the room in its slot's ``unpublished`` index: every process's scheduler sweep
publishes such a commit once it has waited longer than a live process would
(about a second), after a WAIT of its own. On a version
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
import secrets
from collections.abc import Callable
from typing import Any

from ensemble.backends.base import Command, DeadlineListener, Listener, RecordLog
from ensemble.backends.redis_broker import ShardedBroker
from ensemble.backends.redis_client import RedisClient, cluster_nodes, unavailable
from ensemble.backends.redis_keys import DUE, LEASED, LISTED, Keys
from ensemble.backends.redis_leases import RedisPresence
from ensemble.backends.redis_replicated import ReplicatedCommits
from ensemble.backends.redis_schedule import RedisSchedule
from ensemble.backends.redis_store import RedisHistory, RedisStore
from ensemble.core import Outcome, Room
from ensemble.core.state import RoomState
from ensemble.settings import Settings
from ensemble.wire.packet import Packet

__all__ = ["RedisBackend", "cluster_nodes"]


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
        self._prefix = prefix
        self.keys = Keys(prefix)
        self._client = RedisClient(
            settings.redis_url, self.keys, socket_timeout=socket_timeout, index_ttl=index_ttl
        )
        self._socket_timeout = socket_timeout
        self._ping_interval = ping_interval
        self._reconnect_backoff = reconnect_backoff
        replicas = settings.redis_wait_replicas
        if replicas < 0:
            replicas = 1 if self._client.clustered else 0
        self.replicated = (
            ReplicatedCommits(self._client, replicas=replicas, wait_ms=settings.redis_wait_ms)
            if replicas > 0 else None
        )
        self.store = RedisStore(self._client, history_size=settings.history_size,
                                record_log_size=settings.record_log_size,
                                record_quota_per_member=settings.record_quota_per_member,
                                replicated=self.replicated)
        self.histories = RedisHistory(self._client)
        self.schedule = RedisSchedule(self._client)
        self.presence = RedisPresence(self._client, ttl_ms=settings.presence_ttl_ms)
        self._broker: ShardedBroker | None = None
        self._run_id: bytes | None = None
        self._legacy_moved = False

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Create the client and the broker; connecting happens lazily, so a
        process starts (not ready) while Redis is down and recovers by itself."""
        topology = self._client.start()
        self._broker = ShardedBroker(
            topology,
            self.keys.channel,
            socket_timeout=self._socket_timeout,
            ping_interval=self._ping_interval,
            reconnect_backoff=self._reconnect_backoff,
            on_deadline=self.schedule.told,
        )

    async def close(self) -> None:
        if self._broker is not None:
            await self._broker.close()
            self._broker = None
        await self._client.close()

    @property
    def redis(self) -> Any:
        return self._client.redis

    @property
    def broker(self) -> ShardedBroker:
        if self._broker is None:
            raise RuntimeError("RedisBackend used before start() or after close()")
        return self._broker

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

    def watch_unreplicated(self, count: Callable[[], None]) -> None:
        """`count()` for each commit acknowledged before a replica had it."""
        if self.replicated is not None:
            self.replicated.on_unreplicated = count

    async def continuity(self) -> bool:
        """A run marker, written once (SET NX) by the first process on an empty
        Redis, tells whether Redis kept its data: gone or replaced means it was
        restarted without persistence or flushed since the last call."""
        with unavailable():
            await self.redis.set(self.keys.run, secrets.token_hex(8), nx=True)
            marker = await self.redis.get(self.keys.run)
        if not self._legacy_moved:
            await self._move_legacy_indexes()
        known, self._run_id = self._run_id, marker
        return known is None or known == marker

    async def _move_legacy_indexes(self) -> None:
        """Rooms stored by a version with global indexes (``<prefix>:schedule``,
        ``:public``, ``:presence`` on one Redis): their entries move into the
        per-slot indexes, once, so they are ticked, listed and reaped again.
        Idempotent; every process may do it."""
        legacy = {DUE: f"{self._prefix}:schedule", LISTED: f"{self._prefix}:public",
                  LEASED: f"{self._prefix}:presence"}
        with unavailable():
            for kind, key in legacy.items():
                if kind == DUE:
                    entries = await self.redis.zrange(key, 0, -1, withscores=True)
                else:
                    entries = [(m, None) for m in await self.redis.smembers(key)]
                for member, score in entries:
                    index = self.keys.index(member.decode(), kind)
                    if score is None:
                        await self.redis.sadd(index, member)
                    else:
                        await self.redis.zadd(index, {member: score}, nx=True)
                if entries:
                    await self.redis.delete(key)
        self._legacy_moved = True

    async def shared_key(self, candidate: str) -> str:
        with unavailable():
            await self.redis.set(self.keys.signing_key, candidate.encode(), nx=True)
            stored = await self.redis.get(self.keys.signing_key)
        return candidate if stored is None else stored.decode()

    # -- the roles -------------------------------------------------------------------

    async def create_room(self, state: RoomState, outcome: Outcome) -> None:
        await self.store.create_room(state, outcome)

    async def delete_room(self, room_id: str) -> None:
        await self.store.delete_room(room_id)

    async def load_room(self, room_id: str) -> Room | None:
        return await self.store.load_room(room_id)

    async def transact(self, room_id: str, command: Command) -> Outcome:
        return await self.store.transact(room_id, command)

    async def records(self, room_id: str) -> RecordLog:
        return await self.store.records(room_id)

    async def list_rooms(self) -> list[dict[str, Any]]:
        return await self.store.list_rooms()

    async def history(self, room_id: str, key: str, after: int) -> list[Packet] | None:
        return await self.histories.history(room_id, key, after)

    async def recent(self, room_id: str, key: str, count: int) -> list[Packet]:
        return await self.histories.recent(room_id, key, count)

    async def subscribe(self, room_id: str, listener: Listener) -> None:
        """Returns once Redis confirmed the room's subscription (at once if it was)."""
        await self.broker.subscribe(room_id, listener)

    async def publish_stranded(self) -> int:
        if self.replicated is None:
            return 0  # each commit publishes inside its own script
        return await self.replicated.publish_stranded()

    async def unsubscribe(self, room_id: str, listener: Listener) -> None:
        if self._broker is not None:
            await self._broker.unsubscribe(room_id, listener)

    async def due_rooms(self, now: int) -> list[str]:
        return await self.schedule.due_rooms(now)

    async def next_deadline(self) -> int | None:
        return await self.schedule.next_deadline()

    async def claim(self, room_id: str, now: int, lease_ms: int) -> bool:
        return await self.schedule.claim(room_id, now, lease_ms)

    def watch_deadlines(self, listener: DeadlineListener) -> None:
        self.schedule.watch_deadlines(listener)

    async def refresh_presence(self, node_id: str, conns: dict[str, list[str]]) -> None:
        await self.presence.refresh_presence(node_id, conns)

    async def lease_room(self, node_id: str, room_id: str, conn_ids: list[str]) -> None:
        await self.presence.lease_room(node_id, room_id, conn_ids)

    async def orphaned_connections(self) -> dict[str, list[str]]:
        return await self.presence.orphaned_connections()
