"""The rules of a person's history: practice days, streaks, totals, focus time.

Pure: sessions come in as plain mappings (as archived), time zones as
`tzinfo` values, "now" as epoch milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
