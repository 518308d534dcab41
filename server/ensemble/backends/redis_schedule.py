"""The schedule on Redis: per-slot zsets of room deadlines, written by each
room's commit; `claim` moves a due room's entry forward in one script, so
exactly one process ticks it."""

from __future__ import annotations

from ensemble.backends.base import DeadlineListener
from ensemble.backends.redis_client import RedisClient
from ensemble.backends.redis_keys import DUE


class RedisSchedule:
    def __init__(self, client: RedisClient) -> None:
        self._client = client
        self._listeners: list[DeadlineListener] = []

    async def due_rooms(self, now: int) -> list[str]:
        # The scheduler's sweep, for rooms nobody told it of: a slot's index new
        # since the last scan counts too (one SCAN per sweep).
        found = await self._client.each_index(
            DUE, lambda pipe, key: pipe.zrangebyscore(key, "-inf", now), fresh=True
        )
        return [room_id.decode() for ids in found for room_id in ids]

    async def next_deadline(self) -> int | None:
        firsts = await self._client.each_index(
            DUE, lambda pipe, key: pipe.zrange(key, 0, 0, withscores=True)
        )
        return min((int(first[0][1]) for first in firsts if first), default=None)

    async def claim(self, room_id: str, now: int, lease_ms: int) -> bool:
        claimed = await self._client.script(
            "claim", [self._client.keys.index(room_id, DUE)], [room_id, now, lease_ms]
        )
        return bool(claimed)

    def watch_deadlines(self, listener: DeadlineListener) -> None:
        self._listeners.append(listener)

    def told(self, room_id: str, deadline: int | None) -> None:
        """A publication on a subscribed room carried its next deadline."""
        for listener in self._listeners:
            listener(room_id, deadline)
