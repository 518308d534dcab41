"""The archiver: keeps finished sessions in the history database, off the live path.

The room asks for its archive (`Room.tick` replies `archive`, leased so one
process at a time is asked); the scheduler hands the room id here through a
bounded queue and goes on. This task builds the report through
`RoomService.full_report`, keeps what the history needs (`core.history`) in
one transaction that inserts the session only if absent, then tells the room
it is archived. A failure or a crash anywhere before that leaves the lease
to run out, and the room asks again: nothing is lost, nothing kept twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.exc import DBAPIError

from ensemble.backends.base import BackendUnavailable
from ensemble.core import NotFound
from ensemble.core.history import archive_records
from ensemble.service import RoomService
from ensemble.store import Store

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000


class Archiver:
    def __init__(self, service: RoomService, store: Store, queue_size: int = QUEUE_SIZE) -> None:
        self.service = service
        self.store = store
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self._queued: set[str] = set()

    def submit(self, room_id: str) -> None:
        """Queue a room; never waits. A full queue drops it: the room asks again."""
        if room_id in self._queued:
            return
        try:
            self.queue.put_nowait(room_id)
        except asyncio.QueueFull:
            log.warning("archive queue full; %s will be asked for again", room_id)
            return
        self._queued.add(room_id)

    async def run(self) -> None:
        """Archive queued rooms one at a time. Logs failures and goes on; never dies."""
        while True:
            room_id = await self.queue.get()
            try:
                await self.archive(room_id)
            except asyncio.CancelledError:
                raise
            except (BackendUnavailable, DBAPIError, OSError) as exc:
                log.warning("archiving %s failed (%s); it will be retried", room_id, exc)
            except Exception:
                log.exception("archiving %s failed; it will be retried", room_id)
            finally:
                self._queued.discard(room_id)

    async def archive(self, room_id: str) -> bool:
        """Keep the room's session if it is due; True when this call kept it."""
        room = await self.service.backend.load_room(room_id)
        if room is None or not room.needs_archive():
            return False
        report = await self.service.full_report(room)
        session, people = archive_records(report)
        now = self.service.clock.now_ms()
        kept = await self.store.archive.archive(session, people, now)
        with contextlib.suppress(NotFound):
            await self.service.run(room_id, lambda room: room.mark_archived(now))
        return kept
