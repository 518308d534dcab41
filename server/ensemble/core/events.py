"""What a room command produces: numbered events and a reply."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ensemble.core.errors import DomainError
from ensemble.core.state import MENTOR

ROOM = "room"
MENTORS = "mentors"
DIRECT = "direct"
STREAMS = (ROOM, MENTORS, DIRECT)


def readable_streams(role: str) -> tuple[str, ...]:
    """The streams a member with `role` reads: the mentors' stream is for mentors."""
    return STREAMS if role == MENTOR else (ROOM, DIRECT)


def history_key(stream: str, member_id: str | None) -> str:
    """Where a stream's events are numbered and kept: `direct` is one per member."""
    return f"{DIRECT}:{member_id}" if stream == DIRECT else stream


def readable_keys(member_id: str, role: str) -> list[str]:
    """The histories a member reads."""
    return [history_key(stream, member_id) for stream in readable_streams(role)]


@dataclass(frozen=True, slots=True)
class Event:
    """One event on one stream. `to` names the member for the `direct` stream."""

    type: str
    stream: str
    seq: int
    at: int
    actor: str | None
    fields: dict[str, Any]
    to: str | None = None

    def message(self) -> dict[str, Any]:
        """The event as a protocol frame."""
        return {
            "type": self.type,
            "stream": self.stream,
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            **self.fields,
        }

    @property
    def history_key(self) -> str:
        """The name of the history this event belongs to: room, mentors or direct:<id>."""
        return history_key(self.stream, self.to)


@dataclass(slots=True)
class Outcome:
    """The result of one command: the events it issued and the reply to the sender.

    `records` are what the session report needs and the state no longer holds
    (finished goals, turns, comments, reactions, attendance of members who
    left): plain maps with a `kind`, appended to the room's record log in the
    same commit. A refused command carries its `error`; its `events` and
    `records` are then only those of the transitions that fell due before it,
    which must be committed all the same.
    """

    events: list[Event] = field(default_factory=list)
    reply: dict[str, Any] = field(default_factory=dict)
    error: DomainError | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
