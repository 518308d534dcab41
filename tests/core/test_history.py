"""History rules as pure functions: practice days, streaks across zones and DST, totals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from ensemble.core.errors import BadRequest
from ensemble.core.history import (
    EARLY_MS,
    board,
    goals_kept_ratio,
    group_report,
    group_streak,
    local_day,
    member_group_streak,
    next_session_at,
    occurrences,
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
    entries = board(members, history, week, now, {"id": "g_1", "schedule": None})
    assert [e["name"] for e in entries] == ["Cy", "Ana"]
    # These sessions carry no group: the group streak (by days, unscheduled) is 0.
    assert entries[1] == {"person_id": "p_a", "name": "Ana", "streak": 1,
                          "group_streak": {"count": 0, "best": 0}, "focus_ms": 60_000,
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


# Group streaks: consecutive scheduled meetings (Mondays and Thursdays, 19:30 in Paris).
TWICE_WEEKLY = {"days": ["mon", "thu"], "time": "19:30", "tz": "Europe/Paris"}


def test_group_streak_counts_scheduled_meetings_not_days():
    # Thu 19, Mon 23, Thu 26 March 2026: three meetings in a row, days apart.
    held = [session(ms(PARIS, 2026, 3, d, 19, 35)) for d in (19, 23, 26)]
    now = ms(PARIS, 2026, 3, 27, 12)  # Friday
    assert group_streak(held, TWICE_WEEKLY, UTC, now) == {"count": 3, "best": 3}
    # As days, the same sessions make no run: only yesterday's counts.
    assert person_streak(held, PARIS, now) == {"days": 1, "best": 1}


def test_a_missed_meeting_breaks_the_group_streak():
    held = [session(ms(PARIS, 2026, 3, d, 19, 35)) for d in (16, 19, 26)]  # Mon 23 missed
    assert group_streak(held, TWICE_WEEKLY, UTC, ms(PARIS, 2026, 3, 27, 12)) == {
        "count": 1, "best": 2}
    # A session that never reached a focus phase does not keep the meeting.
    unfocused = [*held, session(ms(PARIS, 2026, 3, 23, 19, 35), focus_ms=0)]
    assert group_streak(unfocused, TWICE_WEEKLY, UTC, ms(PARIS, 2026, 3, 27, 12))["count"] == 1
    assert group_streak([], TWICE_WEEKLY, UTC, ms(PARIS, 2026, 3, 27, 12)) == {
        "count": 0, "best": 0}


def test_todays_meeting_not_held_yet_does_not_break_it():
    held = [session(ms(PARIS, 2026, 3, d, 19, 35)) for d in (19, 23)]
    expected = {"count": 2, "best": 2}
    for now in (ms(PARIS, 2026, 3, 26, 12),       # Thursday, before the meeting
                ms(PARIS, 2026, 3, 26, 19, 45),   # the meeting is on, not archived yet
                ms(PARIS, 2026, 3, 30, 18, 29)):  # up to an hour before the next one
        assert group_streak(held, TWICE_WEEKLY, UTC, now) == expected
    # Once the next meeting's slot opens, Thursday's is missed.
    assert group_streak(held, TWICE_WEEKLY, UTC, ms(PARIS, 2026, 3, 30, 18, 31)) == {
        "count": 0, "best": 2}
    # And today's meeting held counts at once.
    today = [*held, session(ms(PARIS, 2026, 3, 26, 19, 31))]
    assert group_streak(today, TWICE_WEEKLY, UTC, ms(PARIS, 2026, 3, 26, 21))["count"] == 3


def test_off_schedule_sessions_count_for_the_slot_they_fall_in():
    now = ms(PARIS, 2026, 3, 27, 12)
    # Monday 23 held 20 minutes early; Thursday 19 made up on the Saturday after.
    held = [session(ms(PARIS, 2026, 3, 16, 19, 30)), session(ms(PARIS, 2026, 3, 21, 10)),
            session(ms(PARIS, 2026, 3, 23, 19, 10)), session(ms(PARIS, 2026, 3, 26, 20))]
    assert group_streak(held, TWICE_WEEKLY, UTC, now) == {"count": 4, "best": 4}
    # Two sessions in one slot keep one meeting; they do not stand in for the next one.
    twice = [session(ms(PARIS, 2026, 3, 16, 19, 30)), session(ms(PARIS, 2026, 3, 17, 9)),
             session(ms(PARIS, 2026, 3, 23, 19, 30))]
    assert group_streak(twice, TWICE_WEEKLY, UTC, ms(PARIS, 2026, 3, 24, 12)) == {
        "count": 1, "best": 1}
    # More than EARLY_MS ahead of the meeting is the slot before.
    monday = session(ms(PARIS, 2026, 3, 23, 19, 30))
    thursday = ms(PARIS, 2026, 3, 26, 19, 30)
    after = ms(PARIS, 2026, 3, 26, 21)
    assert group_streak([monday, session(thursday - EARLY_MS - 1)], TWICE_WEEKLY, UTC,
                        after) == {"count": 1, "best": 1}
    assert group_streak([monday, session(thursday - EARLY_MS)], TWICE_WEEKLY, UTC,
                        after) == {"count": 2, "best": 2}


def test_group_meetings_follow_the_schedules_zone_across_dst():
    # Paris springs forward on Sunday 2026-03-29: the meetings stay at 19:30 local,
    # so the UTC gap from Thursday to Monday is an hour short.
    meetings = occurrences(TWICE_WEEKLY, date(2026, 3, 26), date(2026, 3, 30))
    assert meetings == [ms(PARIS, 2026, 3, 26, 19, 30), ms(PARIS, 2026, 3, 30, 19, 30)]
    held = [session(ms(PARIS, 2026, 3, d, 19, 25)) for d in (26, 30)]
    assert group_streak(held, TWICE_WEEKLY, UTC, ms(PARIS, 2026, 3, 30, 21)) == {
        "count": 2, "best": 2}
    # The person's own zone is irrelevant with a schedule: the group's zone decides.
    assert group_streak(held, TWICE_WEEKLY, AUCKLAND, ms(PARIS, 2026, 3, 30, 21))["count"] == 2
    # A meeting at a time the jump skips (02:30 on 29 March) is read as 03:30 CEST.
    sunday = {"days": ["sun"], "time": "02:30", "tz": "Europe/Paris"}
    assert occurrences(sunday, date(2026, 3, 29), date(2026, 3, 29)) == [
        ms(UTC, 2026, 3, 29, 1, 30)]
    held = [session(ms(PARIS, 2026, 3, 22, 2, 35)), session(ms(UTC, 2026, 3, 29, 1, 35))]
    assert group_streak(held, sunday, UTC, ms(PARIS, 2026, 3, 29, 12))["count"] == 2
    # New York meetings at 20:00 local are past midnight in UTC: still one per day.
    ny = {"days": ["fri"], "time": "20:00", "tz": "America/New_York"}
    held = [session(ms(NEW_YORK, 2026, 3, d, 20, 5)) for d in (6, 13, 20)]  # DST on the 8th
    assert group_streak(held, ny, UTC, ms(NEW_YORK, 2026, 3, 21, 9)) == {"count": 3, "best": 3}


def test_a_group_without_schedule_counts_days_with_a_group_session():
    held = [session(ms(NEW_YORK, 2026, 3, 8, 23, 30)), session(ms(NEW_YORK, 2026, 3, 9, 23, 30))]
    now = ms(NEW_YORK, 2026, 3, 10, 9)
    # In the person's zone: the 8th and 9th, ending yesterday.
    assert group_streak(held, None, NEW_YORK, now) == {"count": 2, "best": 2}
    assert group_streak(held, {"days": [], "time": "10:00", "tz": "UTC"}, NEW_YORK, now)[
        "count"] == 2
    assert group_streak(held, None, NEW_YORK, ms(NEW_YORK, 2026, 3, 11, 9)) == {
        "count": 0, "best": 2}


def test_the_group_streak_keeps_that_groups_sessions_only():
    group = {"id": "g_1", "schedule": TWICE_WEEKLY}
    ours = [{**session(ms(PARIS, 2026, 3, d, 19, 35)), "group_id": "g_1"} for d in (19, 23)]
    theirs = [{**session(ms(PARIS, 2026, 3, 26, 19, 35)), "group_id": "g_2"}]
    now = ms(PARIS, 2026, 3, 27, 12)
    assert member_group_streak(ours + theirs, group, UTC, now) == {"count": 2, "best": 2}
    # With Thursday held elsewhere only, the next slot opening breaks it.
    assert member_group_streak(ours + theirs, group, UTC, ms(PARIS, 2026, 3, 30, 19))[
        "count"] == 0


def kept_record(person_id: str, name: str, role: str, feedback=()) -> dict:
    return {"person_id": person_id, "name": name, "role": role, "present_ms": 60_000,
            "focus_ms": 30_000, "goals": [{"text": f"{name}'s goal", "result": None, "note": ""}],
            "turns": [{"ms": 5_000}], "feedback": list(feedback), "reactions": {"👏": 1}}


def comment(text: str, private: bool) -> dict:
    return {"from_name": "Mira", "text": text, "private": private, "at": 1, "anchor": {}}


def test_a_group_report_shows_each_reader_what_their_role_allows():
    kept = {"room_id": "r_1", "group_id": "g_1", "title": "T", "started_at": 1, "ended_at": 2,
            "present": 4, "notes": [{"from_name": "Mira", "text": "n", "at": 1, "anchor": {}}]}
    records = [
        kept_record("p_b", "Bo", "participant", [comment("to Bo", True)]),
        kept_record("p_a", "Ana", "participant", [comment("all", False), comment("to Ana", True)]),
        kept_record("p_m", "Mira", "mentor"),
    ]

    def texts(report: dict) -> dict[str, list[str]]:
        return {f["name"]: [c["text"] for c in f["comments"]] for f in report["feedback"]}

    ana = group_report(kept, records, "p_a", mentor=False)
    assert [a["name"] for a in ana["attendance"]] == ["Mira", "Ana", "Bo"]  # mentors first
    assert ana["room"] == {"id": "r_1", "group_id": "g_1", "title": "T", "started_at": 1,
                           "ended_at": 2, "present": 4}
    assert texts(ana) == {"Mira": [], "Ana": ["all", "to Ana"], "Bo": []}
    assert "notes" not in ana and ana["role"] == "participant"
    assert [g["text"] for g in ana["goals"]] == ["Mira's goal", "Ana's goal", "Bo's goal"]
    bo = group_report(kept, records, "p_b", mentor=False)
    assert texts(bo) == {"Mira": [], "Ana": ["all"], "Bo": ["to Bo"]}
    mira = group_report(kept, records, "p_m", mentor=True)
    assert texts(mira) == {"Mira": [], "Ana": ["all", "to Ana"], "Bo": ["to Bo"]}
    assert mira["notes"] == kept["notes"] and mira["role"] == "mentor"
