"""The room: one state machine per practice room.

Every command takes the current time as a value. Before a command is applied
the room catches up on whatever fell due (phase ends, turn limits, presence
grace periods), so the outcome never depends on how promptly a scheduler woke
it. Each outcome tells the caller when the room next needs a `tick`, how the
room is listed and which connections its events end (see `Outcome`).

The rule modules work on a `Context` (core/context.py) built per command; they
never see this class.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from ensemble.core import budget, clock, feedback, focus, presence, turns
from ensemble.core.context import Context
from ensemble.core.errors import Conflict, DomainError, Forbidden, NotAMember, RateLimited
from ensemble.core.events import Listing, Outcome, history_key, readable_streams
from ensemble.core.report import build_report
from ensemble.core.state import (
    DEFAULT_RETENTION_MS,
    MENTOR,
    OBSERVER,
    PARTICIPANT,
    Limits,
    RoomState,
)

ALL = frozenset({MENTOR, PARTICIPANT, OBSERVER})
MENTORS_ONLY = frozenset({MENTOR})
PARTICIPANTS_ONLY = frozenset({PARTICIPANT})

Handler = Callable[[Context, str, dict[str, Any]], dict[str, Any] | None]

# request type -> (roles that may send it, handler)
ARCHIVE_RETRY_MS = 10_000  # an archive not confirmed by then is asked for again

HANDLERS: dict[str, tuple[frozenset[str], Handler]] = {
    "status.set": (ALL, presence.set_status),
    "timer.start": (MENTORS_ONLY, clock.timer_start),
    "timer.pause": (MENTORS_ONLY, clock.timer_pause),
    "timer.resume": (MENTORS_ONLY, clock.timer_resume),
    "timer.reset": (MENTORS_ONLY, clock.timer_reset),
    "timer.adjust": (MENTORS_ONLY, clock.timer_adjust),
    "sprint.start": (MENTORS_ONLY, clock.sprint_start),
    "sprint.skip": (MENTORS_ONLY, clock.sprint_skip),
    "sprint.stop": (MENTORS_ONLY, clock.sprint_stop),
    "goal.set": (PARTICIPANTS_ONLY, feedback.goal_set),
    "goal.check": (PARTICIPANTS_ONLY, feedback.goal_check),
    "hand.raise": (PARTICIPANTS_ONLY, turns.hand_raise),
    "hand.lower": (PARTICIPANTS_ONLY, turns.hand_lower),
    "turn.pass": (ALL, turns.turn_pass),
    "turn.next": (MENTORS_ONLY, turns.turn_next),
    "turn.grant": (MENTORS_ONLY, turns.turn_grant),
    "turn.reorder": (MENTORS_ONLY, turns.turn_reorder),
    "turns.config": (MENTORS_ONLY, turns.turns_config),
    "turns.clear": (MENTORS_ONLY, turns.turns_clear),
    "chat.send": (ALL, feedback.chat_send),
    "reaction.send": (ALL, feedback.reaction_send),
    "comment.send": (frozenset({MENTOR, PARTICIPANT}), feedback.comment_send),
    "note.mentors": (MENTORS_ONLY, feedback.note_mentors),
    "tempo.set": (MENTORS_ONLY, clock.tempo_set),
    "tempo.start": (MENTORS_ONLY, clock.tempo_start),
    "tempo.stop": (MENTORS_ONLY, clock.tempo_stop),
    "member.set_role": (MENTORS_ONLY, presence.set_role),
    "member.remove": (MENTORS_ONLY, presence.remove),
    "room.close": (MENTORS_ONLY, presence.close_room),
}

# Due transitions of one repeating kind beyond which the catch-up jumps.
SKIP_AFTER = 100


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Room:
    """Commands in, events out. Holds a `RoomState` and nothing else that lasts."""

    def __init__(self, state: RoomState) -> None:
        self.state = state
        self.now = 0

    @classmethod
    def create(
        cls,
        *,
        room_id: str,
        title: str,
        visibility: str,
        epoch: str,
        invite: str,
        host_key: str,
        now: int,
        grace_ms: int,
        retention_ms: int = DEFAULT_RETENTION_MS,
        program: dict[str, Any] | None = None,
        limits: Limits | None = None,
        group_id: str | None = None,
    ) -> Room:
        if program is not None:
            clock.check_program(program["phases"], program["rounds"])
        return cls(
            RoomState(
                id=room_id,
                title=title,
                visibility=visibility,
                epoch=epoch,
                created_at=now,
                invite=invite,
                host_key_hash=hash_secret(host_key),
                grace_ms=grace_ms,
                retention_ms=retention_ms,
                program=program,
                limits=limits or Limits(),
                empty_since=now,
                group_id=group_id,
            )
        )

    # -- credentials ---------------------------------------------------------

    def check_invite(self, invite: str) -> bool:
        return hmac.compare_digest(invite.encode(), self.state.invite.encode())

    def check_host_key(self, host_key: str) -> bool:
        return hmac.compare_digest(hash_secret(host_key), self.state.host_key_hash)

    @property
    def closed(self) -> bool:
        return self.state.closed_at is not None

    # -- commands ------------------------------------------------------------

    def join(
        self,
        *,
        member_id: str,
        name: str,
        role: str,
        conn_id: str,
        now: int,
        person_id: str | None = None,
    ) -> Outcome:
        """A new member enters with its first connection (as a person, or a guest)."""
        return self._run(
            now, None, lambda ctx: presence.join(ctx, member_id, name, role, conn_id, person_id)
        )

    def connect(self, *, member_id: str, conn_id: str, now: int) -> Outcome:
        """A known member (by token) opens another connection or comes back."""
        return self._run(now, member_id, lambda ctx: presence.connect(ctx, member_id, conn_id))

    def disconnect(self, conn_ids: list[str], now: int) -> Outcome:
        """Connections ended (closed, or their process died and the lease lapsed)."""
        return self._run(
            now, None, lambda ctx: presence.disconnect(ctx, conn_ids), allow_closed=True
        )

    def request(self, actor: str, type: str, payload: dict[str, Any], now: int) -> Outcome:
        """A client request from member `actor`; raises a DomainError if refused."""
        roles, handler = HANDLERS[type]

        def apply(ctx: Context) -> dict[str, Any] | None:
            member = self.state.members.get(actor)
            if member is None or not member.present:
                removed = member is not None and member.removed
                raise NotAMember(f"you are no longer in this room ({actor})", removed=removed)
            if member.role not in roles:
                raise Forbidden(f"{type} needs the role {' or '.join(sorted(roles))}")
            limits = self.state.limits
            if not budget.allows(member, limits, now):
                raise RateLimited("too many requests from this member: slow down")
            emitted = len(ctx.events)
            result = handler(ctx, actor, payload)
            if len(ctx.events) > emitted:
                budget.spend(member, limits, now)
            return result

        return self._run(now, actor, apply)

    def tick(self, now: int) -> Outcome:
        """Apply what has fallen due by `now`.

        A closed room past its retention says so in `Outcome.expired`: the
        caller deletes it. A session to keep says so in `Outcome.archive`. An
        open room that stayed empty for its idle time closes here.
        """
        archive = False

        def apply(ctx: Context) -> None:
            nonlocal archive
            archive = self._archive_due(now)

        outcome = self._run(now, None, apply, allow_closed=True)
        outcome.archive = archive and outcome.error is None
        return outcome

    def _archive_due(self, now: int) -> bool:
        """To archive: the caller keeps the session in the history database, then
        calls `mark_archived`; should it fail or die, the archive is asked for
        again after ARCHIVE_RETRY_MS."""
        state = self.state
        if self.expired(now):
            return False
        if self.needs_archive() and (state.archive_at is None or state.archive_at <= now):
            state.archive_at = now + ARCHIVE_RETRY_MS
            return True
        return False

    def needs_archive(self) -> bool:
        """Closed, or everyone who came has left (past their grace), and not yet archived."""
        state = self.state
        if state.archived or not state.ever_joined:
            return False
        return self.closed or not any(m.present for m in state.members.values())

    def mark_archived(self, now: int) -> Outcome:
        """The session is in the history database: no more archive requests."""

        def apply(ctx: Context) -> None:
            self.state.archived = True
            self.state.archive_at = None

        return self._run(now, None, apply, allow_closed=True)

    def opening(self) -> Outcome:
        """The outcome of creating the room: no events, its deadline and listing."""
        return self._told(Outcome())

    def _run(
        self,
        now: int,
        actor: str | None,
        apply: Callable[[Context], dict[str, Any] | None],
        *,
        allow_closed: bool = False,
    ) -> Outcome:
        self.now = max(now, self.now)
        ctx = Context(self.state, self.now)
        try:
            if self.closed and not allow_closed:
                raise Conflict("the room is closed")
            if not self.closed:
                self._catch_up(ctx)
            ctx.actor = actor
            reply = apply(ctx) or {}
            focus.mark(ctx, self.now)
        except DomainError as error:
            # Rule handlers check before they change anything, so only the
            # catch-up above has happened; its events still count.
            return self._told(Outcome(ctx.events, {}, error, ctx.records))
        return self._told(Outcome(ctx.events, reply, None, ctx.records))

    def _told(self, outcome: Outcome) -> Outcome:
        """Add what the adapters need to know of the room after the command."""
        outcome.deadline = self.next_deadline()
        outcome.listing = self.listing()
        outcome.expired = self.expired(self.now)
        return outcome

    # -- deadlines -------------------------------------------------------------

    def _due(self, ctx: Context) -> list[tuple[int, Callable[[int], None]]]:
        due: list[tuple[int, Callable[[int], None]]] = []
        at = clock.phase_deadline(ctx)
        if at is not None:
            due.append((at, lambda t: clock.advance_phase(ctx, t)))
        if self.state.turns.ends_at is not None:
            due.append((self.state.turns.ends_at, lambda t: turns.expire_turn(ctx, t)))
        for member in self.state.members.values():
            if member.leave_at is not None and member.present:
                due.append((member.leave_at, functools.partial(presence.grace_over, ctx, member)))
        if self.state.empty_since is not None:
            idle_at = self.state.empty_since + self.state.limits.idle_ms
            due.append((idle_at, lambda t: presence.close_idle(ctx, t)))
        return due

    def next_deadline(self) -> int | None:
        """When the room next needs a `tick`, or None (also in `Outcome.deadline`)."""
        ctx = Context(self.state, self.now)
        deadlines = [self.expires_at] if self.closed else [at for at, _ in self._due(ctx)]
        if self.needs_archive():
            archive_at = self.state.archive_at
            deadlines.append(self.now if archive_at is None else archive_at)
        return min((at for at in deadlines if at is not None), default=None)

    @property
    def expires_at(self) -> int | None:
        """When a closed room's report stops being kept (at once if nobody ever came)."""
        if self.state.closed_at is None:
            return None
        if not self.state.ever_joined:
            return self.state.closed_at
        return self.state.closed_at + self.state.retention_ms

    def expired(self, now: int) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def _catch_up(self, ctx: Context) -> None:
        """Fire every due transition in time order, each at its own deadline.

        A room nobody served for long (every process down) may owe thousands
        of phase ends or turn limits. Those two repeat by themselves, so a
        backlog of more than `SKIP_AFTER` of one kind is first jumped over
        arithmetically (clock.skip_phases, turns.skip_expired); then at most a
        few transitions per member remain, and the catch-up takes bounded
        time and emits a bounded number of events.
        """
        # Each kind owes at most SKIP_AFTER + 1 between two members leaving.
        for _ in range((SKIP_AFTER + 2) * (len(self.state.members) + 3)):
            clock.skip_phases(ctx, self.now, SKIP_AFTER)
            # Turns only up to the next member leaving: that changes the rotation.
            leaving = [m.leave_at for m in self.state.members.values()
                       if m.leave_at is not None and m.present and m.leave_at <= self.now]
            turns.skip_expired(ctx, min(leaving, default=self.now), SKIP_AFTER)
            pending = [(at, fire) for at, fire in self._due(ctx) if at <= self.now]
            if not pending:
                return
            at, fire = min(pending, key=lambda item: item[0])
            fire(at)
            focus.mark(ctx, at)
        raise RuntimeError("room transitions did not settle")  # pragma: no cover

    # -- views -----------------------------------------------------------------

    def seqs_for(self, member_id: str) -> dict[str, int]:
        """The latest seq of each stream the member may read."""
        role = self.state.members[member_id].role
        return {
            stream: self.state.seqs.get(history_key(stream, member_id), 0)
            for stream in readable_streams(role)
        }

    def snapshot(self, role: str) -> dict[str, Any]:
        """The room as a newcomer with `role` sees it (the transport adds `recent`)."""
        state = self.state
        view = Context(state, self.now)
        room: dict[str, Any] = {
            "id": state.id,
            "title": state.title,
            "visibility": state.visibility,
            "state": "closed" if self.closed else "open",
        }
        if role == MENTOR or state.visibility == "public":
            room["invite"] = state.invite
        snapshot = {
            "room": room,
            "members": [m.public() for m in self.state.members.values() if m.present],
            "timer": state.timer.public(),
            "sprint": state.sprint.public(),
            "turns": state.turns.public(),
            "tempo": state.tempo.public(),
            "goals": feedback.current_goals(view),
        }
        if role == MENTOR:
            snapshot["feedback"] = feedback.received_counts(view)
        return snapshot

    def listing(self) -> Listing:
        """Whether the room is on the public list (public and open), and how."""
        return Listing(self.state.visibility == "public" and not self.closed, self.summary())

    def summary(self) -> dict[str, Any]:
        """The listing of the room. A public room's invite is its open door; an
        unlisted room's invite and every host key stay out."""
        state = self.state
        # Counted on every command: present and connected, spelled out.
        present = 0
        for m in state.members.values():
            if m.left_at is None and m.conns:
                present += 1
        summary = {
            "room_id": state.id,
            "title": state.title,
            "visibility": state.visibility,
            "members": present,
            "state": "closed" if self.closed else "open",
        }
        if state.visibility == "public":
            summary["invite"] = state.invite
        return summary

    def report(
        self,
        now: int,
        records: list[dict[str, Any]],
        dropped: int = 0,
        dropped_by_member: dict[str, int] | None = None,
    ) -> dict[str, Any]:
        """The session report from the live state and the room's record log
        (`dropped`: records the log did not keep, `dropped_by_member`: of
        those, how many per author; see `record_author`)."""
        return build_report(self.state, records, now, dropped, dropped_by_member)
