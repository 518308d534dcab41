"""The storage suite runs once on SQLite and once on a real PostgreSQL the tests start."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ensemble.store import Store, database_url
from tests.support.postgres_server import PostgresServer


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL of each kind."""
    if request.param == "sqlite":
        return database_url("", str(tmp_path))
    server: PostgresServer = request.getfixturevalue("postgres")
    return database_url(server.new_database(), "")


@pytest.fixture
async def store(database: str) -> AsyncIterator[Store]:
    store = Store(database)
    await store.start()
    yield store
    await store.close()
