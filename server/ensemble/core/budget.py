"""A member's request budget: one token bucket per member, kept in the room's
state, so it holds across all of the member's sockets on every process.

Each socket's process also rate-limits every frame it reads (transport/
ratelimit.py), which protects that process; only the room knows what one
member sends through all of them. The bucket is refilled by the time each
request carries (`now`), in thousandths of a request so it stays an integer.
A request spends from it only when it changed the room (emitted events): a
refused or idle request costs nothing, and writes nothing.
"""

from __future__ import annotations

from ensemble.core.state import Limits, Member

ONE = 1000  # thousandths of a request


def _available(member: Member, limits: Limits, now: int) -> int:
    full = limits.rate_burst * ONE
    if member.budget is None:
        return full
    elapsed = max(0, now - member.budget_at)  # ms x requests/s = thousandths
    return min(full, member.budget + int(elapsed * limits.rate_per_s))


def allows(member: Member, limits: Limits, now: int) -> bool:
    return limits.rate_burst <= 0 or _available(member, limits, now) >= ONE


def spend(member: Member, limits: Limits, now: int) -> None:
    if limits.rate_burst <= 0:
        return  # no budget (a room made without one)
    member.budget = _available(member, limits, now) - ONE
    member.budget_at = max(member.budget_at, now)
