"""Goals and check-outs, chat, reactions, comments and mentors' notes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ensemble.core.errors import BadRequest, Conflict
from ensemble.core.events import DIRECT, MENTORS
from ensemble.core.state import MENTOR, CommentRecord, GoalRecord

if TYPE_CHECKING:
    from ensemble.core.room import Room


def current_goal(room: Room, member_id: str) -> GoalRecord | None:
    for goal in reversed(room.state.goals):
        if goal.member_id == member_id:
            return goal
    return None


def current_goals(room: Room) -> dict[str, dict[str, Any]]:
    goals: dict[str, dict[str, Any]] = {}
    for goal in room.state.goals:
        if room.state.members[goal.member_id].present:
            goals[goal.member_id] = goal.public()
    return goals


def received_counts(room: Room) -> dict[str, int]:
    """Comments and reactions each present member received (what mentors see)."""
    counts: dict[str, int] = {}
    for comment in room.state.comments:
        counts[comment.to] = counts.get(comment.to, 0) + 1
    for member_id, reactions in room.state.reactions.items():
        counts[member_id] = counts.get(member_id, 0) + sum(reactions.values())
    return {m: n for m, n in counts.items() if room.state.members[m].present}


def goal_set(room: Room, actor: str, payload: dict[str, Any]) -> None:
    goal = current_goal(room, actor)
    if goal is not None and goal.result is None:
        goal.text = payload["text"]  # still open: the member restates it
    else:
        room.state.goals.append(
            GoalRecord(actor, payload["text"], room.now, room.state.sprint.round)
        )
    room.emit("goal.set", {"member_id": actor, "text": payload["text"]})


def goal_check(room: Room, actor: str, payload: dict[str, Any]) -> None:
    goal = current_goal(room, actor)
    if goal is None:
        raise Conflict("set a goal before checking out")
    goal.result = payload["result"]
    goal.note = payload.get("note", "")
    goal.checked_at = room.now
    room.emit(
        "goal.checked",
        {"member_id": actor, "result": goal.result, "note": goal.note},
    )


def chat_send(room: Room, actor: str, payload: dict[str, Any]) -> None:
    room.emit("chat.message", {"text": payload["text"]})


def reaction_send(room: Room, actor: str, payload: dict[str, Any]) -> None:
    to = payload.get("to")
    if to is not None:
        room.member(to)
        counts = room.state.reactions.setdefault(to, {})
        counts[payload["emoji"]] = counts.get(payload["emoji"], 0) + 1
    room.emit("reaction", {"emoji": payload["emoji"], "to": to})


def comment_send(room: Room, actor: str, payload: dict[str, Any]) -> dict[str, Any]:
    to = payload.get("to")
    private = bool(payload.get("private", False))
    if private and to is None:
        raise BadRequest("a private comment needs `to`")
    if to is not None:
        room.member(to)
    if to == actor:
        raise Conflict("a comment goes to someone else")
    fields = {"text": payload["text"], "to": to, "private": private, "anchor": anchor(room)}
    if to is not None:
        room.state.comments.append(
            CommentRecord(to, actor, payload["text"], private, room.now, fields["anchor"])
        )
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
