"""Presence on Redis: per-room zsets of connection leases (redis_presence.lua),
and a per-slot index of the rooms that have any, kept by the same script."""

from __future__ import annotations

from ensemble.backends.redis_client import RedisClient
from ensemble.backends.redis_keys import LEASED


class RedisPresence:
    def __init__(self, client: RedisClient, *, ttl_ms: int) -> None:
        self._client = client
        self._ttl_ms = ttl_ms
        self._lease_rooms: set[str] = set()

    async def refresh_presence(self, node_id: str, conns: dict[str, list[str]]) -> None:
        if "|" in node_id:
            raise ValueError(f"node id {node_id!r} may not contain '|'")
        rooms = {room_id: ids for room_id, ids in conns.items() if ids}
        # Rooms this node had leases in last time and has none now: drop them.
        gone = self._lease_rooms - set(rooms)
        for room_id in [*rooms, *gone]:
            await self._refresh_room(node_id, room_id, rooms.get(room_id, []))
        self._lease_rooms = set(rooms)

    async def lease_room(self, node_id: str, room_id: str, conn_ids: list[str]) -> None:
        await self._refresh_room(node_id, room_id, conn_ids)
        if conn_ids:
            self._lease_rooms.add(room_id)

    async def _refresh_room(self, node_id: str, room_id: str, conn_ids: list[str]) -> None:
        """This node's leases in one room become exactly `conn_ids`, renewed."""
        keys = self._lease_keys(room_id)
        await self._client.script(
            "presence", keys, ["refresh", *self._lease_args, room_id, node_id, *conn_ids],
        )
        self._client.saw_index(LEASED, keys[2])

    def _lease_keys(self, room_id: str) -> list[str]:
        keys = self._client.keys
        return [keys.room(room_id, "leases"), keys.room(room_id, "lease_clock"),
                keys.index(room_id, LEASED)]

    @property
    def _lease_args(self) -> list[int]:
        """ttl, and the silence after which a stall is assumed (redis_presence.lua):
        half a ttl, 1.5 heartbeats, since live processes call every heartbeat."""
        return [self._ttl_ms, self._ttl_ms // 2]

    async def orphaned_connections(self) -> dict[str, list[str]]:
        orphans: dict[str, list[str]] = {}
        found = await self._client.each_index(LEASED, lambda pipe, key: pipe.smembers(key))
        for raw in sorted({room_id for ids in found for room_id in ids}):
            room_id = raw.decode()
            expired, _ = await self._client.script(
                "presence", self._lease_keys(room_id), ["reap", *self._lease_args, room_id]
            )
            if expired:
                orphans[room_id] = [m.decode().partition("|")[2] for m in expired]
        return orphans
