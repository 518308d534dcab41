"""Turn-taking: a raised-hand queue or a round robin of every participant.

`current` holds the turn; `queue` lists who waits after them. Only present
participants ever appear, each at most once. With `turn_ms` set, a turn ends
by itself at `ends_at` and the next one starts at that same instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ensemble.core.errors import BadRequest, Conflict, Forbidden
from ensemble.core.state import PARTICIPANT, Member

if TYPE_CHECKING:
    from ensemble.core.room import Room


def hand_raise(room: Room, actor: str, payload: dict[str, Any]) -> None:
    turns = room.state.turns
    if turns.mode == "round_robin":
        raise Conflict("turns go round robin: everyone gets one without raising a hand")
    if actor == turns.current or actor in turns.queue:
        raise Conflict("your hand is already raised")
    turns.queue.append(actor)
    if turns.current is None:
        _start_next(room, room.now)
    _emit(room)


def hand_lower(room: Room, actor: str, payload: dict[str, Any]) -> None:
    turns = room.state.turns
    if turns.mode == "round_robin":
        raise Conflict("turns go round robin: there are no hands to lower")
    if actor == turns.current:
        raise Conflict("you hold the turn: pass it instead")
    if actor not in turns.queue:
        raise Conflict("your hand is not raised")
    turns.queue.remove(actor)
    _emit(room)


def turn_pass(room: Room, actor: str, payload: dict[str, Any]) -> None:
    if room.state.turns.current != actor:
        raise Forbidden("only the member holding the turn can pass it")
    _advance(room, room.now)


def turn_next(room: Room, actor: str, payload: dict[str, Any]) -> None:
    turns = room.state.turns
    if turns.current is None and not turns.queue:
        raise Conflict("nobody is waiting for a turn")
    _advance(room, room.now)


def turn_grant(room: Room, actor: str, payload: dict[str, Any]) -> None:
    turns = room.state.turns
    member = room.member(payload["member_id"])
    if member.role != PARTICIPANT:
        raise Conflict(f"only participants take turns; {member.name} is {member.role}")
    if turns.current == member.id:
        raise Conflict(f"{member.name} already holds the turn")
    if member.id in turns.queue:
        turns.queue.remove(member.id)
    _end_current(room, room.now)
    _begin(room, member.id, room.now)
    _emit(room)


def turn_reorder(room: Room, actor: str, payload: dict[str, Any]) -> None:
    turns = room.state.turns
    queue = payload["queue"]
    if len(set(queue)) != len(queue) or set(queue) != set(turns.queue):
        raise BadRequest("the new order must list exactly the members waiting, once each")
    turns.queue = list(queue)
    _emit(room)


def turns_config(room: Room, actor: str, payload: dict[str, Any]) -> None:
    turns = room.state.turns
    mode = payload["mode"]
    turns.turn_ms = payload.get("turn_ms")
    if mode != turns.mode:
        turns.mode = mode
        if mode == "round_robin":
            turns.queue = [
                m.id for m in _participants(room) if m.id != turns.current
            ]
        else:
            turns.queue = []
    if turns.current is None:
        if turns.queue:
            _start_next(room, room.now)
    else:
        turns.ends_at = room.now + turns.turn_ms if turns.turn_ms else None
    _emit(room)


def turns_clear(room: Room, actor: str, payload: dict[str, Any]) -> None:
    turns = room.state.turns
    if turns.current is None and not turns.queue:
        raise Conflict("there are no turns to clear")
    _end_current(room, room.now)
    turns.queue = []
    _emit(room)


def skip_expired(room: Room, until: int, most: int) -> None:
    """Jump over a long backlog of round-robin turn limits due by `until`.

    When more than `most` turns ran out unserved (every process was down), the
    rotation moves on arithmetically to where all but the last of them would
    have left it, without an event or a log record for each turn nobody took:
    the turn that was running is logged as ending at its limit, and the last
    due limit then fires as usual (one `turns.changed` with the state at that
    instant). Queue mode needs none: its queue only shrinks.
    """
    turns = room.state.turns
    if turns.mode != "round_robin" or turns.current is None or not turns.turn_ms:
        return
    if turns.ends_at is None or turns.ends_at > until:
        return
    due = (until - turns.ends_at) // turns.turn_ms + 1
    if due <= most:
        return
    skipped = due - 1
    first_end = turns.ends_at
    room.record({"kind": "turn", "member_id": turns.current,
                 "started_at": turns.started_at or first_end, "ended_at": first_end})
    rotation = [turns.current, *turns.queue]
    shift = skipped % len(rotation)
    rotation = rotation[shift:] + rotation[:shift]
    turns.current, turns.queue = rotation[0], rotation[1:]
    turns.started_at = first_end + (skipped - 1) * turns.turn_ms
    turns.ends_at = first_end + skipped * turns.turn_ms


def expire_turn(room: Room, at: int) -> None:
    """The turn's time limit was reached (fired by the room at the deadline)."""
    _advance(room, at)


def member_arrived(room: Room, member: Member) -> None:
    """A participant joining a round robin takes its place at the end."""
    turns = room.state.turns
    if turns.mode == "round_robin" and member.role == PARTICIPANT:
        turns.queue.append(member.id)
        if turns.current is None:
            _start_next(room, room.now)
        _emit(room)


def member_changed(room: Room, member: Member) -> None:
    """A member's role changed: only participants take turns."""
    if member.role == PARTICIPANT:
        member_arrived(room, member)
    else:
        member_gone(room, member, room.now)


def member_gone(room: Room, member: Member, at: int) -> None:
    turns = room.state.turns
    if turns.current == member.id:
        _end_current(room, at, requeue=False)
        if turns.queue:
            _start_next(room, at)
        _emit(room, at)
    elif member.id in turns.queue:
        turns.queue.remove(member.id)
        _emit(room, at)


def _advance(room: Room, at: int) -> None:
    _end_current(room, at)
    if room.state.turns.queue:
        _start_next(room, at)
    _emit(room, at)


def _end_current(room: Room, at: int, *, requeue: bool = True) -> None:
    turns = room.state.turns
    if turns.current is None:
        return
    holder = turns.current
    room.record({"kind": "turn", "member_id": holder, "started_at": turns.started_at or at,
                 "ended_at": at})
    turns.current = None
    turns.started_at = None
    turns.ends_at = None
    if requeue and turns.mode == "round_robin":
        turns.queue.append(holder)


def _start_next(room: Room, at: int) -> None:
    _begin(room, room.state.turns.queue.pop(0), at)


def _begin(room: Room, member_id: str, at: int) -> None:
    turns = room.state.turns
    turns.current = member_id
    turns.started_at = at
    turns.ends_at = at + turns.turn_ms if turns.turn_ms else None


def _participants(room: Room) -> list[Member]:
    return [m for m in room.present_members() if m.role == PARTICIPANT]


def _emit(room: Room, at: int | None = None) -> None:
    room.emit("turns.changed", {"turns": room.state.turns.public()}, at=at)
