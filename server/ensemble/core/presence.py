"""Members: joining, connections (several tabs count once), grace, roles, removal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ensemble.core import turns
from ensemble.core.errors import Conflict, Unauthorized
from ensemble.core.state import MENTOR, Member

if TYPE_CHECKING:
    from ensemble.core.room import Room


def join(
    room: Room, member_id: str, name: str, role: str, conn_id: str, person_id: str | None = None
) -> dict[str, Any]:
    if member_id in room.state.members:
        raise Conflict(f"member id {member_id} is taken")
    member = Member(id=member_id, name=name, role=role, joined_at=room.now, person_id=person_id)
    room.state.members[member_id] = member
    room.actor = member_id
    _open(member, conn_id, room.now)
    room.emit("member.joined", {"member": member.public()})
    turns.member_arrived(room, member)
    return {"member_id": member_id, "role": role}


def connect(room: Room, member_id: str, conn_id: str) -> dict[str, Any]:
    member = room.state.members.get(member_id)
    if member is None or member.removed:
        raise Unauthorized("this session is no longer a member of the room")
    if not member.present:
        # Back after the grace period: the same member enters again.
        member.left_at = None
        member.leave_at = None
        _open(member, conn_id, room.now)
        room.emit("member.joined", {"member": member.public()})
        turns.member_arrived(room, member)
    else:
        was_connected = member.connected
        member.leave_at = None
        _open(member, conn_id, room.now)
        if not was_connected:
            _emit_status(room, member)
    return {"member_id": member_id, "role": member.role}


def disconnect(room: Room, conn_ids: list[str]) -> None:
    gone = set(conn_ids)
    for member in room.state.members.values():
        if not gone.intersection(member.conns):
            continue
        member.conns = [c for c in member.conns if c not in gone]
        if member.conns or not member.present:
            continue
        _close(member, room.now)
        member.leave_at = room.now + room.state.grace_ms
        room.actor = member.id
        _emit_status(room, member)
    room.actor = None


def grace_over(room: Room, member: Member, at: int) -> None:
    """A disconnected member's grace period ended: it leaves."""
    _leave(room, member, at, "left")


def set_status(room: Room, actor: str, payload: dict[str, Any]) -> None:
    member = room.member(actor)
    member.status = payload["status"]
    member.text = payload.get("text", "")
    _emit_status(room, member)


def set_role(room: Room, actor: str, payload: dict[str, Any]) -> None:
    member = room.member(payload["member_id"])
    role = payload["role"]
    if member.role == role:
        raise Conflict(f"{member.name} is already {role}")
    if member.role == MENTOR and not _other_mentors(room, member):
        raise Conflict("a room keeps at least one mentor")
    member.role = role
    room.emit("member.role", {"member_id": member.id, "role": role})
    turns.member_changed(room, member)


def remove(room: Room, actor: str, payload: dict[str, Any]) -> None:
    member = room.member(payload["member_id"])
    if member.id == actor:
        raise Conflict("a mentor cannot remove themself")
    member.removed = True
    if member.connected:
        _close(member, room.now)
        member.conns = []
    _leave(room, member, room.now, "removed")


def close_room(room: Room, actor: str, payload: dict[str, Any]) -> None:
    state = room.state
    for member in room.present_members():
        if member.connected:
            _close(member, room.now)
        member.left_at = room.now
        member.leave_at = None
    state.turns.ends_at = None
    state.closed_at = room.now
    room.emit("room.closed", {})


def _leave(room: Room, member: Member, at: int, reason: str) -> None:
    member.left_at = at
    member.leave_at = None
    turns.member_gone(room, member, at)
    room.emit("member.left", {"member_id": member.id, "reason": reason}, at=at)


def _open(member: Member, conn_id: str, now: int) -> None:
    if not member.conns:
        member.connected_since = now
    member.conns.append(conn_id)


def _close(member: Member, now: int) -> None:
    if member.connected_since is not None:
        member.present_ms += max(0, now - member.connected_since)
    member.connected_since = None


def _emit_status(room: Room, member: Member) -> None:
    room.emit(
        "member.status",
        {
            "member_id": member.id,
            "status": member.status,
            "connected": member.connected,
            "text": member.text,
        },
    )


def _other_mentors(room: Room, member: Member) -> bool:
    return any(m.role == MENTOR and m.id != member.id for m in room.present_members())
