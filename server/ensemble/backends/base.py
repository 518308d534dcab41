"""The backend contract, in roles: a state store, history, a broker (fan-out),
a schedule and presence (below), each with a memory, a Redis and a Redis
Cluster implementation behind the same contract suite.

A backend keeps every room's state, its event history and its schedule, and
fans events out to the processes that serve the room's members. It stores and
publishes what the core told in a command's `Outcome` (events, records,
deadline, listing); it never asks the core anything.

* **Opaque bytes.** State is stored as the core serializes it; events travel
  and are stored as `Packet`s, encoded once per wire format by the process
  that committed them, and handed to listeners unchanged.
* **Atomic commit.** `transact` runs a pure command on the room's current
  state and then, in ONE step: checks nobody committed in between (retrying
  the command on the fresh state if somebody did), stores the new state,
  appends the events to their bounded histories and the outcome's report
  records to the room's record log (bounded per room and per author),
  records the room's next deadline and publishes the events. So the order of
  publication is the order of commits, and seqs are gapless in history and on
  the channel.
* **Who writes.** Any process may write any room; the commit's version check
  is the only lock.
* **Delivery.** Listeners of a room get each published packet at most once and
  in commit order. Pub/sub may lose packets (a broken connection): listeners
  detect that from the seqs and read `history`.
* **Continuity.** A backend that can lose its data (Redis restarted empty)
  says so through `continuity`, and is not `ready` until it was asked.
* **Presence.** A process refreshes leases on its live connections; when a
  process dies its leases lapse and `orphaned_connections` reports them so a
  survivor can disconnect them in the room.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from ensemble.core import Outcome, Room
from ensemble.core.state import RoomState
from ensemble.wire.packet import Packet

Command = Callable[[Room], Outcome]
# Called with each packet of a subscribed room, or with None when the channel
# broke and packets may have been missed (listeners then catch up from history).
Listener = Callable[[Packet | None], None]
DeadlineListener = Callable[[str, int | None], None]


class RecordLog(NamedTuple):
    """A room's record log as `StateStore.records` reads it."""

    records: list[dict[str, Any]]  # kept, in commit order
    dropped: int  # not kept: the room's log or the author's quota was full
    dropped_by_member: dict[str, int]  # of those, per author (`core.record_author`)


class BackendUnavailable(Exception):
    """The backend cannot be reached right now; the request may be retried."""


class Lifecycle(Protocol):
    async def start(self) -> None:
        """Connect; called once in the app's lifespan."""

    async def close(self) -> None: ...

    async def ready(self) -> bool:
        """Whether the backend answers now and still holds what `continuity` last saw."""

    async def continuity(self) -> bool:
        """Whether the backend still holds the data it held at the last call.

        False (once) after it lost everything, e.g. Redis restarted without
        persistence or was flushed: the caller then finds out which of its
        rooms are gone. A marker written at the first call tells.
        """

    async def shared_key(self, candidate: str) -> str:
        """The token-signing key all processes on this backend use: the one
        stored, or `candidate`, stored now if none is."""


class StateStore(Protocol):
    """Each room's state as bytes, its record log and its listing, committed
    atomically with its histories, deadline and publication."""

    async def create_room(self, state: RoomState, outcome: Outcome) -> None:
        """Store a new room; `outcome` (`Room.opening()`) tells its deadline and listing."""

    async def delete_room(self, room_id: str) -> None:
        """Forget the room: state, histories, schedule, listing, leases. Idempotent."""

    async def load_room(self, room_id: str) -> Room | None:
        """The room's current state, or None when there is no such room."""

    async def transact(self, room_id: str, command: Command) -> Outcome:
        """Apply `command` and commit its outcome atomically (see the module doc).

        The deadline and listing stored are the ones the outcome carries.
        Raises RoomGone (a NotFound) when there is no such room. A refused
        command (outcome with an `error`) still commits the events it carries.
        """

    async def records(self, room_id: str) -> RecordLog:
        """The room's report records in commit order, and how many were dropped,
        in all and per author: a record is kept while its author (see
        `core.record_author`) holds fewer than `settings.record_quota_per_member`
        records in the log and the log fewer than `settings.record_log_size`."""

    async def list_rooms(self) -> list[dict[str, Any]]:
        """Summaries of the rooms whose last outcome said they are listed."""


class History(Protocol):
    async def history(self, room_id: str, key: str, after: int) -> list[Packet] | None:
        """Packets of one history after seq `after`, in order; None when some are gone."""

    async def recent(self, room_id: str, key: str, count: int) -> list[Packet]:
        """The latest `count` packets of one history, oldest first."""


class Broker(Protocol):
    """Fan-out of committed packets to the processes serving a room."""

    async def subscribe(self, room_id: str, listener: Listener) -> None:
        """Returns once no later commit can be missed by `listener`."""

    async def unsubscribe(self, room_id: str, listener: Listener) -> None: ...

    async def publish_stranded(self) -> int:
        """Publish the commits whose process died between committing and
        publishing them (where those are two steps: redis_replicated.py);
        returns how many. Called by every process's scheduler sweep."""


class Schedule(Protocol):
    async def due_rooms(self, now: int) -> list[str]:
        """Rooms whose next deadline is at or before `now`."""

    async def next_deadline(self) -> int | None:
        """The earliest deadline of any room this backend knows."""

    async def claim(self, room_id: str, now: int, lease_ms: int) -> bool:
        """Take the room's due work: True for exactly one caller while the room
        is due at `now`; its deadline then counts as `now + lease_ms` until the
        claimer's commit stores the next one (a claimer that dies is relieved)."""

    def watch_deadlines(self, listener: DeadlineListener) -> None:
        """Have `listener(room_id, deadline)` called with the next deadline of
        every commit published to this process's subscribed rooms."""


class Presence(Protocol):
    async def refresh_presence(self, node_id: str, conns: dict[str, list[str]]) -> None:
        """Renew the leases on this process's connections, {room_id: [conn_id]}."""

    async def lease_room(self, node_id: str, room_id: str, conn_ids: list[str]) -> None:
        """Renew the leases of this process's connections in one room only (one
        step, however many rooms the process serves): a connection is leased
        before it enters its room."""

    async def orphaned_connections(self) -> dict[str, list[str]]:
        """Connections whose process stopped refreshing them, {room_id: [conn_id]}."""


class Backend(Lifecycle, StateStore, History, Broker, Schedule, Presence, Protocol):
    """Every role, as one object the app holds."""
