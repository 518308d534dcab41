"""The in-memory backend: one process, the default, and the reference.

It keeps what Redis keeps, in the same form: each room's state as the bytes
`dump_state` makes, with a version bumped per commit; packets and records as
bytes. A command runs on a Room rebuilt from those bytes, so it can never
change the stored truth except by committing, and a command that raises (or
whose events cannot be encoded) commits nothing, as on Redis.

To keep commits cheap, the Room object of the last commit stays in a cache
beside the bytes: when the stored version is the one this process wrote, the
next command runs on that object instead of decoding. A command that fails
drops the cached object (it may be half changed); the next one decodes the
bytes again.
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any

from ensemble.backends.base import Command, DeadlineListener, Listener, RecordLog
from ensemble.backends.stored import dump_state, load_state, pack, unpack
from ensemble.core import Outcome, Room, RoomGone, record_author
from ensemble.core.state import RoomState
from ensemble.settings import Settings
from ensemble.wire.packet import Packet


class MemoryBackend:
    def __init__(self, settings: Settings) -> None:
        self._history_size = settings.history_size
        self._record_log_size = settings.record_log_size
        self._record_quota = settings.record_quota_per_member
        # room id -> (version, state bytes): the truth.
        self._states: dict[str, tuple[int, bytes]] = {}
        # room id -> (version, the Room that version was committed from).
        self._cache: dict[str, tuple[int, Room]] = {}
        # Each room's report records (packed, as Redis keeps them) and how many
        # overflowed; per author, how many are kept and how many were dropped.
        self._records: dict[str, list[bytes]] = {}
        self._dropped: dict[str, int] = {}
        self._kept_by: dict[str, dict[str, int]] = {}
        self._dropped_by: dict[str, dict[str, int]] = {}
        self._history: dict[tuple[str, str], deque[bytes]] = {}
        self._listeners: dict[str, list[Listener]] = defaultdict(list)
        self._deadlines: dict[str, int] = {}
        self._listed: dict[str, bytes] = {}  # room id -> packed summary of a listed room
        self._deadline_listeners: list[DeadlineListener] = []

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._listeners.clear()

    async def ready(self) -> bool:
        return True

    async def continuity(self) -> bool:
        return True  # the rooms live and die with this process

    async def shared_key(self, candidate: str) -> str:
        return candidate  # one process: nobody to share it with

    async def create_room(self, state: RoomState, outcome: Outcome) -> None:
        if state.id in self._states:
            raise ValueError(f"room {state.id} exists already")
        self._states[state.id] = (0, dump_state(state))
        self._told(state.id, outcome)

    async def delete_room(self, room_id: str) -> None:
        for table in (self._states, self._cache, self._deadlines, self._records,
                      self._dropped, self._kept_by, self._dropped_by, self._listed):
            table.pop(room_id, None)  # type: ignore[attr-defined]
        for key in [k for k in self._history if k[0] == room_id]:
            del self._history[key]

    async def load_room(self, room_id: str) -> Room | None:
        stored = self._states.get(room_id)
        return None if stored is None else Room(load_state(stored[1]))

    async def transact(self, room_id: str, command: Command) -> Outcome:
        # Commands are synchronous, so nothing else runs on this room meanwhile.
        stored = self._states.get(room_id)
        if stored is None:
            raise RoomGone(f"no room {room_id}")
        version, data = stored
        cached = self._cache.pop(room_id, None)
        room = cached[1] if cached is not None and cached[0] == version else Room(load_state(data))
        # Encoded before anything is stored: if this raises, nothing is.
        outcome = command(room)
        packets = [Packet.of(event) for event in outcome.events]
        records = [(record_author(r), pack(r)) for r in outcome.records]
        new = dump_state(room.state)
        if not packets and not records and new == data:
            self._cache[room_id] = (version, room)
            return outcome  # nothing happened: nothing to write
        self._states[room_id] = (version + 1, new)
        self._cache[room_id] = (version + 1, room)
        for packet in packets:
            history = self._history.get((room_id, packet.key))
            if history is None:
                history = self._history[(room_id, packet.key)] = deque(maxlen=self._history_size)
            history.append(packet.to_bytes())
        if records:
            self._append_records(room_id, records)
        self._told(room_id, outcome)
        if packets and self._listeners.get(room_id):
            for deadline_listener in self._deadline_listeners:
                deadline_listener(room_id, outcome.deadline)
        for packet in packets:
            for listener in list(self._listeners.get(room_id, ())):
                listener(packet)
        return outcome

    def _told(self, room_id: str, outcome: Outcome) -> None:
        """Store the room's deadline and listing as the core told them."""
        if outcome.deadline is None:
            self._deadlines.pop(room_id, None)
        else:
            self._deadlines[room_id] = outcome.deadline
        if outcome.listing is not None and outcome.listing.listed:
            self._listed[room_id] = pack(outcome.listing.summary)
        else:
            self._listed.pop(room_id, None)

    def _kept(self, room_id: str, key: str) -> list[Packet]:
        return [Packet.from_bytes(b) for b in self._history.get((room_id, key), ())]

    async def history(self, room_id: str, key: str, after: int) -> list[Packet] | None:
        kept = self._kept(room_id, key)
        if not kept or after >= kept[-1].seq:
            return []  # the newest entry is never trimmed: nothing was missed
        if kept[0].seq > after + 1:
            return None
        return [p for p in kept if p.seq > after]

    def _append_records(self, room_id: str, records: list[tuple[str | None, bytes]]) -> None:
        """Keep each record while the room's log and its author's quota have room
        (as redis_commit.lua does); count the others, in all and per author."""
        log = self._records.setdefault(room_id, [])
        kept_by = self._kept_by.setdefault(room_id, {})
        for author, record in records:
            if len(log) < self._record_log_size and (
                author is None or kept_by.get(author, 0) < self._record_quota
            ):
                log.append(record)
                if author is not None:
                    kept_by[author] = kept_by.get(author, 0) + 1
                continue
            self._dropped[room_id] = self._dropped.get(room_id, 0) + 1
            if author is not None:
                dropped_by = self._dropped_by.setdefault(room_id, {})
                dropped_by[author] = dropped_by.get(author, 0) + 1

    async def records(self, room_id: str) -> RecordLog:
        log = self._records.get(room_id, [])
        return RecordLog([unpack(r) for r in log], self._dropped.get(room_id, 0),
                         dict(self._dropped_by.get(room_id, {})))

    async def recent(self, room_id: str, key: str, count: int) -> list[Packet]:
        return self._kept(room_id, key)[-count:] if count > 0 else []

    async def list_rooms(self) -> list[dict[str, Any]]:
        return [unpack(summary) for summary in self._listed.values()]

    async def subscribe(self, room_id: str, listener: Listener) -> None:
        self._listeners[room_id].append(listener)

    async def unsubscribe(self, room_id: str, listener: Listener) -> None:
        listeners = self._listeners.get(room_id, [])
        if listener in listeners:
            listeners.remove(listener)
        if not listeners:
            self._listeners.pop(room_id, None)

    async def publish_stranded(self) -> int:
        return 0  # a commit and its publication are one step here

    async def due_rooms(self, now: int) -> list[str]:
        return [room_id for room_id, at in self._deadlines.items() if at <= now]

    async def next_deadline(self) -> int | None:
        return min(self._deadlines.values(), default=None)

    async def claim(self, room_id: str, now: int, lease_ms: int) -> bool:
        at = self._deadlines.get(room_id)
        if at is None or at > now:
            return False
        self._deadlines[room_id] = now + lease_ms
        return True

    def watch_deadlines(self, listener: DeadlineListener) -> None:
        self._deadline_listeners.append(listener)

    async def refresh_presence(self, node_id: str, conns: dict[str, list[str]]) -> None:
        return None  # one process: its connections die with it

    async def lease_room(self, node_id: str, room_id: str, conn_ids: list[str]) -> None:
        return None

    async def orphaned_connections(self) -> dict[str, list[str]]:
        return {}
