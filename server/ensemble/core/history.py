"""The rules of a person's history: practice days, streaks, totals, focus time.

Pure: sessions come in as plain mappings (as archived), time zones as
`tzinfo` values, "now" as epoch milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ensemble.core.errors import BadRequest

DEFAULT_TZ = "UTC"
RESULTS = ("done", "partial", "missed")


def zone(name: str) -> ZoneInfo:
    """The IANA time zone called `name`; BadRequest when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest(f"tz {name!r} is not an IANA time zone (like Europe/Paris)") from None


def local_day(at_ms: int, tz: tzinfo) -> date:
    """The calendar day in `tz` of an instant."""
    return datetime.fromtimestamp(at_ms / 1000, tz).date()


def practice_days(sessions: Iterable[Mapping[str, Any]], tz: tzinfo) -> set[date]:
    """Days (in `tz`) of the sessions in which the person was present during focus.

    A session counts on the day it started, even if it ran past midnight.
    """
    return {local_day(s["started_at"], tz) for s in sessions if s["focus_ms"] > 0}


def streak(days: set[date], today: date) -> dict[str, int]:
    """`days`: consecutive practice days ending today, or yesterday when today
    has none yet; `best`: the longest run ever."""
    current = 0
    day = today if today in days else today - timedelta(days=1)
    while day in days:
        current += 1
        day -= timedelta(days=1)
    best = 0
    for start in days:
        if start - timedelta(days=1) in days:
            continue  # not the first day of a run
        length = 1
        while start + timedelta(days=length) in days:
            length += 1
        best = max(best, length)
    return {"days": current, "best": best}


def person_streak(sessions: Iterable[Mapping[str, Any]], tz: tzinfo, now: int) -> dict[str, int]:
    return streak(practice_days(sessions, tz), local_day(now, tz))


def totals(sessions: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    result = dict.fromkeys(
        ("sessions", "present_ms", "focus_ms", "goals_set", "goals_done", "goals_partial",
         "goals_missed"), 0,
    )  # fmt: skip
    for s in sessions:
        result["sessions"] += 1
        result["present_ms"] += s["present_ms"]
        result["focus_ms"] += s["focus_ms"]
        for goal in s["goals"]:
            result["goals_set"] += 1
            if goal.get("result") in RESULTS:
                result[f"goals_{goal['result']}"] += 1
    return result


def goals_kept_ratio(counts: Mapping[str, int]) -> float | None:
    """Goals done out of goals checked (done, partial or missed); None before any check.

    A partial goal counts as half kept.
    """
    checked = counts["goals_done"] + counts["goals_partial"] + counts["goals_missed"]
    if checked == 0:
        return None
    return (counts["goals_done"] + counts["goals_partial"] / 2) / checked


def archive_records(report: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What the history keeps of a session report: the session, and one record
    per person who was in it (members without a person — guests — are not kept).

    A person who joined twice (two members) gets one record with both summed.
    """
    room = report["room"]
    attendance = report["attendance"]
    joined = [a["joined_at"] for a in attendance]
    left = [a["left_at"] for a in attendance if a["left_at"] is not None]
    started_at = min(joined, default=room["created_at"])
    ended_at = room["closed_at"] or max(left, default=report["generated_at"])
    session = {
        "room_id": room["id"],
        "group_id": room.get("group_id"),
        "title": room["title"],
        "started_at": started_at,
        "ended_at": max(ended_at, started_at),
        "present": len(attendance),
        # Mentors-only notes: the group's mentors read them, nobody else.
        "notes": [{k: n[k] for k in ("from_name", "text", "at", "anchor")}
                  for n in report.get("notes", [])],
    }
    person_of = {a["member_id"]: a["person_id"] for a in attendance if a.get("person_id")}
    people: dict[str, dict[str, Any]] = {}
    for a in attendance:
        person_id = person_of.get(a["member_id"])
        if person_id is None:
            continue
        entry = people.setdefault(person_id, {
            "person_id": person_id, "role": a["role"], "present_ms": 0, "focus_ms": 0,
            "goals": [], "turns": [], "feedback": [], "reactions": {},
        })  # fmt: skip
        if a["role"] == "mentor":
            entry["role"] = "mentor"
        entry["present_ms"] += a["present_ms"]
        entry["focus_ms"] += a.get("focus_ms", 0)
    for goal in report["goals"]:
        if goal["member_id"] in person_of:
            people[person_of[goal["member_id"]]]["goals"].append(
                {"text": goal["text"], "result": goal["result"], "note": goal["note"]}
            )
    for turn in report["turns"]:
        if turn["member_id"] in person_of:
            people[person_of[turn["member_id"]]]["turns"].append({"ms": max(0, turn["ms"])})
    for received in report["feedback"]:
        if received["member_id"] not in person_of:
            continue
        entry = people[person_of[received["member_id"]]]
        entry["feedback"].extend(
            {k: c[k] for k in ("from_name", "text", "private", "at", "anchor")}
            for c in received["comments"]
        )
        for emoji, count in received["reactions"].items():
            entry["reactions"][emoji] = entry["reactions"].get(emoji, 0) + count
    for entry in people.values():
        entry["feedback"].sort(key=lambda c: c["at"])
    return session, list(people.values())


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def next_session_at(schedule: Mapping[str, Any] | None, now: int) -> int | None:
    """The next scheduled meeting after `now` (epoch ms), in the schedule's own zone.

    `schedule` is `{days: ["mon", ...], time: "HH:MM", tz}`; a time that a DST
    jump skips is read as the wall clock after the jump (zoneinfo's rule).
    """
    if not schedule or not schedule.get("days"):
        return None
    tz = zone(schedule.get("tz", DEFAULT_TZ))
    hour, minute = (int(part) for part in schedule["time"].split(":"))
    today = local_day(now, tz)
    for ahead in range(8):
        day = today + timedelta(days=ahead)
        if WEEKDAYS[day.weekday()] not in schedule["days"]:
            continue
        at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
        at_ms = int(at.timestamp() * 1000)
        if at_ms > now:
            return at_ms
    return None


def week_start(now: int, tz: tzinfo) -> int:
    """Monday 00:00 of the current week in `tz`, as epoch ms."""
    today = local_day(now, tz)
    monday = today - timedelta(days=today.weekday())
    return int(datetime(monday.year, monday.month, monday.day, tzinfo=tz).timestamp() * 1000)


def board(
    members: Iterable[Mapping[str, Any]],
    history: Mapping[str, Sequence[Mapping[str, Any]]],
    week: Mapping[str, Sequence[Mapping[str, Any]]],
    now: int,
) -> list[dict[str, Any]]:
    """The group's board for the week: opted-in members only, most focus first.

    `history`: each member's kept sessions (for the streak, in their own zone);
    `week`: their sessions of this group since the week started.
    """
    entries = []
    for m in members:
        if not m["board_opt_in"]:
            continue
        counts = totals(week.get(m["person_id"], []))
        entries.append({
            "person_id": m["person_id"],
            "name": m["name"],
            "streak": person_streak(history.get(m["person_id"], []), zone(m["tz"]), now)["days"],
            "focus_ms": counts["focus_ms"],
            "goals_done": counts["goals_done"],
        })
    entries.sort(key=lambda e: (-e["focus_ms"], -e["goals_done"], -e["streak"], e["name"]))
    return entries


def week_summary(sessions: Iterable[Mapping[str, Any]], tz: tzinfo, now: int) -> dict[str, int]:
    """This week so far (from Monday 00:00 in `tz`): sessions, focus time, goals done."""
    start = week_start(now, tz)
    counts = totals(s for s in sessions if s["started_at"] >= start)
    return {"week_start": start, "sessions": counts["sessions"], "focus_ms": counts["focus_ms"],
            "goals_done": counts["goals_done"]}


def personal_bests(sessions: Iterable[Mapping[str, Any]], tz: tzinfo) -> dict[str, int]:
    """The most focus in one session and in one week (weeks from Monday in `tz`)."""
    best_session = 0
    weeks: dict[date, int] = {}
    for s in sessions:
        best_session = max(best_session, s["focus_ms"])
        day = local_day(s["started_at"], tz)
        monday = day - timedelta(days=day.weekday())
        weeks[monday] = weeks.get(monday, 0) + s["focus_ms"]
    return {"session_focus_ms": best_session, "week_focus_ms": max(weeks.values(), default=0)}
