"""This process's connections per room, counted subscriptions, and fan-out.

The hub subscribes to a room's channel when its first local session arrives and
unsubscribes when the last one leaves. Each packet reaches each local session
of the room as the same bytes; the session decides whether it may read it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from ensemble.backends.base import Backend
from ensemble.metrics import Metrics
from ensemble.timesource import Clock

if TYPE_CHECKING:
    from ensemble.wire.packet import Packet

log = logging.getLogger(__name__)


class Subscriber(Protocol):
    conn_id: str

    def offer(self, packet: Packet | None) -> bool:
        """Take a packet of the room (None: packets may have been missed); True
        when it went out to this subscriber's socket."""

    def close(self, code: int, reason: str = "") -> None:
        """End the connection with a close code, after what is queued."""


class Hub:
    def __init__(self, backend: Backend, metrics: Metrics, clock: Clock) -> None:
        self._backend = backend
        self._metrics = metrics
        self._clock = clock
        self._rooms: dict[str, dict[str, Subscriber]] = {}
        self._listeners: dict[str, object] = {}

    async def add(self, room_id: str, session: Subscriber) -> None:
        sessions = self._rooms.get(room_id)
        if sessions is not None:
            sessions[session.conn_id] = session
            return
        self._rooms[room_id] = {session.conn_id: session}

        def listener(packet: Packet | None) -> None:
            self._fan_out(room_id, packet)

        self._listeners[room_id] = listener
        try:
            await self._backend.subscribe(room_id, listener)
        except BaseException:
            self._rooms.pop(room_id, None)
            self._listeners.pop(room_id, None)
            raise
        self._metrics.rooms.set(len(self._rooms))

    async def remove(self, room_id: str, session: Subscriber) -> None:
        sessions = self._rooms.get(room_id)
        if sessions is None or sessions.pop(session.conn_id, None) is None:
            return
        if sessions:
            return
        del self._rooms[room_id]
        listener = self._listeners.pop(room_id)
        self._metrics.rooms.set(len(self._rooms))
        await self._backend.unsubscribe(room_id, listener)  # type: ignore[arg-type]

    def connections(self) -> dict[str, list[str]]:
        """Live connection ids per room, for the presence leases."""
        return {room_id: list(sessions) for room_id, sessions in self._rooms.items()}

    def close_room(self, room_id: str, code: int, reason: str) -> None:
        """Close every local socket of a room (after what is queued is sent)."""
        for session in list(self._rooms.get(room_id, {}).values()):
            session.close(code, reason)

    def _fan_out(self, room_id: str, packet: Packet | None) -> None:
        sessions = self._rooms.get(room_id)
        if not sessions:
            return
        delivered = 0
        for session in list(sessions.values()):
            try:
                delivered += session.offer(packet)
            except Exception:  # one broken session must not stop the others
                log.exception("delivering to %s failed", session.conn_id)
        if delivered:
            self._metrics.deliveries.inc(delivered)
        if packet is not None:
            lag = max(0, self._clock.now_ms() - packet.at) / 1000
            self._metrics.fanout_latency.observe(lag)
