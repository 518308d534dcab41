"""Members: joining, connections (several tabs count once), grace, roles, removal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ensemble.core import focus, turns
from ensemble.core.errors import Conflict, Unauthorized
from ensemble.core.events import (
    DIRECT,
    DROPPED,
    REMOVED,
    ROLE_CHANGED,
    ROOM_CLOSED,
    Effect,
    history_key,
)
from ensemble.core.state import MENTOR, Member

if TYPE_CHECKING:
    from ensemble.core.context import Context


def join(
    room: Context, member_id: str, name: str, role: str, conn_id: str,
    person_id: str | None = None,
) -> dict[str, Any]:
    if member_id in room.state.members:
        raise Conflict(f"member id {member_id} is taken")
    _check_room_for_one_more(room)
    member = Member(id=member_id, name=name, role=role, joined_at=room.now, person_id=person_id)
    room.state.members[member_id] = member
    room.state.ever_joined = True
    room.actor = member_id
    _open(room, member, conn_id)
    room.emit("member.joined", {"member": member.public()})
    turns.member_arrived(room, member)
    return {"member_id": member_id, "role": role}


def connect(room: Context, member_id: str, conn_id: str) -> dict[str, Any]:
    member = room.state.members.get(member_id)
    if member is None or member.removed:
        raise Unauthorized("this session is no longer a member of the room")
    if not member.present:
        # Back after the grace period: the same member enters again.
        _check_room_for_one_more(room)
        member.left_at = None
        member.leave_at = None
        _open(room, member, conn_id)
        room.emit("member.joined", {"member": member.public()})
        turns.member_arrived(room, member)
    else:
        if len(member.conns) >= room.state.limits.max_conns:
            raise Conflict(f"a member has at most {room.state.limits.max_conns} connections")
        was_connected = member.connected
        member.leave_at = None
        _open(room, member, conn_id)
        if not was_connected:
            _emit_status(room, member)
    return {"member_id": member_id, "role": member.role}


def disconnect(room: Context, conn_ids: list[str]) -> None:
    gone = set(conn_ids)
    for member in room.state.members.values():
        if not gone.intersection(member.conns):
            continue
        member.conns = [c for c in member.conns if c not in gone]
        if member.conns or not member.present:
            continue
        _close(room, member, room.now)
        member.leave_at = room.now + room.state.grace_ms
        room.actor = member.id
        _emit_status(room, member)
    room.actor = None


def grace_over(room: Context, member: Member, at: int) -> None:
    """A disconnected member's grace period ended: it leaves."""
    _leave(room, member, at, "left")


def set_status(room: Context, actor: str, payload: dict[str, Any]) -> None:
    member = room.member(actor)
    member.status = payload["status"]
    member.text = payload.get("text", "")
    _emit_status(room, member)


def set_role(room: Context, actor: str, payload: dict[str, Any]) -> None:
    member = room.member(payload["member_id"])
    role = payload["role"]
    if member.role == role:
        raise Conflict(f"{member.name} is already {role}")
    if member.role == MENTOR and not _other_mentors(room, member):
        raise Conflict("a room keeps at least one mentor")
    member.role = role
    room.emit("member.role", {"member_id": member.id, "role": role},
              effect=Effect(ROLE_CHANGED, member.id))
    turns.member_changed(room, member)


def remove(room: Context, actor: str, payload: dict[str, Any]) -> None:
    member = room.member(payload["member_id"])
    if member.id == actor:
        raise Conflict("a mentor cannot remove themself")
    member.removed = True
    if member.connected:
        _close(room, member, room.now)
        member.conns = []
    _leave(room, member, room.now, "removed")


def close_room(room: Context, actor: str, payload: dict[str, Any]) -> None:
    _close_room(room, room.now, "closed")


def close_idle(room: Context, at: int) -> None:
    """Nobody came back for the room's idle time: it closes by itself."""
    room.actor = None
    _close_room(room, at, "idle")


def _close_room(room: Context, at: int, reason: str) -> None:
    state = room.state
    for member in room.present_members():
        if member.connected:
            _close(room, member, at)
        member.left_at = at
        member.leave_at = None
        _record_departure(room, member)
    state.turns.ends_at = None
    state.closed_at = at
    state.empty_since = None
    room.emit("room.closed", {"reason": reason}, at=at, effect=Effect(ROOM_CLOSED))


def _leave(room: Context, member: Member, at: int, reason: str) -> None:
    member.left_at = at
    member.leave_at = None
    turns.member_gone(room, member, at)
    ends = Effect(REMOVED if reason == "removed" else DROPPED, member.id)
    room.emit("member.left", {"member_id": member.id, "reason": reason}, at=at, effect=ends)
    _record_departure(room, member)
    if not room.present_members():
        room.state.empty_since = at
    _forget_departed(room)


def _record_departure(room: Context, member: Member) -> None:
    """What the report keeps of a member who left, should the state forget them."""
    room.record({"kind": "attendance", "member_id": member.id, "name": member.name,
                 "role": member.role, "joined_at": member.joined_at,
                 "left_at": member.left_at, "present_ms": member.present_ms,
                 "person_id": member.person_id, "focus_ms": member.focus_ms})
    goal = room.state.goals.get(member.id)
    if goal is not None and goal.result is None:
        room.record(goal.record())


def _forget_departed(room: Context) -> None:
    """Keep only the latest `left_kept` members who left: their records hold the rest.

    A forgotten member's token no longer works (they join again with the invite).
    """
    state = room.state
    departed = [m for m in state.members.values() if not m.present]
    excess = len(departed) - state.limits.left_kept
    if excess <= 0:
        return
    departed.sort(key=lambda m: m.left_at or 0)
    for member in departed[:excess]:
        del state.members[member.id]
        state.goals.pop(member.id, None)
        state.seqs.pop(history_key(DIRECT, member.id), None)


def _check_room_for_one_more(room: Context) -> None:
    limit = room.state.limits.max_members
    if len(room.present_members()) >= limit:
        raise Conflict(f"the room is full ({limit} members)")


def _open(room: Context, member: Member, conn_id: str) -> None:
    if not member.conns:
        member.connected_since = room.now
    member.conns.append(conn_id)
    room.state.empty_since = None
    # Kept already, and someone is back: the session goes on, and is kept
    # again (replacing that copy) when it ends.
    room.state.archived = False


def _close(room: Context, member: Member, now: int) -> None:
    focus.settle(room.state, member, now)
    if member.connected_since is not None:
        member.present_ms += max(0, now - member.connected_since)
    member.connected_since = None


def _emit_status(room: Context, member: Member) -> None:
    room.emit(
        "member.status",
        {
            "member_id": member.id,
            "status": member.status,
            "connected": member.connected,
            "text": member.text,
        },
        # Disconnected as far as the room knows: any socket still open is stale.
        effect=None if member.connected else Effect(DROPPED, member.id),
    )


def _other_mentors(room: Context, member: Member) -> bool:
    return any(m.role == MENTOR and m.id != member.id for m in room.present_members())
