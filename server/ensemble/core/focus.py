"""Focus time: how long each member was connected while a focus phase ran.

The room keeps the spans of its focus phases (`RoomState.focus_spans`, the
last one open while a focus phase runs); a member adds the overlap of each of
its connected stretches when the stretch ends (`settle`), so drops and
rejoins count only the time actually there. Spans no connected member can
still overlap are dropped, so the list stays short.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ensemble.core.state import Member, RoomState

if TYPE_CHECKING:
    from ensemble.core.room import Room

FOCUS = "focus"


def overlap_ms(start: int, end: int, spans: Iterable[Sequence[int | None]], open_end: int) -> int:
    """Milliseconds of [start, end) inside the spans ([from, to), `to` None = up to `open_end`)."""
    total = 0
    for span_start, span_end in spans:
        assert span_start is not None
        stop = open_end if span_end is None else span_end
        total += max(0, min(end, stop) - max(start, span_start))
    return total


def in_focus(room: Room) -> bool:
    phase = room.state.sprint.phase
    return not room.closed and phase is not None and phase.get("kind") == FOCUS


def mark(room: Room, at: int) -> None:
    """Open or close the current focus span to match the phase at `at`."""
    spans = room.state.focus_spans
    running = bool(spans) and spans[-1][1] is None
    focus = in_focus(room)
    if focus and not running:
        spans.append([at, None])
    elif running and not focus:
        spans[-1][1] = at
        _prune(room.state)


def settle(state: RoomState, member: Member, end: int) -> None:
    """A connected stretch of `member` ends at `end`: add its focus time."""
    if member.connected_since is not None:
        member.focus_ms += overlap_ms(member.connected_since, end, state.focus_spans, end)


def member_focus_ms(state: RoomState, member: Member, end: int) -> int:
    """Focus time so far, counting the stretch still connected up to `end`."""
    total = member.focus_ms
    if member.connected_since is not None:
        total += overlap_ms(member.connected_since, end, state.focus_spans, end)
    return total


def _prune(state: RoomState) -> None:
    """Forget closed spans that end before every connected member's stretch began."""
    starts = [m.connected_since for m in state.members.values() if m.connected_since is not None]
    if not starts:
        state.focus_spans = [s for s in state.focus_spans if s[1] is None]
        return
    oldest = min(starts)
    state.focus_spans = [s for s in state.focus_spans if s[1] is None or s[1] > oldest]
