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


def test_tempo_set_start_stop():
    d, mia, pat = mentor_room()
    d.do(mia, "tempo.set", bpm=90, beats_per_bar=3)
    assert d.events[-1].fields["tempo"] == {
        "bpm": 90, "beats_per_bar": 3, "running": False, "started_at": None}
    d.do(mia, "tempo.start")
    assert d.events[-1].fields["tempo"]["started_at"] == d.now
    d.now += 500
    d.do(mia, "tempo.set", bpm=120, beats_per_bar=4)
    assert d.events[-1].fields["tempo"]["started_at"] == d.now
    assert d.refuse(mia, "tempo.start") == "conflict"
    d.do(mia, "tempo.stop")
    assert d.refuse(pat, "tempo.start") == "forbidden"
