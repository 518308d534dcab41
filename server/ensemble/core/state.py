"""The room's state as plain data: structs that round-trip through a dict.

A backend stores `RoomState.to_dict()` (msgpack) and rebuilds it with
`RoomState.from_dict()`; nothing here holds behaviour beyond small views.

The state is rewritten on every commit, so it holds only what is live and
bounded: present members (and the last few who left), each member's current
goal, the clock, turns and tempo. What only the report needs (finished goals,
turns taken, comments, reactions, attendance of those who left) leaves the
room as records (`Outcome.records`), kept by the backend beside the state.

The types are msgspec structs rather than dataclasses: plain mutable records
all the same, but the state is encoded on every commit, and msgspec encodes a
struct in well under half the time of a dataclass with the same fields.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import field
from msgspec.structs import asdict

MENTOR = "mentor"
PARTICIPANT = "participant"
OBSERVER = "observer"
ROLES = (MENTOR, PARTICIPANT, OBSERVER)

DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000  # a closed room is kept this long, then deleted

STATUSES = ("active", "focus", "break", "away")
PHASE_KINDS = ("checkin", "focus", "break", "checkout")
RESULTS = ("done", "partial", "missed")
TURN_MODES = ("queue", "round_robin")


class Member(msgspec.Struct):
    id: str
    name: str
    role: str
    joined_at: int
    status: str = "active"
    text: str = ""
    conns: list[str] = field(default_factory=list)
    connected_since: int | None = None
    present_ms: int = 0
    leave_at: int | None = None
    left_at: int | None = None
    removed: bool = False
    received: int = 0  # comments and reactions aimed at this member (the mentors' dashboard)
    person_id: str | None = None  # the lasting person behind the member (None: a guest)
    focus_ms: int = 0  # connected during focus phases, up to the last disconnect (core/focus)
    budget: int | None = None  # requests left, in thousandths (core/budget); None: full
    budget_at: int = 0  # when `budget` was counted

    @property
    def connected(self) -> bool:
        return bool(self.conns)

    @property
    def present(self) -> bool:
        """In the room: joined and not yet left (connected or within its grace period)."""
        return self.left_at is None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "status": self.status,
            "connected": self.connected,
            "text": self.text,
        }


class Timer(msgspec.Struct):
    state: str = "idle"
    label: str = ""
    duration_ms: int = 0
    ends_at: int | None = None
    remaining_ms: int | None = None

    def remaining(self, now: int) -> int:
        if self.state == "running":
            assert self.ends_at is not None
            return max(0, self.ends_at - now)
        if self.state == "paused":
            return self.remaining_ms or 0
        return 0

    def public(self) -> dict[str, Any]:
        return asdict(self)


class Sprint(msgspec.Struct):
    state: str = "idle"
    phases: list[dict[str, Any]] = field(default_factory=list)
    rounds: int = 0
    round: int = 0
    phase_index: int = 0

    @property
    def phase(self) -> dict[str, Any] | None:
        if self.state != "running":
            return None
        return self.phases[self.phase_index]

    def public(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "phases": [dict(p) for p in self.phases],
            "rounds": self.rounds,
            "round": self.round,
            "phase_index": self.phase_index,
        }


class Turns(msgspec.Struct):
    mode: str = "queue"
    queue: list[str] = field(default_factory=list)
    current: str | None = None
    turn_ms: int | None = None
    started_at: int | None = None
    ends_at: int | None = None

    def public(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "queue": list(self.queue),
            "current": self.current,
            "turn_ms": self.turn_ms,
            "ends_at": self.ends_at,
        }


class Tempo(msgspec.Struct):
    """The metronome; the rules are in clock.py (tempo) and PROTOCOL.md."""

    bpm: int = 60
    beats_per_bar: int = 4
    running: bool = False
    started_at: int | None = None  # when beat `first_beat` sounds (running)
    first_beat: int = 0
    effective_at: int | None = None  # when this state takes over from `previous`
    previous: dict[str, Any] | None = None  # the grid sounding until effective_at

    def grid(self) -> dict[str, Any]:
        return {"bpm": self.bpm, "beats_per_bar": self.beats_per_bar,
                "started_at": self.started_at, "first_beat": self.first_beat}

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        out["previous"] = dict(self.previous) if self.previous is not None else None
        return out


class GoalRecord(msgspec.Struct):
    member_id: str
    text: str
    set_at: int
    round: int
    result: str | None = None
    note: str = ""
    checked_at: int | None = None

    def public(self) -> dict[str, Any]:
        return {"text": self.text, "result": self.result, "note": self.note}

    def record(self) -> dict[str, Any]:
        """The goal as a report record (see `Room.record`)."""
        return {"kind": "goal", **asdict(self)}


class Limits(msgspec.Struct):
    """What one room may hold, fixed when it is created (see the settings)."""

    max_members: int = 500  # present at once
    max_conns: int = 8  # sockets per member
    left_kept: int = 100  # members who left, kept for their token; older ones are forgotten
    idle_ms: int = 30 * 60 * 1000  # an open room with nobody in it closes after this
    # Requests per member, all sockets (core/budget); a burst of 0: no budget.
    rate_per_s: float = 0.0
    rate_burst: int = 0


class RoomState(msgspec.Struct):
    id: str
    title: str
    visibility: str
    epoch: str
    created_at: int
    invite: str  # the door code: mentors see it, and public rooms show it to all
    host_key_hash: str
    grace_ms: int
    retention_ms: int = DEFAULT_RETENTION_MS
    program: dict[str, Any] | None = None
    closed_at: int | None = None
    members: dict[str, Member] = field(default_factory=dict)
    timer: Timer = field(default_factory=Timer)
    sprint: Sprint = field(default_factory=Sprint)
    turns: Turns = field(default_factory=Turns)
    tempo: Tempo = field(default_factory=Tempo)
    limits: Limits = field(default_factory=Limits)
    empty_since: int | None = None  # when the last member left (or the room was created)
    ever_joined: bool = False
    goals: dict[str, GoalRecord] = field(default_factory=dict)  # each member's current goal
    seqs: dict[str, int] = field(default_factory=dict)
    focus_spans: list[list[int | None]] = field(default_factory=list)  # see core/focus
    group_id: str | None = None  # the standing group this session belongs to
    archived: bool = False  # kept in the history database (see Room.tick)
    archive_at: int | None = None  # an archive was asked for; ask again at this time

    def to_dict(self) -> dict[str, Any]:
        return msgspec.to_builtins(self)  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoomState:
        data = dict(data)
        data["members"] = {k: Member(**v) for k, v in data["members"].items()}
        data["timer"] = Timer(**data["timer"])
        data["sprint"] = Sprint(**data["sprint"])
        data["turns"] = Turns(**data["turns"])
        data["tempo"] = Tempo(**data["tempo"])
        data["limits"] = Limits(**data["limits"])
        data["goals"] = {k: GoalRecord(**g) for k, g in data["goals"].items()}
        return cls(**data)
