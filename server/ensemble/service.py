"""The room service: the one place that runs core commands through the backend.

It creates rooms, admits members (hello), applies requests, tells the
scheduler (scheduler.py) every deadline its outcomes carry, ticks the rooms
the scheduler hands it, and runs the presence loop that renews this process's
leases and disconnects the connections of processes that died.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from ensemble.auth import SessionClaims, TokenSigner, new_id, new_secret, new_signing_key
from ensemble.backends.base import Backend, BackendUnavailable
from ensemble.core import Conflict, NotFound, Outcome, Room, RoomGone
from ensemble.core.errors import BadRequest, Unauthorized
from ensemble.core.events import history_key, readable_streams
from ensemble.core.state import MENTOR, OBSERVER, PARTICIPANT, Limits
from ensemble.hub import Hub
from ensemble.scheduler import Scheduler
from ensemble.settings import Settings
from ensemble.timesource import Clock
from ensemble.transport.closing import CLOSES, GONE
from ensemble.wire.packet import Packet

log = logging.getLogger(__name__)


class ArchiveQueue(Protocol):
    def submit(self, room_id: str) -> None: ...


class Directory(Protocol):
    """People and their groups (the store): who a person key belongs to, and
    a person's role in a group (None when not in it)."""

    async def person_by_key(self, key: str) -> Any: ...

    async def group_role(self, group_id: str, person_id: str) -> str | None: ...

RECENT_TYPES = frozenset({"chat.message", "comment", "mentor.note", "reaction"})
RECENT_COUNT = 50


@dataclass(slots=True)
class Admission:
    """What a successful hello produced."""

    member_id: str
    role: str
    token: str
    epoch: str
    seqs: dict[str, int]
    snapshot: dict[str, Any]
    resumed: bool
    missed: list[Packet] = field(default_factory=list)
    person_id: str | None = None

    def welcome(self, now: int) -> dict[str, Any]:
        welcome = {
            "type": "welcome",
            "member_id": self.member_id,
            "role": self.role,
            "token": self.token,
            "server_time": now,
            "epoch": self.epoch,
            "resumed": self.resumed,
            "seqs": self.seqs,
            "snapshot": self.snapshot,
        }
        if self.person_id is not None:
            welcome["person_id"] = self.person_id
        return welcome


class RoomService:
    def __init__(
        self,
        settings: Settings,
        backend: Backend,
        hub: Hub,
        clock: Clock,
        directory: Directory | None = None,
    ) -> None:
        self.settings = settings
        self.directory = directory
        # Takes room ids whose session is to be kept in the history (never waits).
        self.archiver: ArchiveQueue | None = None
        self.backend = backend
        self.hub = hub
        self.clock = clock
        # Without ENSEMBLE_SECRET the key comes from the backend (shared by
        # every process on one Redis), fetched before the first token.
        self._signer = TokenSigner(settings.secret) if settings.secret else None
        # Set while finding out what a backend that lost its data took along.
        self._reconciling = False
        self.scheduler = Scheduler(
            backend, clock, self.tick,
            sweep_ms=settings.scheduler_sweep_ms, claim_ms=settings.scheduler_claim_ms,
        )
        # Connections that closed while the backend was unreachable.
        self._unrecorded: dict[str, set[str]] = {}

    # -- tokens and readiness ----------------------------------------------------

    async def tokens(self) -> TokenSigner:
        """The token signer; its key is shared through the backend unless set."""
        if self._signer is None:
            key = await self.backend.shared_key(new_signing_key())
            self._signer = TokenSigner(key)
            log.warning(
                "ENSEMBLE_SECRET is not set: session tokens are signed with a generated key, "
                "shared through Redis by every process on it (without Redis it dies with "
                "this process)"
            )
        return self._signer

    async def ready(self) -> bool:
        # The backend first: while it answers, the presence pass may find the
        # data lost and start reconciling (read after, not before).
        backend_ready = await self.backend.ready()
        return backend_ready and not self._reconciling

    async def check_continuity(self) -> None:
        """When the backend lost its data, close the sockets of the rooms it lost.

        Not ready meanwhile; a failure leaves it to the next presence pass.
        """
        if not self._reconciling and await self.backend.continuity():
            return
        if not self._reconciling:
            log.warning("the backend lost its data (Redis restarted empty or flushed)")
        self._reconciling = True
        if self._signer is not None and not self.settings.secret:
            # Tokens signed before stay valid here; new ones use the shared key.
            self._signer.adopt(await self.backend.shared_key(self._signer.key))
        for room_id in self.hub.connections():
            if await self.backend.load_room(room_id) is None:
                log.warning("room %s was lost: closing its sockets", room_id)
                self.hub.close_room(room_id, *CLOSES[GONE])
        self._reconciling = False

    # -- rooms ---------------------------------------------------------------

    async def create_room(
        self,
        title: str,
        visibility: str,
        program: dict[str, Any] | None,
        group_id: str | None = None,
    ) -> tuple[Room, str, str]:
        invite, host_key = new_secret(), new_secret()
        room = Room.create(
            room_id=new_id("r"),
            title=title,
            visibility=visibility,
            epoch=new_secret(),
            invite=invite,
            host_key=host_key,
            now=self.clock.now_ms(),
            grace_ms=self.settings.grace_ms,
            retention_ms=self.settings.room_retention_ms,
            program=program,
            group_id=group_id,
            limits=Limits(
                max_members=self.settings.max_members,
                max_conns=self.settings.max_conns_per_member,
                left_kept=self.settings.left_members_kept,
                idle_ms=self.settings.idle_room_ms,
                rate_per_s=self.settings.rate_per_s,
                rate_burst=self.settings.rate_burst,
            ),
        )
        opening = room.opening()
        await self.backend.create_room(room.state, opening)
        self.scheduler.learn(room.state.id, opening.deadline)
        return room, invite, host_key

    async def room(self, room_id: str) -> Room:
        room = await self.backend.load_room(room_id)
        if room is None:
            raise RoomGone(f"no room {room_id}")
        return room

    async def report(self, room_id: str, host_key: str) -> dict[str, Any]:
        room = await self.room(room_id)
        if not room.check_host_key(host_key):
            raise Unauthorized("the report needs the room's host key")
        return await self.full_report(room)

    async def full_report(self, room: Room) -> dict[str, Any]:
        """The session report: the room's state and its record log."""
        log = await self.backend.records(room.state.id)
        return room.report(self.clock.now_ms(), log.records, log.dropped, log.dropped_by_member)

    # -- commands --------------------------------------------------------------

    async def run(self, room_id: str, command: Any) -> Outcome:
        """Commit a command; raise its error after its due events are committed."""
        outcome = await self.backend.transact(room_id, command)
        self.scheduler.learn(room_id, outcome.deadline)
        if outcome.error is not None:
            raise outcome.error
        return outcome

    async def request(
        self, room_id: str, member_id: str, type_: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        now = self.clock.now_ms()
        outcome = await self.run(
            room_id, lambda room: room.request(member_id, type_, payload, now)
        )
        return outcome.reply

    async def disconnect(self, room_id: str, conn_ids: list[str]) -> None:
        """Record connections as gone; if the backend is down, retry from the presence loop."""
        now = self.clock.now_ms()
        try:
            await self.run(room_id, lambda room: room.disconnect(conn_ids, now))
        except BackendUnavailable:
            self._unrecorded.setdefault(room_id, set()).update(conn_ids)
            raise

    async def admit(self, hello: dict[str, Any], conn_id: str) -> Admission:
        """Check a hello's credential and let the member in (join or reconnect)."""
        room_id = hello["room"]
        room = await self.room(room_id)
        if room.closed:
            raise Conflict("the room is closed")
        claims = await self._claims(room, hello)
        person_id, group_role = (None, None) if claims else await self._person(room, hello)
        now = self.clock.now_ms()
        member_id = claims.member if claims else new_id("m")
        role = claims.role if claims else group_role or self._role_for(hello)

        def command(room: Room) -> Outcome:
            if claims is not None:
                outcome = room.connect(member_id=member_id, conn_id=conn_id, now=now)
            else:
                outcome = room.join(
                    member_id=member_id, name=hello["name"], role=role, conn_id=conn_id, now=now,
                    person_id=person_id,
                )
            if outcome.error is None:
                member_role = room.state.members[member_id].role
                outcome.reply.update(
                    snapshot=room.snapshot(member_role),
                    seqs=room.seqs_for(member_id),
                    epoch=room.state.epoch,
                    role=member_role,
                    person_id=room.state.members[member_id].person_id,
                )
            return outcome

        # Lease the connection before it enters the room: should this process
        # die right after, the lease lapses and a survivor disconnects it.
        leased = self.hub.connections().get(room_id, [])
        await self.backend.lease_room(self.settings.node_id, room_id, leased)
        reply = (await self.run(room_id, command)).reply
        try:
            return await self._admission(room_id, member_id, reply, hello.get("resume"))
        except BaseException:
            # The member is in; the connection will not be: take it out again
            # (retried by the presence loop if the backend is down).
            with contextlib.suppress(Exception):
                await self.disconnect(room_id, [conn_id])
            raise

    async def _admission(
        self, room_id: str, member_id: str, reply: dict[str, Any], resume: Any
    ) -> Admission:
        role = reply["role"]
        token = (await self.tokens()).sign(SessionClaims(room_id, member_id, role))
        seqs = reply["seqs"]
        missed = await self._missed(room_id, resume, reply["epoch"], seqs, member_id)
        snapshot = reply["snapshot"]
        snapshot["recent"] = await self._recent(room_id, member_id, role, seqs)
        return Admission(
            member_id, role, token, reply["epoch"], seqs, snapshot, missed is not None,
            missed or [], reply.get("person_id"),
        )

    def _role_for(self, hello: dict[str, Any]) -> str:
        if "host_key" in hello:
            return MENTOR
        role = hello.get("role", PARTICIPANT)
        if role not in (PARTICIPANT, OBSERVER):
            raise BadRequest("with an invite, role is participant or observer")
        return str(role)

    async def _person(self, room: Room, hello: dict[str, Any]) -> tuple[str | None, str | None]:
        """The person a newcomer's `person_key` names (None: a guest) and, when
        the key is the only credential, their role in the room's group.

        Beside an invite or host key (the door), a key that names nobody, or a
        database out of reach, lets the member in as a guest (`welcome` then
        has no `person_id`): the room never waits for the history.
        """
        key = hello.get("person_key")
        if key is None:
            return None, None
        door = any(name in hello for name in ("invite", "host_key"))
        directory = self.directory
        try:
            person = None if directory is None else await directory.person_by_key(key)
        except BackendUnavailable:
            if not door:
                raise
            log.warning("person key not checked (database unreachable): joining as a guest")
            return None, None
        if door:
            return (None if person is None else str(person.id)), None
        if directory is None or person is None:
            raise Unauthorized("the person key is not valid")
        group_id = room.state.group_id
        role = None if group_id is None else await directory.group_role(group_id, person.id)
        if role is None:
            raise Unauthorized("with a person key alone, join a room of one of your groups")
        return str(person.id), role

    async def _claims(self, room: Room, hello: dict[str, Any]) -> SessionClaims | None:
        """The token's claims, or None for a newcomer with a valid invite or host key."""
        if "token" in hello:
            claims = (await self.tokens()).verify(hello["token"])
            if claims is None or claims.room != room.state.id:
                raise Unauthorized("the session token is not valid for this room")
            return claims
        if "host_key" in hello:
            if not room.check_host_key(hello["host_key"]):
                raise Unauthorized("the host key is not valid for this room")
            return None
        if "invite" in hello:
            if not room.check_invite(hello["invite"]):
                raise Unauthorized("the invite code is not valid for this room")
            return None
        if "person_key" in hello:
            return None  # a group member's own key: checked against the room's group
        raise Unauthorized("hello needs one of invite, host_key, token or person_key")

    async def _missed(
        self,
        room_id: str,
        resume: dict[str, Any] | None,
        epoch: str,
        seqs: dict[str, int],
        member_id: str,
    ) -> list[Packet] | None:
        """The events a resuming client missed, or None when it needs a fresh snapshot."""
        if not resume or resume.get("epoch") != epoch:
            return None
        missed: list[Packet] = []
        for stream, latest in seqs.items():
            last = resume.get(stream)
            if last is None or last > latest:
                return None
            packets = await self.backend.history(room_id, history_key(stream, member_id), last)
            if packets is None:
                return None
            missed.extend(p for p in packets if p.seq <= latest)
        return missed

    async def _recent(
        self, room_id: str, member_id: str, role: str, seqs: dict[str, int]
    ) -> list[dict[str, Any]]:
        recent: list[Packet] = []
        for stream in readable_streams(role):
            key = history_key(stream, member_id)
            limit = seqs.get(stream, 0)
            packets = await self.backend.recent(room_id, key, RECENT_COUNT * 2)
            recent.extend(p for p in packets if p.type in RECENT_TYPES and p.seq <= limit)
        recent.sort(key=lambda p: p.at)
        return [p.message() for p in recent[-RECENT_COUNT:]]

    # -- background loops --------------------------------------------------------

    async def tick(self, room_id: str, now: int) -> None:
        """Apply what fell due in a room (the scheduler claimed it); delete it
        when it expired, hand it to the archiver when its session is over."""
        try:
            outcome = await self.backend.transact(room_id, lambda room: room.tick(now))
        except NotFound:
            self.scheduler.learn(room_id, None)
            return
        self.scheduler.learn(room_id, outcome.deadline)
        if outcome.expired:
            await self.backend.delete_room(room_id)
            self.scheduler.learn(room_id, None)
        elif outcome.archive and self.archiver is not None:
            self.archiver.submit(room_id)

    async def run_presence(self) -> None:
        """Renew this process's leases; disconnect connections whose process died.

        Each pass renews before it reaps, and after a failed pass (backend
        unreachable) the next comes soon: leases are renewed as soon as the
        backend is back, before they could be taken for lapsed.
        """
        interval = self.settings.presence_ttl_ms / 3000
        while True:
            delay = interval
            try:
                await self.check_continuity()
                await self.backend.refresh_presence(self.settings.node_id, self.hub.connections())
                orphans = await self.backend.orphaned_connections()
                unrecorded, self._unrecorded = self._unrecorded, {}
                for room_id, unrecorded_ids in unrecorded.items():
                    orphans.setdefault(room_id, []).extend(unrecorded_ids)
                for room_id, conn_ids in orphans.items():
                    # A failure keeps them in _unrecorded for the next pass.
                    with contextlib.suppress(NotFound, BackendUnavailable):
                        await self.disconnect(room_id, conn_ids)
            except asyncio.CancelledError:
                raise
            except BackendUnavailable:
                delay = min(interval, 0.2)
            except Exception:
                log.exception("presence pass failed")
            await asyncio.sleep(delay)
