"""The shared clock: timer, sprint programs and tempo.

A sprint program is a list of phases repeated for N rounds, except that
check-in phases run only in the first round and check-out phases only in the
last: "check-in, focus 25, break 5, four rounds, check-out" is one program.
While a sprint runs, the timer holds the current phase; the phase ends when
the timer does. A phase's successor starts at the exact instant the previous
one was due to end, not when somebody noticed, so every process computes the
same schedule and each phase is entered exactly once.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ensemble.core.errors import BadRequest, Conflict
from ensemble.core.state import PHASE_KINDS, Sprint, Tempo, Timer

if TYPE_CHECKING:
    from ensemble.core.room import Room

MAX_PHASES = 20
MAX_ROUNDS = 20


def check_program(phases: list[dict[str, Any]], rounds: int) -> None:
    if not phases or len(phases) > MAX_PHASES:
        raise BadRequest(f"a program has 1 to {MAX_PHASES} phases")
    if not 1 <= rounds <= MAX_ROUNDS:
        raise BadRequest(f"a program has 1 to {MAX_ROUNDS} rounds")
    for phase in phases:
        if phase.get("kind") not in PHASE_KINDS:
            raise BadRequest(f"a phase kind is one of {', '.join(PHASE_KINDS)}")
        if not isinstance(phase.get("duration_ms"), int) or phase["duration_ms"] <= 0:
            raise BadRequest("a phase lasts a positive number of milliseconds")
        if not isinstance(phase.get("name"), str) or not phase["name"]:
            raise BadRequest("a phase has a name")


# -- timer -------------------------------------------------------------------


def timer_start(room: Room, actor: str, payload: dict[str, Any]) -> None:
    _no_sprint(room, "start the timer")
    _set_timer(room, Timer(
        state="running",
        label=payload.get("label", ""),
        duration_ms=payload["duration_ms"],
        ends_at=room.now + payload["duration_ms"],
    ))


def timer_pause(room: Room, actor: str, payload: dict[str, Any]) -> None:
    timer = room.state.timer
    if timer.state != "running":
        raise Conflict("the timer is not running")
    remaining = timer.remaining(room.now)
    _set_timer(room, Timer("paused", timer.label, timer.duration_ms, None, remaining))


def timer_resume(room: Room, actor: str, payload: dict[str, Any]) -> None:
    timer = room.state.timer
    if timer.state != "paused":
        raise Conflict("the timer is not paused")
    _set_timer(room, Timer(
        "running", timer.label, timer.duration_ms, room.now + (timer.remaining_ms or 0), None
    ))


def timer_reset(room: Room, actor: str, payload: dict[str, Any]) -> None:
    _no_sprint(room, "reset the timer")
    if room.state.timer.state == "idle":
        raise Conflict("the timer is already idle")
    _set_timer(room, Timer())


def timer_adjust(room: Room, actor: str, payload: dict[str, Any]) -> None:
    timer = room.state.timer
    delta = payload["delta_ms"]
    if timer.state == "idle":
        raise Conflict("the timer is idle")
    remaining = max(0, timer.remaining(room.now) + delta)
    duration = max(0, timer.duration_ms + delta)
    if timer.state == "running":
        new = Timer("running", timer.label, duration, room.now + remaining, None)
    else:
        new = Timer("paused", timer.label, duration, None, remaining)
    _set_timer(room, new)


def _set_timer(room: Room, timer: Timer) -> None:
    room.state.timer = timer
    room.emit("timer.changed", {"timer": timer.public()})


def _no_sprint(room: Room, what: str) -> None:
    if room.state.sprint.state == "running":
        raise Conflict(f"a sprint is running: stop it to {what}")


# -- sprint ------------------------------------------------------------------


def sprint_start(room: Room, actor: str, payload: dict[str, Any]) -> None:
    if room.state.sprint.state == "running":
        raise Conflict("a sprint is already running")
    program = room.state.program or {}
    phases = payload.get("phases", program.get("phases"))
    rounds = payload.get("rounds", program.get("rounds", 1))
    if phases is None:
        raise BadRequest("sprint.start needs phases: this room has no program")
    check_program(phases, rounds)
    sprint = Sprint(
        state="running",
        phases=[{"name": p["name"], "kind": p["kind"], "duration_ms": p["duration_ms"]}
                for p in phases],
        rounds=rounds,
        round=1,
        phase_index=0,
    )
    room.state.sprint = sprint
    if not _runs_in(sprint, 1, 0):
        _next_phase(room, room.now, announce=True)
        return
    room.emit("sprint.changed", {"sprint": sprint.public()})
    _enter_phase(room, room.now)


def sprint_skip(room: Room, actor: str, payload: dict[str, Any]) -> None:
    if room.state.sprint.state != "running":
        raise Conflict("no sprint is running")
    _next_phase(room, room.now)


def sprint_stop(room: Room, actor: str, payload: dict[str, Any]) -> None:
    if room.state.sprint.state != "running":
        raise Conflict("no sprint is running")
    _finish(room, room.now)


def phase_deadline(room: Room) -> int | None:
    """When the current phase ends, if a sprint is running on a running timer."""
    timer = room.state.timer
    if room.state.sprint.state == "running" and timer.state == "running":
        return timer.ends_at
    return None


def advance_phase(room: Room, at: int) -> None:
    """The current phase's time is up (fired by the room at the deadline)."""
    _next_phase(room, at)


def skip_phases(room: Room, until: int, most: int) -> None:
    """Jump over a long backlog of phase ends due by `until`.

    When more than `most` phases ended unserved (every process was down), the
    sprint moves on to the phase that all but the last of them lead to, with
    its timer where it would be, without an event for each skipped phase; the
    last due phase end then fires as usual (entering the phase current at
    that instant, or finishing the sprint).
    """
    sprint = room.state.sprint
    end = phase_deadline(room)
    if end is None or end > until:
        return
    position = (sprint.round, sprint.phase_index)
    steps: list[tuple[int, int, int]] = []  # (round, index, start) of each phase entered
    while end <= until:
        following = _successor(sprint, *position)
        if following is None:
            break
        steps.append((*following, end))
        position = following
        end += sprint.phases[following[1]]["duration_ms"]
    due = len(steps) + (1 if end <= until else 0)  # + the sprint's end, if due
    if due <= most:
        return
    round_, index, start = steps[-1] if end <= until else steps[-2]
    sprint.round, sprint.phase_index = round_, index
    phase = sprint.phases[index]
    room.state.timer = Timer("running", phase["name"], phase["duration_ms"],
                             start + phase["duration_ms"])


def _successor(sprint: Sprint, round_: int, index: int) -> tuple[int, int] | None:
    """The next phase that runs after (round_, index), or None at the sprint's end."""
    while True:
        if index + 1 < len(sprint.phases):
            index += 1
        elif round_ < sprint.rounds:
            round_, index = round_ + 1, 0
        else:
            return None
        if _runs_in(sprint, round_, index):
            return round_, index


def _runs_in(sprint: Sprint, round_: int, index: int) -> bool:
    """Check-in opens the first round only; check-out closes the last round only."""
    kind = sprint.phases[index]["kind"]
    if kind == "checkin":
        return round_ == 1
    if kind == "checkout":
        return round_ == sprint.rounds
    return True


def _next_phase(room: Room, at: int, *, announce: bool = False) -> None:
    sprint = room.state.sprint
    following = _successor(sprint, sprint.round, sprint.phase_index)
    if following is None:
        _finish(room, at)
        return
    sprint.round, sprint.phase_index = following
    if announce:
        room.emit("sprint.changed", {"sprint": sprint.public()}, at=at)
    _enter_phase(room, at)


def _enter_phase(room: Room, at: int) -> None:
    sprint = room.state.sprint
    phase = sprint.phases[sprint.phase_index]
    timer = Timer(
        state="running",
        label=phase["name"],
        duration_ms=phase["duration_ms"],
        ends_at=at + phase["duration_ms"],
    )
    room.state.timer = timer
    room.emit("sprint.phase", {"sprint": sprint.public(), "timer": timer.public()}, at=at)


def _finish(room: Room, at: int) -> None:
    sprint = room.state.sprint
    sprint.state = "done"
    room.state.timer = Timer()
    room.emit("sprint.changed", {"sprint": sprint.public()}, at=at)
    room.emit("timer.changed", {"timer": room.state.timer.public()}, at=at)


# -- tempo -------------------------------------------------------------------
#
# The metronome is a grid: beat `first_beat` sounds at `started_at`, and every
# 60000 / bpm ms after it the next beat index. A change never cuts a bar: a
# tempo.set while running, and a stop, take effect on the first bar line of
# the sounding grid at least one bar ahead (`effective_at`); until then the
# old grid (`previous`) goes on. The new grid starts there with the beat index
# the old one had reached, so every client switches on the same beat k. A
# start from silence begins one bar ahead (time for every client to hear of
# it, and a count-in bar to show). See PROTOCOL.md, "tempo".

MS_PER_MINUTE = 60_000


def beat_ms(bpm: int) -> float:
    return MS_PER_MINUTE / bpm


def bar_ms(bpm: int, beats_per_bar: int) -> float:
    return beats_per_bar * MS_PER_MINUTE / bpm


def sounding_grid(tempo: Tempo, now: int) -> dict[str, Any] | None:
    """The beat grid heard at `now` ({bpm, beats_per_bar, started_at, first_beat}),
    or None when the metronome is silent then (stopped, or not started yet)."""
    if tempo.previous is not None and tempo.effective_at is not None and now < tempo.effective_at:
        return dict(tempo.previous)
    if tempo.running and tempo.started_at is not None and now >= tempo.started_at:
        return tempo.grid()
    return None


def next_bar_line(grid: dict[str, Any], not_before: int) -> tuple[int, int]:
    """The first bar line of `grid` at or after `not_before`: (server time, beat index).

    Times are whole milliseconds: a bar line that falls between two is rounded
    to the nearest; every client reads the same integer, so all agree.
    """
    bar = bar_ms(grid["bpm"], grid["beats_per_bar"])
    n = max(0, math.ceil((not_before - grid["started_at"]) / bar))
    while round(grid["started_at"] + n * bar) < not_before:
        n += 1
    return round(grid["started_at"] + n * bar), grid["first_beat"] + n * grid["beats_per_bar"]


def tempo_set(room: Room, actor: str, payload: dict[str, Any]) -> None:
    tempo = room.state.tempo
    grid = sounding_grid(tempo, room.now)  # before the new values replace it
    tempo.bpm = payload["bpm"]
    tempo.beats_per_bar = payload["beats_per_bar"]
    if tempo.running:
        _switch(tempo, grid, room.now, running=True)
    elif tempo.previous is None or tempo.effective_at is None or room.now >= tempo.effective_at:
        tempo.effective_at, tempo.previous = room.now, None  # silent: nothing to wait for
    # else: a stop is pending; the new values wait for the next start
    _emit_tempo(room)


def tempo_start(room: Room, actor: str, payload: dict[str, Any]) -> None:
    tempo = room.state.tempo
    if tempo.running:
        raise Conflict("the tempo is already running")
    _switch(tempo, sounding_grid(tempo, room.now), room.now, running=True)
    _emit_tempo(room)


def tempo_stop(room: Room, actor: str, payload: dict[str, Any]) -> None:
    tempo = room.state.tempo
    if not tempo.running:
        raise Conflict("the tempo is not running")
    _switch(tempo, sounding_grid(tempo, room.now), room.now, running=False)
    _emit_tempo(room)


def _switch(tempo: Tempo, grid: dict[str, Any] | None, now: int, *, running: bool) -> None:
    """Make `tempo` (with its new bpm and beats per bar) take over from `grid`,
    the one sounding now, on its first bar line at least one bar ahead; from
    silence, one bar of the new tempo ahead."""
    if grid is None:
        at = now + math.ceil(bar_ms(tempo.bpm, tempo.beats_per_bar))
        first_beat = 0
    else:
        at, first_beat = next_bar_line(
            grid, now + math.ceil(bar_ms(grid["bpm"], grid["beats_per_bar"])))
    tempo.previous = grid
    tempo.effective_at = at
    tempo.running = running
    tempo.started_at = at if running else None
    tempo.first_beat = first_beat if running else 0
    if grid is None and not running:
        tempo.effective_at = now  # a start not yet sounding is cancelled at once


def _emit_tempo(room: Room) -> None:
    room.emit("tempo.changed", {"tempo": room.state.tempo.public()})
