"""The session report: attendance, goals, turns and feedback received."""

from __future__ import annotations

from typing import Any

from ensemble.core.state import OBSERVER, RoomState


def build_report(state: RoomState, now: int) -> dict[str, Any]:
    end = state.closed_at if state.closed_at is not None else now
    names = {m.id: m.name for m in state.members.values()}
    attendees = [m for m in state.members.values() if m.role != OBSERVER]

    attendance = []
    for m in attendees:
        present = m.present_ms
        if m.connected_since is not None:
            present += max(0, end - m.connected_since)
        attendance.append({
            "member_id": m.id,
            "name": m.name,
            "role": m.role,
            "joined_at": m.joined_at,
            "left_at": m.left_at,
            "present_ms": present,
        })

    goals = [
        {
            "member_id": g.member_id,
            "name": names[g.member_id],
            "text": g.text,
            "round": g.round,
            "result": g.result,
            "note": g.note,
            "set_at": g.set_at,
            "checked_at": g.checked_at,
        }
        for g in state.goals
    ]

    turns = [
        {
            "member_id": t.member_id,
            "name": names[t.member_id],
            "started_at": t.started_at,
            "ended_at": t.ended_at,
            "ms": t.ended_at - t.started_at,
        }
        for t in state.turn_log
    ]
    if state.turns.current is not None and state.turns.started_at is not None:
        turns.append({
            "member_id": state.turns.current,
            "name": names[state.turns.current],
            "started_at": state.turns.started_at,
            "ended_at": None,
            "ms": end - state.turns.started_at,
        })

    feedback = []
    for m in attendees:
        comments = [
            {
                "from": c.by,
                "from_name": names.get(c.by, ""),
                "text": c.text,
                "private": c.private,
                "at": c.at,
                "anchor": c.anchor,
            }
            for c in state.comments
            if c.to == m.id
        ]
        feedback.append({
            "member_id": m.id,
            "name": m.name,
            "comments": comments,
            "reactions": dict(state.reactions.get(m.id, {})),
        })

    return {
        "room": {
            "id": state.id,
            "title": state.title,
            "visibility": state.visibility,
            "created_at": state.created_at,
            "closed_at": state.closed_at,
        },
        "generated_at": now,
        "attendance": attendance,
        "goals": goals,
        "turns": turns,
        "feedback": feedback,
    }
