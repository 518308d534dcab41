"""The room's state as plain data: dataclasses that round-trip through a dict.

A backend stores `RoomState.to_dict()` (msgpack) and rebuilds it with
`RoomState.from_dict()`; nothing here holds behaviour beyond small views.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

MENTOR = "mentor"
PARTICIPANT = "participant"
OBSERVER = "observer"
ROLES = (MENTOR, PARTICIPANT, OBSERVER)

DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000  # a closed room is kept this long, then deleted

STATUSES = ("active", "focus", "break", "away")
PHASE_KINDS = ("checkin", "focus", "break", "checkout")
RESULTS = ("done", "partial", "missed")
TURN_MODES = ("queue", "round_robin")


@dataclass(slots=True)
class Member:
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


@dataclass(slots=True)
class Timer:
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


@dataclass(slots=True)
class Sprint:
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


@dataclass(slots=True)
class Turns:
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


@dataclass(slots=True)
class Tempo:
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


@dataclass(slots=True)
class GoalRecord:
    member_id: str
    text: str
    set_at: int
    round: int
    result: str | None = None
    note: str = ""
    checked_at: int | None = None

    def public(self) -> dict[str, Any]:
        return {"text": self.text, "result": self.result, "note": self.note}


@dataclass(slots=True)
class TurnRecord:
    member_id: str
    started_at: int
    ended_at: int


@dataclass(slots=True)
class CommentRecord:
    to: str
    by: str
    text: str
    private: bool
    at: int
    anchor: dict[str, Any]


@dataclass(slots=True)
class RoomState:
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
    goals: list[GoalRecord] = field(default_factory=list)
    turn_log: list[TurnRecord] = field(default_factory=list)
    comments: list[CommentRecord] = field(default_factory=list)
    reactions: dict[str, dict[str, int]] = field(default_factory=dict)
    seqs: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoomState:
        data = dict(data)
        data["members"] = {k: Member(**v) for k, v in data["members"].items()}
        data["timer"] = Timer(**data["timer"])
        data["sprint"] = Sprint(**data["sprint"])
        data["turns"] = Turns(**data["turns"])
        data["tempo"] = Tempo(**data["tempo"])
        data["goals"] = [GoalRecord(**g) for g in data["goals"]]
        data["turn_log"] = [TurnRecord(**t) for t in data["turn_log"]]
        data["comments"] = [CommentRecord(**c) for c in data["comments"]]
        return cls(**data)
