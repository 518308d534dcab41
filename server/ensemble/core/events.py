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


# What an event does to the connections that see it. The transport maps each
# kind to a close code (transport/closing.py); the core only names it.
ROOM_CLOSED = "room_closed"  # every connection of the room ends
REMOVED = "removed"  # the member's connections end for good
ROLE_CHANGED = "role_changed"  # the member's connections end; reconnecting shows the new view
DROPPED = "dropped"  # the room counts the member's connections as gone (a lapsed lease)
EFFECT_KINDS = (ROOM_CLOSED, REMOVED, ROLE_CHANGED, DROPPED)


@dataclass(frozen=True, slots=True)
class Effect:
    """Which connections an event ends: every one of the room (`member` None) or
    one member's. A `dropped` member's connections admitted after the event
    are not concerned (they came back)."""

    kind: str
    member: str | None = None

    def to_list(self) -> list[str | None]:
        return [self.kind, self.member]


@dataclass(frozen=True, slots=True)
class Event:
    """One event on one stream. `to` names the member for the `direct` stream;
    `effect` (never sent to clients) the connections it ends."""

    type: str
    stream: str
    seq: int
    at: int
    actor: str | None
    fields: dict[str, Any]
    to: str | None = None
    effect: Effect | None = None

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


@dataclass(frozen=True, slots=True)
class Listing:
    """What the public room list shows of a room, and whether it is listed at
    all (public and open): the one place that rule is written."""

    listed: bool
    summary: dict[str, Any]


@dataclass(slots=True)
class Outcome:
    """The result of one command: the events it issued, the reply to the sender,
    and everything the adapters do with the room afterwards, so they never ask
    the core again: the room's next `deadline` (when it needs a tick; None:
    never), its `listing`, whether it `expired` (a closed room past its
    retention: the caller deletes it), whether its session is to be `archive`d
    now (a tick's; see `Room.mark_archived`) and, through `effects`, which
    connections its events end.

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
    deadline: int | None = None
    listing: Listing | None = None
    expired: bool = False
    archive: bool = False

    @property
    def effects(self) -> list[tuple[Event, Effect]]:
        """The events that end connections, with what they end, in order."""
        return [(e, e.effect) for e in self.events if e.effect is not None]
