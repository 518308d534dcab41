"""ensemble.client against a real server: what a program using it relies on."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.timeout(30)


async def test_a_request_cancelled_as_its_ack_arrives_is_cancelled(rooms):
    """A task cancelled in the same loop turn its ack lands in stops (Python
    3.11's wait_for returned the ack and dropped the cancel, so a loop of
    requests could never be stopped)."""
    room = await rooms.create()
    mia = await rooms.join(room, "Mia", mentor=True)
    task = asyncio.create_task(mia.request("chat.send", text="hi"))
    for _ in range(100):  # a few loop turns, until the request is on its way
        if mia._pending:
            break
        await asyncio.sleep(0)
    (future,) = mia._pending.values()
    future.set_result({"type": "ack"})  # the ack lands, and in the same turn:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await mia.request("chat.send", text="still fine"))["type"] == "ack"
