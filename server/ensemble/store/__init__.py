"""The database: people, groups and the history of archived sessions.

`Store(url)` builds the engine (no connection yet) and `start()` runs the
migrations; the live room path never waits on it (the archiver and the HTTP
API for people do).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from ensemble.backends.base import BackendUnavailable
from ensemble.store.archive import Archive, BadCursor
from ensemble.store.engine import DatabaseUrlError, create_engine, database_url, upgrade
from ensemble.store.groups import Groups
from ensemble.store.people import People, Person


@contextlib.contextmanager
def _unavailable() -> Iterator[None]:
    """The database unreachable, as the room service names it (`unavailable`)."""
    try:
        yield
    except (DBAPIError, OSError) as exc:
        raise BackendUnavailable(f"database: {exc}") from exc


__all__ = ["BadCursor", "DatabaseUrlError", "Person", "Store", "database_url"]


class Store:
    """Built without connecting; `start()` migrates, `close()` lets go of the pool."""

    def __init__(self, url: str, name: str = "ensemble") -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url, name)
        self.people = People(self.engine)
        self.archive = Archive(self.engine)
        self.groups = Groups(self.engine)

    @classmethod
    def from_settings(cls, database: str, data_dir: str, name: str = "ensemble") -> Store:
        return cls(database_url(database, data_dir), name)

    async def start(self) -> None:
        await upgrade(self.engine)

    # -- what the room service asks (see service.Directory) ------------------

    async def person_by_key(self, key: str) -> Person | None:
        with _unavailable():
            return await self.people.by_key(key)

    async def group_role(self, group_id: str, person_id: str) -> str | None:
        with _unavailable():
            return await self.groups.role_of(group_id, person_id)

    async def ready(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception:
            return False
        return True

    async def close(self) -> None:
        await self.engine.dispose()
