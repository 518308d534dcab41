"""The rules of a person's history: practice days, streaks, totals, focus time.

Pure: sessions come in as plain mappings (as archived), time zones as
`tzinfo` values, "now" as epoch milliseconds.
"""

from __future__ import annotations

from bisect import bisect_right
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
    current, best = runs({day.toordinal() for day in days}, today.toordinal())
    return {"days": current, "best": best}


def runs(kept: set[int], latest: int) -> tuple[int, int]:
    """Runs of consecutive numbers (days, schedule slots) in `kept`: the one
    ending at `latest`, or at `latest - 1` while `latest` is not kept yet; and
    the longest."""
    end = latest if latest in kept else latest - 1
    current = 0
    while end - current in kept:
        current += 1
    best = 0
    for start in kept:
        if start - 1 in kept:
            continue  # not the first of a run
        length = 1
        while start + length in kept:
            length += 1
        best = max(best, length)
    return current, best


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


def group_report(
    session: Mapping[str, Any], records: Iterable[Mapping[str, Any]], viewer_id: str,
    mentor: bool,
) -> dict[str, Any]:
    """A kept session of a group as one of its members reads it, shaped like
    the room's report (by person, not by member: guests are not kept).

    `records`: each person's kept record with their `name`. Everyone reads
    the public part; a private comment only its target and the group's
    mentors (`mentor`); the mentors-only notes only the mentors.
    """
    people = sorted(records, key=lambda r: (r["role"] != "mentor", r["name"], r["person_id"]))

    def who(r: Mapping[str, Any]) -> dict[str, Any]:
        return {"person_id": r["person_id"], "name": r["name"]}

    def readable(r: Mapping[str, Any], comment: Mapping[str, Any]) -> bool:
        return not comment["private"] or mentor or r["person_id"] == viewer_id

    report: dict[str, Any] = {
        "room": {k: session[k] for k in ("title", "group_id", "started_at", "ended_at",
                                         "present")} | {"id": session["room_id"]},
        "role": "mentor" if mentor else "participant",
        "attendance": [who(r) | {"role": r["role"], "present_ms": r["present_ms"],
                                 "focus_ms": r["focus_ms"]} for r in people],
        "goals": [who(r) | {"text": g["text"], "result": g["result"], "note": g["note"]}
                  for r in people for g in r["goals"]],
        "turns": [who(r) | {"ms": t["ms"]} for r in people for t in r["turns"]],
        "feedback": [
            who(r) | {
                "comments": [{k: c[k] for k in ("from_name", "text", "private", "at", "anchor")}
                             for c in r["feedback"] if readable(r, c)],
                "reactions": dict(r["reactions"]),
            }
            for r in people
        ],
    }
    if mentor:
        report["notes"] = list(session["notes"])
    return report


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def next_session_at(schedule: Mapping[str, Any] | None, now: int) -> int | None:
    """The next scheduled meeting after `now` (epoch ms), in the schedule's own zone.

    `schedule` is `{days: ["mon", ...], time: "HH:MM", tz}`; a time that a DST
    jump skips is read as the wall clock after the jump (zoneinfo's rule).
    """
    if not schedule or not schedule.get("days"):
        return None
    today = local_day(now, zone(schedule.get("tz", DEFAULT_TZ)))
    for at_ms in occurrences(schedule, today, today + timedelta(days=7)):
        if at_ms > now:
            return at_ms
    return None


def occurrences(schedule: Mapping[str, Any], first: date, last: date) -> list[int]:
    """The schedule's meetings (epoch ms, ascending) on the days `first`..`last`
    of its own zone; one per scheduled day, a DST-skipped time read as in
    `next_session_at`."""
    tz = zone(schedule.get("tz", DEFAULT_TZ))
    hour, minute = (int(part) for part in schedule["time"].split(":"))
    result = []
    day = first
    while day <= last:
        if WEEKDAYS[day.weekday()] in schedule["days"]:
            at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
            result.append(int(at.timestamp() * 1000))
        day += timedelta(days=1)
    return result


EARLY_MS = 60 * 60 * 1000
"""A session started up to this long before a scheduled meeting counts for it."""


def group_streak(
    sessions: Iterable[Mapping[str, Any]], schedule: Mapping[str, Any] | None, tz: tzinfo,
    now: int,
) -> dict[str, int]:
    """A person's streak in one group: `sessions` are theirs in that group.

    With a weekly schedule, each meeting owns a *slot*: from `EARLY_MS` before
    it until `EARLY_MS` before the next one. A slot is kept when a session
    that reached focus (`focus_ms > 0`) started in it, so a session started a
    little early, late, or as a make-up before the next meeting counts for
    that meeting (once, however many sessions it holds). `count` is the run of
    kept slots ending with the latest slot begun by `now`, or the one before
    while the latest has none yet (today's meeting not held yet breaks
    nothing; it is missed once the next slot begins). The current schedule is
    read for the whole history.

    Without a schedule (or with no days in it): consecutive days, in `tz`
    (the person's), with a focused session of the group, as `streak` counts.
    `best` is the longest run ever.
    """
    focused = sorted(s["started_at"] for s in sessions if s["focus_ms"] > 0)
    if not schedule or not schedule.get("days"):
        days = streak({local_day(at, tz) for at in focused}, local_day(now, tz))
        return {"count": days["days"], "best": days["best"]}
    if not focused:
        return {"count": 0, "best": 0}
    own = zone(schedule.get("tz", DEFAULT_TZ))
    # A week before the first session is sure to hold the slot it falls in.
    first = local_day(focused[0], own) - timedelta(days=7)
    last = local_day(max(now, focused[-1]) + EARLY_MS, own) + timedelta(days=1)
    opens = [at - EARLY_MS for at in occurrences(schedule, first, last)]
    begun = bisect_right(opens, max(now, focused[-1])) - 1
    kept = {bisect_right(opens, at) - 1 for at in focused}
    count, best = runs(kept, begun)
    return {"count": count, "best": best}


def member_group_streak(
    sessions: Iterable[Mapping[str, Any]], group: Mapping[str, Any], tz: tzinfo, now: int
) -> dict[str, int]:
    """`group_streak` over a person's whole history, keeping `group`'s sessions."""
    own = [s for s in sessions if s.get("group_id") == group["id"]]
    return group_streak(own, group.get("schedule"), tz, now)


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
    group: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """The group's board for the week: opted-in members only, most focus first.

    `history`: each member's kept sessions (for the streaks: the personal one
    in their own zone, the group one from those of `group`, `{id, schedule}`);
    `week`: their sessions of this group since the week started.
    """
    entries = []
    for m in members:
        if not m["board_opt_in"]:
            continue
        counts = totals(week.get(m["person_id"], []))
        kept = history.get(m["person_id"], [])
        entries.append({
            "person_id": m["person_id"],
            "name": m["name"],
            "streak": person_streak(kept, zone(m["tz"]), now)["days"],
            "group_streak": member_group_streak(kept, group, zone(m["tz"]), now),
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
