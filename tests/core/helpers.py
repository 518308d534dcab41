"""Building rooms and members for the pure core tests."""

from __future__ import annotations

from typing import Any

from ensemble.core import Event, Outcome, Room
from ensemble.core.state import Limits

T0 = 1_764_000_000_000


class RoomDriver:
    """Drives one Room with a settable clock and records every event it issues."""

    def __init__(
        self,
        grace_ms: int = 15_000,
        program: dict[str, Any] | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.now = T0
        self.room = Room.create(
            room_id="r_test", title="Practice", visibility="public", epoch="e1",
            invite="invite-code", host_key="host-key", now=self.now, grace_ms=grace_ms,
            program=program, limits=limits,
        )
        self.events: list[Event] = []
        self.records: list[dict[str, Any]] = []  # the room's record log, as a backend keeps it
        self._conn = 0

    def record(self, outcome: Outcome) -> Outcome:
        self.events.extend(outcome.events)
        self.records.extend(outcome.records)
        return outcome

    def report(self) -> dict[str, Any]:
        return self.room.report(self.now, self.records)

    def join(self, name: str, role: str = "participant", person_id: str | None = None) -> str:
        member_id = f"m_{name.lower()}"
        self._conn += 1
        out = self.room.join(member_id=member_id, name=name, role=role,
                             conn_id=f"c{self._conn}", now=self.now, person_id=person_id)
        self.record(out)
        assert out.error is None, out.error
        return member_id

    def connect(self, member_id: str) -> str:
        self._conn += 1
        conn = f"c{self._conn}"
        out = self.record(self.room.connect(member_id=member_id, conn_id=conn, now=self.now))
        assert out.error is None, out.error
        return conn

    def conns(self, member_id: str) -> list[str]:
        return list(self.room.state.members[member_id].conns)

    def disconnect(self, *conn_ids: str) -> Outcome:
        return self.record(self.room.disconnect(list(conn_ids), self.now))

    def do(self, actor: str, type_: str, **payload: Any) -> Outcome:
        """A request that must succeed."""
        out = self.record(self.room.request(actor, type_, payload, self.now))
        assert out.error is None, f"{type_}: {out.error}"
        return out

    def refuse(self, actor: str, type_: str, **payload: Any) -> str:
        """A request that must be refused; returns the error code."""
        out = self.record(self.room.request(actor, type_, payload, self.now))
        assert out.error is not None, f"{type_} was accepted"
        return out.error.code

    def advance(self, ms: int) -> Outcome:
        self.now += ms
        outcome = self.record(self.room.tick(self.now))
        if outcome.reply.get("archive"):
            self.room.mark_archived(self.now)  # as the service's archiver does once it is kept
        return outcome

    def types(self, outcome: Outcome | None = None) -> list[str]:
        return [e.type for e in (outcome.events if outcome else self.events)]

    def of_type(self, type_: str) -> list[Event]:
        return [e for e in self.events if e.type == type_]


PROGRAM = {
    "phases": [
        {"name": "Check-in", "kind": "checkin", "duration_ms": 1000},
        {"name": "Focus", "kind": "focus", "duration_ms": 5000},
        {"name": "Break", "kind": "break", "duration_ms": 2000},
        {"name": "Check-out", "kind": "checkout", "duration_ms": 1000},
    ],
    "rounds": 2,
}
