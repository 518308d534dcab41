"""What a rule module works on during one command: the state, the time, and
what the command has issued so far.

The rule modules (clock, feedback, presence, turns) take a `Context` and never
the `Room`: the room builds one per command, hands it to them, and turns what
was collected into the `Outcome`. So the rules depend on this module alone,
and the room on the rules, never the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ensemble.core.errors import NotFound
from ensemble.core.events import ROOM, Effect, Event, history_key
from ensemble.core.state import Member, RoomState


@dataclass(slots=True)
class Context:
    state: RoomState
    now: int
    actor: str | None = None
    events: list[Event] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return self.state.closed_at is not None

    def member(self, member_id: str) -> Member:
        member = self.state.members.get(member_id)
        if member is None or not member.present:
            raise NotFound(f"no member {member_id} in this room")
        return member

    def present_members(self) -> list[Member]:
        return [m for m in self.state.members.values() if m.present]

    def emit(
        self,
        type: str,
        fields: dict[str, Any],
        *,
        stream: str = ROOM,
        to: str | None = None,
        at: int | None = None,
        actor: str | bool | None = True,
        effect: Effect | None = None,
    ) -> None:
        """Issue an event with the next seq of its stream; `effect` says which
        connections it ends (see `Effect`)."""
        key = history_key(stream, to)
        seq = self.state.seqs.get(key, 0) + 1
        self.state.seqs[key] = seq
        who = self.actor if actor is True else actor
        self.events.append(
            Event(type, stream, seq, self.now if at is None else at, who or None, fields, to,
                  effect)
        )

    def record(self, record: dict[str, Any]) -> None:
        """Hand a report record to the backend's record log (see `Outcome.records`)."""
        self.records.append(record)


def record_author(record: dict[str, Any]) -> str | None:
    """The member a report record counts against in the record log's quota
    per member: who wrote it ("by": comments, reactions, notes), else whom it
    is about ("member_id": goals, turns, attendance); None for neither (only
    the room's cap then applies)."""
    author = record.get("by") or record.get("member_id")
    return author if isinstance(author, str) and author else None
