"""The database: people, groups and the history of archived sessions.

`Store(url)` builds the engine (no connection yet) and `start()` runs the
migrations; the live room path never waits on it (the archiver and the HTTP
API for people do).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ensemble.store.archive import Archive, BadCursor
from ensemble.store.engine import DatabaseUrlError, create_engine, database_url, upgrade
from ensemble.store.people import People, Person

__all__ = ["BadCursor", "DatabaseUrlError", "Person", "Store", "database_url"]


class Store:
    """Built without connecting; `start()` migrates, `close()` lets go of the pool."""

    def __init__(self, url: str, name: str = "ensemble") -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url, name)
        self.people = People(self.engine)
        self.archive = Archive(self.engine)

    @classmethod
    def from_settings(cls, database: str, data_dir: str, name: str = "ensemble") -> Store:
        return cls(database_url(database, data_dir), name)

    async def start(self) -> None:
        await upgrade(self.engine)

    async def ready(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception:
            return False
        return True

    async def close(self) -> None:
        await self.engine.dispose()
