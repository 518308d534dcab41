"""A listener that records what it gets and lets a test wait for it."""

from __future__ import annotations

import asyncio

from ensemble.wire.packet import Packet


class Collector:
    def __init__(self) -> None:
        self.got: list[Packet | None] = []
        self._changed = asyncio.Event()

    def __call__(self, packet: Packet | None) -> None:
        self.got.append(packet)
        self._changed.set()

    @property
    def packets(self) -> list[Packet]:
        return [p for p in self.got if p is not None]

    @property
    def gaps(self) -> int:
        return sum(1 for p in self.got if p is None)

    async def wait_for(self, predicate, within: float = 5.0) -> None:  # type: ignore[no-untyped-def]
        async with asyncio.timeout(within):
            while not predicate(self):
                self._changed.clear()
                await self._changed.wait()

    async def wait_packets(self, count: int, within: float = 5.0) -> list[Packet]:
        await self.wait_for(lambda c: len(c.packets) >= count, within)
        return self.packets


async def eventually(check, within: float = 5.0, every: float = 0.02) -> None:  # type: ignore[no-untyped-def]
    """Poll an outside condition (Redis, a process) until it holds, bounded."""
    async with asyncio.timeout(within):
        while True:
            if await check():
                return
            await asyncio.sleep(every)
