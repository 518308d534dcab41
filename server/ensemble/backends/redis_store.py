"""The state store on Redis: each room's state, record log and listing,
committed with its histories, deadline and publication in one script."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import OrderedDict
from typing import Any

from redis.backoff import ExponentialWithJitterBackoff

from ensemble.backends.base import BackendUnavailable, Command, RecordLog
from ensemble.backends.redis_client import (
    ALREADY,
    COMMITTED,
    MISSING,
    TOO_LATE,
    RedisClient,
    unavailable,
)
from ensemble.backends.redis_keys import DUE, INDEXES, LISTED, UNPUBLISHED
from ensemble.backends.redis_replicated import ReplicatedCommits
from ensemble.backends.stored import dump_state, load_state, pack, unpack
from ensemble.core import Outcome, Room, RoomGone, record_author
from ensemble.core.state import RoomState
from ensemble.wire.packet import Packet

MAX_ATTEMPTS = 50
RESENDS = 3  # a commit whose reply was lost is sent again, idempotent by its token
COMMIT_WINDOW = 2.0  # socket timeouts a commit may take before it is given up
CLOCK_SKEW = 0.25  # seconds Redis's clock may differ from this process's
KNOWN_ROOMS = 1024  # rooms whose last commit this process remembers
SHARED_FOR = 5.0  # seconds a room another process writes is read before each command


class CommitTokens:
    """Tokens that tell one commit from every other: a random prefix per store
    and a counter (no system call per commit, as random bytes each would be)."""

    def __init__(self) -> None:
        self._prefix = secrets.token_bytes(12)
        self._count = itertools.count()

    def next(self) -> bytes:
        return self._prefix + next(self._count).to_bytes(8, "big")


class RoomLock(asyncio.Lock):
    """A room's lock in this process, kept while `users` hold or wait for it."""

    users = 0


class RedisStore:
    def __init__(
        self, client: RedisClient, *, history_size: int, record_log_size: int,
        record_quota_per_member: int, replicated: ReplicatedCommits | None = None,
    ) -> None:
        self._client = client
        # None: the script publishes (one Redis without replicas); else
        # published after a replica has the commit (redis_replicated.py).
        self._replicated = replicated
        self._keys = client.keys
        self._history_size = history_size
        self._record_log_size = record_log_size
        self._record_quota = record_quota_per_member
        self._tokens = CommitTokens()
        self._conflict_backoff = ExponentialWithJitterBackoff(base=0.001, cap=0.05)
        self._locks: dict[str, RoomLock] = {}
        # room id -> the keys and channel of its commit script, made once.
        self._commit_keys: dict[str, tuple[tuple[str, ...], bytes]] = {}
        # room id -> (version, state bytes, Room) as this process committed it
        # last. A command runs on that Room without reading or decoding (as on
        # the memory backend); if another process committed since, the script's
        # version check refuses and the room is read again. A command that
        # fails drops it (the Room may be half changed).
        self._known: OrderedDict[str, tuple[int, bytes, Room]] = OrderedDict()
        # Rooms other processes write too (their members are spread): the
        # remembered copy is mostly stale there, and each stale try costs a
        # refused commit, so for a while each command reads the room first.
        self._shared: dict[str, float] = {}

    def _key(self, room_id: str, name: str) -> str:
        return self._keys.room(room_id, name)

    async def create_room(self, state: RoomState, outcome: Outcome) -> None:
        status, _ = await self._write(state, outcome, -1, [])
        if status != COMMITTED:
            raise ValueError(f"room {state.id} exists already")

    async def delete_room(self, room_id: str) -> None:
        self._known.pop(room_id, None)
        self._commit_keys.pop(room_id, None)
        self._shared.pop(room_id, None)
        names = ["state", "leases", "lease_clock", "log", "quota", "hkeys", "h:room",
                 "h:mentors"]
        with unavailable():
            histories = await self._client.redis.smembers(self._key(room_id, "hkeys"))
        keys = [*(self._keys.index(room_id, kind) for kind in INDEXES),
                *(self._key(room_id, name) for name in names), *histories]
        await self._client.script("delete", keys, [room_id])

    async def load_room(self, room_id: str) -> Room | None:
        with unavailable():
            data = await self._client.redis.hget(self._key(room_id, "state"), "data")
        if data is None:
            return None
        return Room(load_state(data))

    async def transact(self, room_id: str, command: Command) -> Outcome:
        # One command at a time per room in this process: the next one starts
        # from the room this one committed, with no refused commit between.
        lock = self._locks.get(room_id)
        if lock is None:
            lock = self._locks[room_id] = RoomLock()
        lock.users += 1
        try:
            async with lock:
                try:
                    return await self._transact(room_id, command)
                except BaseException:
                    self._known.pop(room_id, None)  # whether it committed is unknown
                    raise
        finally:
            lock.users -= 1
            if not lock.users:
                del self._locks[room_id]

    async def _transact(self, room_id: str, command: Command) -> Outcome:
        known = self._known.pop(room_id, None)
        if known is not None and self._shared.get(room_id, 0.0) > time.monotonic():
            known = None
        for attempt in range(MAX_ATTEMPTS):
            if known is None:
                data, version = await self._read(room_id)
                room = Room(load_state(data))
            else:
                version, data, room = known
            outcome = command(room)
            # Encoded before the commit: if this raises, nothing is written.
            packets = [Packet.of(event) for event in outcome.events]
            state = dump_state(room.state)
            if not packets and not outcome.records and state == data:
                # Nothing to write, so no version check by the script: a refusal
                # judged on the remembered copy holds only if that copy is current.
                if known is None or await self._version(room_id) == version:
                    self._remember(room_id, version, data, room)
                    return outcome
                self._written_elsewhere(room_id)
                known = None
                continue
            status, _ = await self._write(room.state, outcome, version, packets, state)
            if status == COMMITTED:
                self._remember(room_id, version + 1, state, room)
                return outcome
            if status == ALREADY:
                return outcome
            if status == MISSING:
                raise RoomGone(f"no room {room_id}")
            if known is None:
                await asyncio.sleep(self._conflict_backoff.compute(attempt + 1))
            else:
                self._written_elsewhere(room_id)
            known = None  # another process committed since: read what it left
        raise BackendUnavailable(f"room {room_id}: {MAX_ATTEMPTS} commits in a row conflicted")

    async def _read(self, room_id: str) -> tuple[bytes, int]:
        data, version = await self._client.call("HMGET", self._key(room_id, "state"), "data", "v")
        if data is None or version is None:
            raise RoomGone(f"no room {room_id}")
        return data, int(version)

    async def _version(self, room_id: str) -> int | None:
        version = await self._client.call("HGET", self._key(room_id, "state"), "v")
        return None if version is None else int(version)

    def _written_elsewhere(self, room_id: str) -> None:
        self._shared.pop(room_id, None)
        self._shared[room_id] = time.monotonic() + SHARED_FOR
        if len(self._shared) > KNOWN_ROOMS:
            del self._shared[next(iter(self._shared))]  # the longest unmarked

    def _remember(self, room_id: str, version: int, state: bytes, room: Room) -> None:
        self._known[room_id] = (version, state, room)
        if len(self._known) > KNOWN_ROOMS:
            self._known.popitem(last=False)

    async def _write(
        self,
        state: RoomState,
        outcome: Outcome,
        expected: int,
        packets: list[Packet],
        stored: bytes | None = None,
    ) -> tuple[int, int]:
        """Commit what the core told (state, records, deadline, listing) in one script."""
        records = outcome.records
        room_id = state.id
        deadline = outcome.deadline
        assert outcome.listing is not None, "an outcome from Room tells its listing"
        room_keys, channel = self._room_commit_keys(room_id)
        keys = list(room_keys)
        blobs = [p.to_bytes() for p in packets]
        payload = pack([deadline, blobs]) if packets else b""
        args: list[Any] = [
            expected,
            self._tokens.next(),
            dump_state(state) if stored is None else stored,
            pack(outcome.listing.summary),
            room_id,
            "" if deadline is None else deadline,
            1 if outcome.listing.listed else 0,
            self._history_size,
            channel,
            payload,
            self._record_log_size,
            self._record_quota,
            len(records),
        ]
        for record in records:
            args += [record_author(record) or "", pack(record)]
        for packet, blob in zip(packets, blobs, strict=True):
            keys.append(self._key(room_id, f"h:{packet.key}"))
            args += [f"{packet.seq}-0", blob]
        # The commit is resent (idempotent by its token) while its window lasts,
        # so one whose reply was lost is settled. Redis refuses any copy that
        # runs after the window, so once it has passed (and the clocks' skew),
        # `unavailable` is the truth: nothing of this commit will ever be made.
        window = COMMIT_WINDOW * self._client.socket_timeout
        started = time.monotonic()
        args.append(int((time.time() + window) * 1000))
        for attempt in range(RESENDS):
            try:
                if self._replicated is None:
                    status, version = await self._client.script("commit", keys, args)
                else:
                    status, version = await self._replicated.commit(keys, args)
                break
            except BackendUnavailable:
                if attempt == RESENDS - 1 or time.monotonic() - started >= window:
                    await asyncio.sleep(max(0.0, started + window + CLOCK_SKEW
                                            - time.monotonic()))
                    raise
                await asyncio.sleep(self._client.socket_timeout / 4)
        if int(status) == TOO_LATE:
            raise BackendUnavailable(f"room {room_id}: the commit reached Redis too late")
        self._client.saw_index(DUE, keys[1])
        self._client.saw_index(LISTED, keys[2])
        return int(status), int(version)

    def _room_commit_keys(self, room_id: str) -> tuple[tuple[str, ...], bytes]:
        """The keys (before the histories') and the channel of a room's commit."""
        made = self._commit_keys.get(room_id)
        if made is None:
            keys = (
                self._key(room_id, "state"),
                self._keys.index(room_id, DUE),
                self._keys.index(room_id, LISTED),
                self._key(room_id, "log"),
                self._key(room_id, "hkeys"),
                self._key(room_id, "quota"),
                self._keys.index(room_id, UNPUBLISHED),
            )
            made = self._commit_keys[room_id] = (keys, self._keys.channel(room_id))
            if len(self._commit_keys) > KNOWN_ROOMS:
                del self._commit_keys[next(iter(self._commit_keys))]  # the oldest made
        return made

    async def records(self, room_id: str) -> RecordLog:
        with unavailable():
            log_entries = await self._client.redis.lrange(self._key(room_id, "log"), 0, -1)
            dropped = await self._client.redis.hget(self._key(room_id, "state"), "dropped")
            quota = await self._client.redis.hgetall(self._key(room_id, "quota"))
        dropped_by = {field[2:].decode(): int(n) for field, n in quota.items()
                      if field.startswith(b"d:")}
        return RecordLog([unpack(r) for r in log_entries], int(dropped or 0), dropped_by)

    async def list_rooms(self) -> list[dict[str, Any]]:
        members = await self._client.each_index(LISTED, lambda pipe, key: pipe.smembers(key))
        ids = sorted(room_id.decode() for found in members for room_id in found)
        if not ids:
            return []
        with unavailable():
            async with self._client.redis.pipeline(transaction=False) as pipe:
                for room_id in ids:
                    pipe.hget(self._key(room_id, "state"), "summary")
                summaries = await pipe.execute()
        # Listed by the commit that made them public and open; nothing to judge here.
        return [unpack(s) for s in summaries if s is not None]


class RedisHistory:
    """Each history is a stream with entry ids ``<seq>-0``: `history(after)` is
    one exact XRANGE."""

    def __init__(self, client: RedisClient) -> None:
        self._client = client

    def _stream(self, room_id: str, key: str) -> str:
        return self._client.keys.room(room_id, f"h:{key}")

    async def history(self, room_id: str, key: str, after: int) -> list[Packet] | None:
        with unavailable():
            entries = await self._client.redis.xrange(
                self._stream(room_id, key), f"{after + 1}-0", "+"
            )
        packets = [Packet.from_bytes(fields[b"p"]) for _, fields in entries]
        if packets and packets[0].seq != after + 1:
            return None
        # No entry after `after`: nothing was missed (the newest entry is never trimmed).
        return packets

    async def recent(self, room_id: str, key: str, count: int) -> list[Packet]:
        if count <= 0:
            return []
        with unavailable():
            entries = await self._client.redis.xrevrange(self._stream(room_id, key), count=count)
        return [Packet.from_bytes(fields[b"p"]) for _, fields in reversed(entries)]
