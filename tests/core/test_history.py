"""History rules as pure functions: practice days, streaks across zones and DST, totals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from ensemble.core.errors import BadRequest
from ensemble.core.history import (
    board,
    goals_kept_ratio,
    local_day,
    next_session_at,
    person_streak,
    personal_bests,
    practice_days,
    streak,
    totals,
    week_start,
    week_summary,
    zone,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
AUCKLAND = ZoneInfo("Pacific/Auckland")


def ms(tz, *when: int) -> int:
    return int(datetime(*when, tzinfo=tz).timestamp() * 1000)


def session(started_at: int, focus_ms: int = 60_000, goals=()) -> dict:
    return {"started_at": started_at, "focus_ms": focus_ms, "present_ms": 90_000,
            "goals": list(goals)}


def test_streak_counts_back_from_today_or_yesterday():
    d = date(2026, 3, 10)
    days = {date(2026, 3, 8), date(2026, 3, 9), d}
    assert streak(days, d) == {"days": 3, "best": 3}
    # Today not practised yet: the streak still stands on yesterday.
    assert streak(days, date(2026, 3, 11)) == {"days": 3, "best": 3}
    # A day missed: it is broken, the best stays.
    assert streak(days, date(2026, 3, 12)) == {"days": 0, "best": 3}
    assert streak(set(), d) == {"days": 0, "best": 0}
    assert streak({date(2026, 1, 1), date(2026, 1, 2), d}, d) == {"days": 1, "best": 2}


def test_only_sessions_that_reached_focus_are_practice_days():
    sessions = [session(ms(UTC, 2026, 3, 9, 12), focus_ms=0),
                session(ms(UTC, 2026, 3, 10, 12))]
    assert practice_days(sessions, UTC) == {date(2026, 3, 10)}


def test_the_day_is_the_persons_own_calendar_day():
    # 23:30 in New York on the 9th is already the 10th in UTC.
    late = ms(NEW_YORK, 2026, 3, 9, 23, 30)
    assert local_day(late, NEW_YORK) == date(2026, 3, 9)
    assert local_day(late, UTC) == date(2026, 3, 10)
    sessions = [session(ms(NEW_YORK, 2026, 3, 8, 20)), session(late)]
    now = ms(NEW_YORK, 2026, 3, 10, 9)
    assert person_streak(sessions, NEW_YORK, now) == {"days": 2, "best": 2}
    # Read in UTC the same sessions fall on the 9th and the 10th (8 pm NY is 00:00/01:00 UTC).
    assert person_streak(sessions, UTC, now)["days"] == 2


def test_streak_across_a_dst_change():
    # Europe/Paris springs forward on 2026-03-29 (that day has 23 hours) and
    # falls back on 2026-10-25 (25 hours): one practice each day, at 23:30 local.
    spring = [session(ms(PARIS, 2026, 3, day, 23, 30)) for day in (28, 29, 30)]
    assert person_streak(spring, PARIS, ms(PARIS, 2026, 3, 30, 23, 59)) == {"days": 3, "best": 3}
    autumn = [session(ms(PARIS, 2026, 10, day, 0, 15)) for day in (24, 25, 26)]
    assert person_streak(autumn, PARIS, ms(PARIS, 2026, 10, 26, 0, 20)) == {"days": 3, "best": 3}
    assert practice_days(autumn, PARIS) == {date(2026, 10, d) for d in (24, 25, 26)}
    # The same instants are the evenings before in UTC: the person's zone decides.
    assert practice_days(autumn, UTC) == {date(2026, 10, d) for d in (23, 24, 25)}


def test_far_east_zone_and_the_date_line():
    # 09:00 on the 10th in Auckland is still the 9th in UTC.
    sessions = [session(ms(AUCKLAND, 2026, 6, 9, 9)), session(ms(AUCKLAND, 2026, 6, 10, 9))]
    assert person_streak(sessions, AUCKLAND, ms(AUCKLAND, 2026, 6, 10, 18)) == {
        "days": 2, "best": 2}


def test_totals_and_goals_kept_ratio():
    sessions = [
        session(0, goals=[{"text": "a", "result": "done"}, {"text": "b", "result": "partial"}]),
        session(1, focus_ms=0, goals=[{"text": "c", "result": "missed"},
                                      {"text": "d", "result": None}]),
    ]
    counts = totals(sessions)
    assert counts == {"sessions": 2, "present_ms": 180_000, "focus_ms": 60_000, "goals_set": 4,
                      "goals_done": 1, "goals_partial": 1, "goals_missed": 1}
    assert goals_kept_ratio(counts) == pytest.approx(0.5)
    assert goals_kept_ratio(totals([])) is None


def test_time_zone_names_are_checked():
    assert zone("Europe/Paris") == PARIS
    for bad in ("Mars/Olympus", "../../etc/passwd", "", "/etc/localtime"):
        with pytest.raises(BadRequest):
            zone(bad)


def test_next_session_follows_the_schedule_in_its_own_zone():
    schedule = {"days": ["mon", "thu"], "time": "19:30", "tz": "Europe/Paris"}
    # Wednesday 2026-03-25, noon in Paris: next is Thursday 19:30 Paris (CET, UTC+1).
    assert next_session_at(schedule, ms(PARIS, 2026, 3, 25, 12)) == ms(PARIS, 2026, 3, 26, 19, 30)
    # Thursday 19:30 exactly has begun: the next is Monday, after the DST change (CEST).
    after = next_session_at(schedule, ms(PARIS, 2026, 3, 26, 19, 30))
    assert after == ms(PARIS, 2026, 3, 30, 19, 30)
    assert after - ms(PARIS, 2026, 3, 26, 19, 30) == (4 * 24 - 1) * 3600 * 1000  # 23-hour Sunday
    assert next_session_at(None, 0) is None
    assert next_session_at({"days": [], "time": "10:00", "tz": "UTC"}, 0) is None


def test_the_week_starts_on_monday_in_the_groups_zone():
    # Sunday 23:30 in New York is Monday in UTC: the week is still the one begun on the 23rd.
    now = ms(NEW_YORK, 2026, 3, 29, 23, 30)
    assert week_start(now, NEW_YORK) == ms(NEW_YORK, 2026, 3, 23)
    assert week_start(now, UTC) == ms(UTC, 2026, 3, 30)


def test_the_board_names_only_those_who_opted_in():
    now = ms(UTC, 2026, 3, 25, 12)
    members = [
        {"person_id": "p_a", "name": "Ana", "tz": "UTC", "board_opt_in": True},
        {"person_id": "p_b", "name": "Bo", "tz": "UTC", "board_opt_in": False},
        {"person_id": "p_c", "name": "Cy", "tz": "UTC", "board_opt_in": True},
    ]
    done = [{"text": "x", "result": "done"}]
    week = {"p_a": [session(ms(UTC, 2026, 3, 24, 9), 60_000, done)],
            "p_b": [session(ms(UTC, 2026, 3, 24, 9), 900_000, done)],
            "p_c": [session(ms(UTC, 2026, 3, 25, 9), 120_000)]}
    history = {p: list(s) for p, s in week.items()}
    entries = board(members, history, week, now)
    assert [e["name"] for e in entries] == ["Cy", "Ana"]
    assert entries[1] == {"person_id": "p_a", "name": "Ana", "streak": 1, "focus_ms": 60_000,
                          "goals_done": 1}
    assert entries[0]["streak"] == 1
    assert "p_b" not in str(entries) and "Bo" not in str(entries)


def test_week_summary_and_personal_bests():
    now = ms(PARIS, 2026, 3, 25, 12)  # a Wednesday
    sessions = [session(ms(PARIS, 2026, 3, 23, 9), 60_000, [{"text": "a", "result": "done"}]),
                session(ms(PARIS, 2026, 3, 22, 23, 30), 500_000),  # Sunday: last week
                session(ms(PARIS, 2026, 3, 20, 9), 400_000)]
    week = week_summary(sessions, PARIS, now)
    assert week == {"week_start": ms(PARIS, 2026, 3, 23), "sessions": 1, "focus_ms": 60_000,
                    "goals_done": 1}
    assert personal_bests(sessions, PARIS) == {"session_focus_ms": 500_000,
                                               "week_focus_ms": 900_000}
    assert personal_bests([], PARIS) == {"session_focus_ms": 0, "week_focus_ms": 0}
