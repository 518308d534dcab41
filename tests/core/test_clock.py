import json
import random
from pathlib import Path

from ensemble.core.clock import bar_ms, next_bar_line, sounding_grid
from tests.core.helpers import PROGRAM, RoomDriver


def mentor_room(**kw):
    d = RoomDriver(**kw)
    return d, d.join("Mia", "mentor"), d.join("Pat")


def test_timer_start_pause_resume_adjust_reset():
    d, mia, _ = mentor_room()
    d.do(mia, "timer.start", duration_ms=60_000, label="Scales")
    timer = d.events[-1].fields["timer"]
    assert timer == {"state": "running", "label": "Scales", "duration_ms": 60_000,
                     "ends_at": d.now + 60_000, "remaining_ms": None}
    d.now += 10_000
    d.do(mia, "timer.pause")
    assert d.events[-1].fields["timer"]["remaining_ms"] == 50_000
    assert d.events[-1].fields["timer"]["state"] == "paused"
    d.now += 99_000  # paused: nothing moves
    d.do(mia, "timer.resume")
    assert d.events[-1].fields["timer"]["ends_at"] == d.now + 50_000
    d.do(mia, "timer.adjust", delta_ms=-20_000)
    assert d.events[-1].fields["timer"]["ends_at"] == d.now + 30_000
    d.do(mia, "timer.adjust", delta_ms=-90_000)
    assert d.room.state.timer.remaining(d.now) == 0  # never negative
    d.do(mia, "timer.reset")
    assert d.events[-1].fields["timer"]["state"] == "idle"


def test_timer_moves_that_make_no_sense_conflict():
    d, mia, pat = mentor_room()
    assert d.refuse(mia, "timer.pause") == "conflict"
    assert d.refuse(mia, "timer.resume") == "conflict"
    assert d.refuse(mia, "timer.adjust", delta_ms=1000) == "conflict"
    assert d.refuse(pat, "timer.start", duration_ms=1000) == "forbidden"


def test_sprint_runs_every_phase_of_every_round_once_then_is_done():
    d, mia, _ = mentor_room()
    d.do(mia, "sprint.start", **PROGRAM)
    d.advance(100_000)  # long past the end: each phase still entered once, in order
    phases = [(e.fields["sprint"]["round"], e.fields["timer"]["label"])
              for e in d.of_type("sprint.phase")]
    # Check-in opens the first round only, check-out closes the last only.
    assert phases == [(1, "Check-in"), (1, "Focus"), (1, "Break"),
                      (2, "Focus"), (2, "Break"), (2, "Check-out")]
    assert d.room.state.sprint.state == "done"
    assert d.room.state.timer.state == "idle"
    assert d.of_type("sprint.changed")[-1].fields["sprint"]["state"] == "done"


def test_phases_start_exactly_when_the_previous_ended():
    d, mia, _ = mentor_room()
    start = d.now
    d.do(mia, "sprint.start", **PROGRAM)
    d.advance(1_234)  # noticed late
    entered = d.of_type("sprint.phase")[-1]
    assert entered.at == start + 1000
    assert entered.fields["timer"]["ends_at"] == start + 1000 + 5000


def test_pause_holds_the_sprint_and_skip_moves_on():
    d, mia, _ = mentor_room()
    d.do(mia, "sprint.start", **PROGRAM)
    d.do(mia, "timer.pause")
    assert d.room.next_deadline() is None
    d.advance(50_000)
    assert len(d.of_type("sprint.phase")) == 1
    d.do(mia, "timer.resume")
    d.do(mia, "sprint.skip")
    assert d.of_type("sprint.phase")[-1].fields["timer"]["label"] == "Focus"
    d.do(mia, "sprint.stop")
    assert d.room.state.sprint.state == "done"
    assert d.refuse(mia, "sprint.skip") == "conflict"


def test_a_program_of_checkout_only_starts_in_its_last_round():
    d, mia, _ = mentor_room()
    d.do(mia, "sprint.start", rounds=2,
         phases=[{"name": "Out", "kind": "checkout", "duration_ms": 100}])
    (entered,) = d.of_type("sprint.phase")
    assert entered.fields["sprint"]["round"] == 2
    assert d.of_type("sprint.changed")[0].fields["sprint"]["state"] == "running"


def test_sprint_uses_the_room_program_and_blocks_the_plain_timer():
    d = RoomDriver(program=PROGRAM)
    mia = d.join("Mia", "mentor")
    d.do(mia, "sprint.start")
    assert d.room.state.sprint.rounds == 2
    assert d.refuse(mia, "timer.start", duration_ms=1000) == "conflict"
    assert d.refuse(mia, "sprint.start") == "conflict"


def test_sprint_without_program_or_phases_is_a_bad_request():
    d, mia, _ = mentor_room()
    assert d.refuse(mia, "sprint.start") == "bad_request"


def test_tempo_set_while_stopped_takes_effect_at_once():
    d, mia, pat = mentor_room()
    d.do(mia, "tempo.set", bpm=90, beats_per_bar=3)
    assert d.events[-1].fields["tempo"] == {
        "bpm": 90, "beats_per_bar": 3, "running": False, "started_at": None,
        "first_beat": 0, "effective_at": d.now, "previous": None}
    assert d.refuse(pat, "tempo.start") == "forbidden"
    assert d.refuse(mia, "tempo.stop") == "conflict"


def test_tempo_start_from_silence_begins_one_bar_ahead_with_beat_zero():
    d, mia, _ = mentor_room()
    d.do(mia, "tempo.set", bpm=120, beats_per_bar=4)  # a bar is 2000 ms
    d.do(mia, "tempo.start")
    tempo = d.events[-1].fields["tempo"]
    assert tempo["running"] and tempo["started_at"] == d.now + 2000
    assert tempo["first_beat"] == 0 and tempo["effective_at"] == d.now + 2000
    assert tempo["previous"] is None
    assert d.refuse(mia, "tempo.start") == "conflict"


def test_tempo_change_lands_on_a_bar_line_at_least_one_bar_ahead_same_beat_index():
    d, mia, _ = mentor_room()
    d.do(mia, "tempo.set", bpm=120, beats_per_bar=4)
    d.do(mia, "tempo.start")
    start = d.events[-1].fields["tempo"]["started_at"]
    d.now = start + 5 * 500 + 100  # beat 5 (bar 2, second beat) has just sounded
    d.do(mia, "tempo.set", bpm=90, beats_per_bar=3)
    tempo = d.events[-1].fields["tempo"]
    # One bar ahead is start + 4600; the next bar line is beat 12 at start + 6000.
    assert tempo["effective_at"] == tempo["started_at"] == start + 6000
    assert tempo["first_beat"] == 12
    assert tempo["previous"] == {"bpm": 120, "beats_per_bar": 4, "started_at": start,
                                 "first_beat": 0}
    assert (tempo["bpm"], tempo["beats_per_bar"]) == (90, 3)


def test_a_second_change_before_the_first_lands_is_measured_on_the_sounding_grid():
    d, mia, _ = mentor_room()
    d.do(mia, "tempo.set", bpm=120, beats_per_bar=4)
    d.do(mia, "tempo.start")
    start = d.events[-1].fields["tempo"]["started_at"]
    d.now = start + 100
    d.do(mia, "tempo.set", bpm=60, beats_per_bar=4)  # lands at start + 4000 (beat 8)
    d.now = start + 1000
    d.do(mia, "tempo.set", bpm=100, beats_per_bar=2)  # replaces it, same grid
    tempo = d.events[-1].fields["tempo"]
    assert tempo["previous"]["bpm"] == 120
    assert (tempo["started_at"], tempo["first_beat"], tempo["bpm"]) == (start + 4000, 8, 100)


def test_tempo_stop_lets_the_bar_finish_at_least_one_bar_ahead():
    d, mia, _ = mentor_room()
    d.do(mia, "tempo.set", bpm=60, beats_per_bar=2)  # a bar is 2000 ms
    d.do(mia, "tempo.start")
    start = d.events[-1].fields["tempo"]["started_at"]
    d.now = start + 2500
    d.do(mia, "tempo.stop")
    tempo = d.events[-1].fields["tempo"]
    assert not tempo["running"] and tempo["started_at"] is None
    assert tempo["effective_at"] == start + 6000
    assert tempo["previous"]["started_at"] == start
    assert d.refuse(mia, "tempo.stop") == "conflict"
    # Started again before the stop lands: the old grid goes on to a bar line.
    d.now = start + 3000
    d.do(mia, "tempo.start")
    tempo = d.events[-1].fields["tempo"]
    assert tempo["running"] and tempo["started_at"] == start + 6000 and tempo["first_beat"] == 6


def test_a_start_not_yet_sounding_is_cancelled_at_once_by_a_stop():
    d, mia, _ = mentor_room()
    d.do(mia, "tempo.start")
    d.now += 10
    d.do(mia, "tempo.stop")
    tempo = d.events[-1].fields["tempo"]
    assert tempo["effective_at"] == d.now and tempo["previous"] is None


def test_bar_lines_that_fall_between_milliseconds_are_rounded_the_same_way():
    grid = {"bpm": 70, "beats_per_bar": 4, "started_at": 1_000, "first_beat": 0}
    at, k = next_bar_line(grid, 1_001)
    assert (at, k) == (1_000 + round(4 * 60_000 / 70), 4)
    assert next_bar_line(grid, 1_000) == (1_000, 0)
    assert next_bar_line(grid, 0) == (1_000, 0)  # never before the grid starts
    assert next_bar_line({**grid, "first_beat": 8}, at + 1)[1] == 16


def test_tempo_change_invariants_over_many_random_moments():
    rng = random.Random(11)
    for _ in range(200):
        d, mia, _ = mentor_room()
        d.do(mia, "tempo.set", bpm=rng.randint(20, 300), beats_per_bar=rng.randint(1, 16))
        d.do(mia, "tempo.start")
        for _ in range(4):
            d.now += rng.randint(0, 20_000)
            before = sounding_grid(d.room.state.tempo, d.now)
            d.do(mia, "tempo.set", bpm=rng.randint(20, 300), beats_per_bar=rng.randint(1, 16))
            tempo = d.room.state.tempo
            if before is None:
                continue
            bar = bar_ms(before["bpm"], before["beats_per_bar"])
            assert tempo.effective_at is not None
            assert tempo.effective_at >= d.now + bar - 1
            assert tempo.effective_at < d.now + 2 * bar + 1
            n = (tempo.first_beat - before["first_beat"]) / before["beats_per_bar"]
            assert n == int(n)  # a bar line of the old grid ...
            # ... at its time
            assert abs(before["started_at"] + n * bar - tempo.effective_at) <= 0.5


def test_the_protocol_tempo_story_is_what_the_core_computes():
    """protocol/vectors: start, a change on the next bar line, a stop (see source.py)."""
    vectors = json.loads((Path(__file__).parents[2] / "protocol/vectors/vectors.json").read_text())
    story = {v["name"]: v["json"] for v in vectors if v["json"].get("type") == "tempo.changed"}
    d, mia, _ = mentor_room()
    d.do(mia, "tempo.set", bpm=80, beats_per_bar=4)
    for name, request in [("tempo.changed started, one bar ahead", ("tempo.start", {})),
                          ("tempo.changed new tempo on the next bar line",
                           ("tempo.set", {"bpm": 96, "beats_per_bar": 3})),
                          ("tempo.changed stopping at a bar line", ("tempo.stop", {}))]:
        d.now = story[name]["at"]
        d.do(mia, request[0], **request[1])
        assert d.events[-1].fields["tempo"] == story[name]["tempo"], name
