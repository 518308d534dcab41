"""A room nobody served for hours catches up in bounded time and events.

Each case runs twice: one room ticked at every single deadline (the
reference: each transition on its own) and one ticked once at the end (the
backlog). Both must reach the same state; the backlog emits a bounded
number of events with gapless seqs.
"""

from __future__ import annotations

import time

from ensemble.core.room import SKIP_AFTER

from .helpers import RoomDriver

HOUR = 3_600_000


def step_through(driver: RoomDriver, until: int) -> None:
    """Tick at each deadline up to `until`: every transition fires on its own."""
    while (deadline := driver.room.next_deadline()) is not None and deadline <= until:
        driver.now = deadline
        driver.record(driver.room.tick(deadline))
    driver.now = until
    driver.record(driver.room.tick(until))


def round_robin(names: list[str], turn_ms: int = 1000) -> tuple[RoomDriver, str, list[str]]:
    driver = RoomDriver(grace_ms=10 * HOUR)
    mia = driver.join("Mia", "mentor")
    ids = [driver.join(n) for n in names]
    driver.do(mia, "turns.config", mode="round_robin", turn_ms=turn_ms)
    return driver, mia, ids


def view(driver: RoomDriver) -> dict[str, object]:
    state = driver.room.state
    return {
        "turns": state.turns.public(),
        "sprint": state.sprint.public(),
        "timer": state.timer.public(),
        "present": sorted(m.id for m in driver.room.present_members()),
        "next": driver.room.next_deadline(),
    }


def assert_gapless(driver: RoomDriver) -> None:
    seqs = [e.seq for e in driver.events if e.stream == "room"]
    assert seqs == list(range(1, len(seqs) + 1))


def test_ten_hours_of_one_second_turns_settle_at_once_with_one_event():
    driver, mia, ids = round_robin(["Ann", "Bob", "Cy"])
    start = driver.room.state.turns.ends_at
    assert start is not None
    before = len(driver.events)

    began = time.perf_counter()
    out = driver.advance(10 * HOUR)
    took = time.perf_counter() - began

    assert out.error is None
    assert driver.types(out) == ["turns.changed"]
    turns = driver.room.state.turns
    # 36,000 limits ran out: the rotation moved on by as many places.
    expired = (driver.now - start) // 1000 + 1
    rotation = [ids[(i + expired) % 3] for i in range(3)]
    assert [turns.current, *turns.queue] == rotation
    assert turns.ends_at == start + expired * 1000
    assert turns.ends_at - 1000 <= driver.now < turns.ends_at
    assert took < 0.5, f"catching up took {took:.3f} s"
    assert len(driver.events) == before + 1
    assert_gapless(driver)
    # Commands work again at once.
    driver.do(mia, "chat.send", text="back")


def test_a_long_turn_backlog_reaches_the_state_of_every_step_fired_alone():
    names = ["Ann", "Bob", "Cy", "Dee"]
    backlog, _, _ = round_robin(names)
    reference, _, _ = round_robin(names)
    target = backlog.now + (SKIP_AFTER * 5 + 321) * 1000 + 417

    backlog.now = target
    backlog.record(backlog.room.tick(target))
    step_through(reference, target)

    assert view(backlog) == view(reference)
    assert len(backlog.events) < len(reference.events) - SKIP_AFTER
    assert_gapless(backlog)


def test_members_leaving_during_the_backlog_leave_the_rotation_when_they_would_have():
    names = ["Ann", "Bob", "Cy", "Dee", "Eve"]
    runs = []
    for _ in range(2):
        driver, _, ids = round_robin(names)
        # Two participants dropped out before the backlog began; their grace
        # periods end minutes into it, at different times.
        for member_id, leave_in in ((ids[1], 150_000), (ids[3], 550_000)):
            member = driver.room.state.members[member_id]
            member.conns = []
            member.leave_at = driver.now + leave_in
        runs.append((driver, ids))
    (backlog, ids), (reference, _) = runs
    target = backlog.now + 2 * HOUR

    backlog.now = target
    backlog.record(backlog.room.tick(target))
    step_through(reference, target)

    assert view(backlog) == view(reference)
    assert ids[1] not in view(backlog)["present"]  # type: ignore[operator]
    assert len([e for e in backlog.events if e.type == "turns.changed"]) < 3 * SKIP_AFTER
    assert_gapless(backlog)


def sprint_room(rounds: int = 20) -> tuple[RoomDriver, str]:
    phases = [
        {"name": "In", "kind": "checkin", "duration_ms": 1000},
        *({"name": f"Focus {i}", "kind": "focus", "duration_ms": 700 + 100 * i}
          for i in range(6)),
        {"name": "Break", "kind": "break", "duration_ms": 500},
        {"name": "Out", "kind": "checkout", "duration_ms": 1000},
    ]
    driver = RoomDriver(program={"phases": phases, "rounds": rounds})
    mia = driver.join("Mia", "mentor")
    driver.do(mia, "sprint.start")
    return driver, mia


def test_a_long_phase_backlog_jumps_to_the_phase_current_now():
    backlog, _ = sprint_room()
    reference, _ = sprint_room()
    target = backlog.now + 100_000  # ~113 phase ends, past SKIP_AFTER

    out = backlog.record(backlog.room.tick(target))
    backlog.now = target
    step_through(reference, target)

    assert view(backlog) == view(reference)
    assert backlog.room.state.sprint.state == "running"
    assert backlog.types(out) == ["sprint.phase"]
    assert_gapless(backlog)


def test_a_sprint_that_ended_long_ago_finishes_once():
    backlog, mia = sprint_room()
    reference, _ = sprint_room()
    target = backlog.now + 10 * HOUR

    out = backlog.record(backlog.room.tick(target))
    backlog.now = target
    step_through(reference, target)

    assert view(backlog) == view(reference)
    assert backlog.types(out) == ["sprint.changed", "timer.changed"]
    assert backlog.room.state.sprint.state == "done"
    assert_gapless(backlog)
    backlog.do(mia, "sprint.start")  # and a new one can start
