"""Small builders shared by the backend tests."""

from __future__ import annotations

import secrets
from typing import Any

from ensemble.core import Outcome, Room
from ensemble.core.state import DEFAULT_RETENTION_MS

T0 = 1_700_000_000_000
HOST_KEY = "host-key"


def new_room(
    *,
    visibility: str = "public",
    title: str = "Practice",
    room_id: str | None = None,
    retention_ms: int = DEFAULT_RETENTION_MS,
) -> Room:
    return Room.create(
        room_id=room_id or f"r_{secrets.token_hex(4)}",
        title=title,
        visibility=visibility,
        epoch="e1",
        invite="invite",
        host_key=HOST_KEY,
        now=T0,
        grace_ms=5_000,
        retention_ms=retention_ms,
    )


def join(member_id: str, role: str = "participant", conn: str | None = None, now: int = T0):
    def command(room: Room) -> Outcome:
        return room.join(
            member_id=member_id,
            name=member_id,
            role=role,
            conn_id=conn or f"c-{member_id}",
            now=now,
        )

    return command


def request(actor: str, type_: str, payload: dict[str, Any] | None = None, now: int = T0):
    def command(room: Room) -> Outcome:
        return room.request(actor, type_, payload or {}, now)

    return command


def tick(now: int):
    def command(room: Room) -> Outcome:
        return room.tick(now)

    return command


def disconnect(conns: list[str], now: int):
    def command(room: Room) -> Outcome:
        return room.disconnect(conns, now)

    return command


PHASES = [
    {"name": "focus", "kind": "focus", "duration_ms": 60_000},
    {"name": "break", "kind": "break", "duration_ms": 30_000},
]


async def room_with_mentor(backend: Any, **kw: Any) -> str:
    """Create a room on `backend` with mentor "m" in it; return its id."""
    room = new_room(**kw)
    await backend.create_room(room.state, room.opening())
    await backend.transact(room.state.id, join("m", "mentor"))
    return room.state.id


def opened(room: Room) -> tuple[Any, Outcome]:
    """What `create_room` takes: the new room's state and what the core tells of it."""
    return room.state, room.opening()
