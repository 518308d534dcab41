"""The session report: attendance, goals, turns and feedback received.

Built from two sources: the live state (members still known, current goals,
the turn being taken) and the room's record log (`Outcome.records`: finished
goals, turns taken, comments, reactions, attendance of members who left).
Where both know a member or a goal, the state is the newer word.
"""

from __future__ import annotations

from typing import Any

from ensemble.core.focus import member_focus_ms
from ensemble.core.state import OBSERVER, RoomState


def build_report(
    state: RoomState,
    records: list[dict[str, Any]],
    now: int,
    dropped: int = 0,
    dropped_by_member: dict[str, int] | None = None,
) -> dict[str, Any]:
    end = state.closed_at if state.closed_at is not None else now
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_kind.setdefault(record["kind"], []).append(record)

    people = _people(state, by_kind.get("attendance", []), end)
    names = {member_id: person["name"] for member_id, person in people.items()}
    attendees = [p for p in people.values() if p["role"] != OBSERVER]

    report = {
        "room": {
            "id": state.id,
            "title": state.title,
            "visibility": state.visibility,
            "created_at": state.created_at,
            "closed_at": state.closed_at,
            "group_id": state.group_id,
        },
        "generated_at": now,
        "attendance": attendees,
        "goals": _goals(state, by_kind.get("goal", []), names),
        "turns": _turns(state, by_kind.get("turn", []), names, end),
        "feedback": _feedback(
            attendees, by_kind.get("comment", []), by_kind.get("reaction", []), names
        ),
    }
    notes = _notes(by_kind.get("note", []), names)
    if notes:
        report["notes"] = notes  # mentors-only notes (the report is for mentors)
    if dropped:
        # The record log is bounded, room-wide and per member; say how much of
        # it overflowed, and whose records were not kept.
        report["truncated"] = {
            "records_dropped": dropped,
            "dropped_by_member": {k: v for k, v in sorted((dropped_by_member or {}).items())
                                  if v > 0},
        }
    return report


def _people(
    state: RoomState, departures: list[dict[str, Any]], end: int
) -> dict[str, dict[str, Any]]:
    """Everyone who came, in order of arrival: the state's members, and the
    members it forgot as their latest departure record has them."""
    people: dict[str, dict[str, Any]] = {}
    for record in departures:
        people[record["member_id"]] = {
            "member_id": record["member_id"],
            "name": record["name"],
            "role": record["role"],
            "joined_at": record["joined_at"],
            "left_at": record["left_at"],
            "present_ms": record["present_ms"],
            "person_id": record.get("person_id"),
            "focus_ms": record.get("focus_ms", 0),
        }
    for m in state.members.values():
        present = m.present_ms
        if m.connected_since is not None:
            present += max(0, end - m.connected_since)
        people[m.id] = {
            "member_id": m.id,
            "name": m.name,
            "role": m.role,
            "joined_at": m.joined_at,
            "left_at": m.left_at,
            "present_ms": present,
            "person_id": m.person_id,
            "focus_ms": member_focus_ms(state, m, end),
        }
    return dict(sorted(people.items(), key=lambda item: item[1]["joined_at"]))


def _goals(
    state: RoomState, records: list[dict[str, Any]], names: dict[str, str]
) -> list[dict[str, Any]]:
    goals: dict[tuple[str, int], dict[str, Any]] = {}
    for record in [*records, *(g.record() for g in state.goals.values())]:
        goals[(record["member_id"], record["set_at"])] = record  # the latest word wins
    return [
        {
            "member_id": g["member_id"],
            "name": names.get(g["member_id"], ""),
            "text": g["text"],
            "round": g["round"],
            "result": g["result"],
            "note": g["note"],
            "set_at": g["set_at"],
            "checked_at": g["checked_at"],
        }
        for g in sorted(goals.values(), key=lambda g: g["set_at"])
    ]


def _turns(
    state: RoomState, records: list[dict[str, Any]], names: dict[str, str], end: int
) -> list[dict[str, Any]]:
    turns = [
        {
            "member_id": t["member_id"],
            "name": names.get(t["member_id"], ""),
            "started_at": t["started_at"],
            "ended_at": t["ended_at"],
            "ms": t["ended_at"] - t["started_at"],
        }
        for t in records
    ]
    current = state.turns
    if current.current is not None and current.started_at is not None:
        turns.append({
            "member_id": current.current,
            "name": names.get(current.current, ""),
            "started_at": current.started_at,
            "ended_at": None,
            "ms": end - current.started_at,
        })
    return turns


def _feedback(
    attendees: list[dict[str, Any]],
    comments: list[dict[str, Any]],
    reactions: list[dict[str, Any]],
    names: dict[str, str],
) -> list[dict[str, Any]]:
    received: dict[str, list[dict[str, Any]]] = {}
    for c in comments:
        received.setdefault(c["to"], []).append({
            "from": c["by"],
            "from_name": names.get(c["by"], ""),
            "text": c["text"],
            "private": c["private"],
            "at": c["at"],
            "anchor": c["anchor"],
        })
    counts: dict[str, dict[str, int]] = {}
    for r in reactions:
        emoji = counts.setdefault(r["to"], {})
        emoji[r["emoji"]] = emoji.get(r["emoji"], 0) + 1
    return [
        {
            "member_id": p["member_id"],
            "name": p["name"],
            "comments": received.get(p["member_id"], []),
            "reactions": counts.get(p["member_id"], {}),
        }
        for p in attendees
    ]


def _notes(records: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"from": n["by"], "from_name": names.get(n["by"], ""), "text": n["text"], "at": n["at"],
         "anchor": n["anchor"]}
        for n in records
    ]
