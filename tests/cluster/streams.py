"""Reading what clients received, for comparisons across processes."""

from __future__ import annotations

import asyncio
from typing import Any

from ensemble.client import Client


def room_events(client: Client, received: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Append the client's pending frames to `received`; return its room-stream events."""
    received.extend(client.drain())
    return [e for e in received if e.get("stream") == "room"]


async def collect_until(
    client: Client,
    predicate,
    within: float = 20.0,  # type: ignore[no-untyped-def]
) -> list[dict[str, Any]]:
    """Every frame the client gets up to and including the first matching one."""
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while True:
            frame = await client.next_event(within)
            frames.append(frame)
            if predicate(frame):
                return frames


def assert_gapless(events: list[dict[str, Any]]) -> None:
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
