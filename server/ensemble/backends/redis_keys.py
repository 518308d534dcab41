"""Where a room's data lives in Redis: its keys, its channel, and the per-slot
indexes that replace cross-room keys.

Every key and the channel of a room carry the hash tag ``{room_id}``, so on a
Redis Cluster a room lives on one slot. What spans rooms (the schedule, the
public listing, the rooms with leases) is kept per slot: the index of slot S
is named with a hash tag that itself hashes to S (`slot_tag`), so a room's
commit script updates its slot's index in the same atomic step, and no key is
shared by rooms of different slots. Processes find the indexes by scanning
each node for ``<prefix>:{*}:idx:*``.
"""

from __future__ import annotations

import functools

from redis.crc import key_slot

SLOTS = 16384
DUE, LISTED, LEASED, UNPUBLISHED = "due", "listed", "leased", "unpublished"
INDEXES = (DUE, LISTED, LEASED, UNPUBLISHED)


@functools.cache
def _tags() -> tuple[str, ...]:
    """For each slot, the shortest hex string that hashes to it (about 0.2 s, once)."""
    tags: list[str | None] = [None] * SLOTS
    missing, n = SLOTS, 0
    while missing:
        tag = format(n, "x")
        slot = key_slot(tag.encode())
        if tags[slot] is None:
            tags[slot] = tag
            missing -= 1
        n += 1
    return tuple(t for t in tags if t is not None)


def slot_tag(slot: int) -> str:
    return _tags()[slot]


@functools.lru_cache(maxsize=4096)
def _room_slot_tag(room_id: str) -> str:
    """The tag of the slot `room_id` hashes to (a CRC per call, so remembered)."""
    return slot_tag(key_slot(room_id.encode()))


class Keys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def room(self, room_id: str, name: str) -> str:
        return f"{self.prefix}:{{{room_id}}}:{name}"

    def channel(self, room_id: str) -> bytes:
        return self.room(room_id, "ch").encode()

    def index(self, room_id: str, kind: str) -> str:
        """The index of `kind` on the slot of `room_id`."""
        return f"{self.prefix}:{{{_room_slot_tag(room_id)}}}:idx:{kind}"

    @property
    def index_pattern(self) -> str:
        return f"{self.prefix}:{{*}}:idx:*"

    @staticmethod
    def index_kind(key: bytes) -> str:
        return key.decode().rpartition(":")[2]

    @property
    def run(self) -> str:
        return f"{self.prefix}:run"

    @property
    def signing_key(self) -> str:
        return f"{self.prefix}:signing_key"
