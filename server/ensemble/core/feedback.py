"""Goals and check-outs, chat, reactions, comments and mentors' notes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ensemble.core.errors import BadRequest, Conflict
from ensemble.core.events import DIRECT, MENTORS
from ensemble.core.state import MENTOR, GoalRecord

if TYPE_CHECKING:
    from ensemble.core.room import Room


def current_goals(room: Room) -> dict[str, dict[str, Any]]:
    members = room.state.members
    return {m: goal.public() for m, goal in room.state.goals.items() if members[m].present}


def received_counts(room: Room) -> dict[str, int]:
    """Comments and reactions each present member received (what mentors see)."""
    return {m.id: m.received for m in room.present_members() if m.received}


def goal_set(room: Room, actor: str, payload: dict[str, Any]) -> None:
    goal = room.state.goals.get(actor)
    if goal is not None and goal.result is None:
        goal.text = payload["text"]  # still open: the member restates it
    else:
        room.state.goals[actor] = GoalRecord(
            actor, payload["text"], room.now, room.state.sprint.round
        )
    room.emit("goal.set", {"member_id": actor, "text": payload["text"]})


def goal_check(room: Room, actor: str, payload: dict[str, Any]) -> None:
    goal = room.state.goals.get(actor)
    if goal is None:
        raise Conflict("set a goal before checking out")
    goal.result = payload["result"]
    goal.note = payload.get("note", "")
    goal.checked_at = room.now
    room.record(goal.record())
    room.emit(
        "goal.checked",
        {"member_id": actor, "result": goal.result, "note": goal.note},
    )


def chat_send(room: Room, actor: str, payload: dict[str, Any]) -> None:
    room.emit("chat.message", {"text": payload["text"]})


def reaction_send(room: Room, actor: str, payload: dict[str, Any]) -> None:
    to = payload.get("to")
    if to is not None:
        room.member(to).received += 1
        room.record({"kind": "reaction", "to": to, "by": actor, "emoji": payload["emoji"],
                     "at": room.now})
    room.emit("reaction", {"emoji": payload["emoji"], "to": to})


def comment_send(room: Room, actor: str, payload: dict[str, Any]) -> dict[str, Any]:
    to = payload.get("to")
    private = bool(payload.get("private", False))
    if private and to is None:
        raise BadRequest("a private comment needs `to`")
    target = room.member(to) if to is not None else None
    if to == actor:
        raise Conflict("a comment goes to someone else")
    fields = {"text": payload["text"], "to": to, "private": private, "anchor": anchor(room)}
    if target is not None:
        target.received += 1
        room.record({"kind": "comment", "to": to, "by": actor, "text": payload["text"],
                     "private": private, "at": room.now, "anchor": fields["anchor"]})
    if not private:
        room.emit("comment", fields)
        return {"anchor": fields["anchor"]}
    # Private: its target's own stream, and the mentors'.
    room.emit("comment", fields, stream=MENTORS)
    if room.state.members[to].role != MENTOR:  # type: ignore[index]
        room.emit("comment", fields, stream=DIRECT, to=to)
    return {"anchor": fields["anchor"]}


def anchor(room: Room) -> dict[str, Any]:
    """The moment in the session a comment is pinned to."""
    state = room.state
    phase = state.sprint.phase
    timer = state.timer
    elapsed = None if timer.state == "idle" else timer.duration_ms - timer.remaining(room.now)
    return {
        "round": state.sprint.round if phase else None,
        "phase": phase["name"] if phase else None,
        "timer_ms": None if elapsed is None else max(0, elapsed),
        "turn_of": state.turns.current,
    }


def note_mentors(room: Room, actor: str, payload: dict[str, Any]) -> None:
    room.emit("mentor.note", {"text": payload["text"]}, stream=MENTORS)
    # Kept for the report (mentors') and the group's history (mentors only).
    room.record({"kind": "note", "by": actor, "text": payload["text"], "at": room.now,
                 "anchor": anchor(room)})
