"""Which database, the async engine, and migrations (Alembic) run on start.

SQLite in the data directory is the embedded default; a `postgresql://` URL
picks PostgreSQL through asyncpg. The drivers are named here only.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DB_FILE = "ensemble.db"
# Taken by every process that migrates a PostgreSQL database, so two
# processes starting together do not both create the tables.
MIGRATION_LOCK = 0x656E73656D  # "ensem"


class DatabaseUrlError(ValueError):
    """The database setting names no database this server can use."""


def database_url(database: str, data_dir: str) -> str:
    """The SQLAlchemy URL for a `--database` value (empty: SQLite in `data_dir`)."""
    if not database:
        return f"sqlite+aiosqlite:///{Path(data_dir).expanduser().resolve() / DB_FILE}"
    scheme, sep, rest = database.partition("://")
    if not sep:
        raise DatabaseUrlError("--database takes a postgresql://… or sqlite:///… URL")
    if scheme in ("postgresql", "postgres", "postgresql+asyncpg"):
        return f"postgresql+asyncpg://{rest}"
    if scheme in ("sqlite", "sqlite+aiosqlite"):
        return f"sqlite+aiosqlite://{rest}"
    raise DatabaseUrlError(f"unsupported database {scheme!r}: use postgresql:// or sqlite://")


def create_engine(url: str, name: str = "ensemble") -> AsyncEngine:
    """`name` is this process's name on PostgreSQL (`application_name`)."""
    if url.startswith("sqlite"):
        path = url.partition(":///")[2]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url, pool_size=5, max_overflow=5, pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": name[:63]}},
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to `revision`: the same on every start and for `ensemble db upgrade`.

    One process at a time: processes started together on a new database
    would otherwise both create the tables, and all but one fail.
    """
    async with _sqlite_file_lock(engine), engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
        await conn.run_sync(_run_upgrade, revision)


@contextlib.asynccontextmanager
async def _sqlite_file_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """An exclusive lock on a file beside an SQLite database (its processes
    share a machine); nothing for other databases or an in-memory one."""
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:":
        yield
        return
    lock = await asyncio.to_thread(open, f"{path}.migrating", "a")
    try:
        await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
        yield
    finally:
        lock.close()  # closing lets go of the lock


def _run_upgrade(connection: sa.Connection, revision: str) -> None:
    config = _alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def upgrade_url(url: str) -> None:
    """Blocking: migrate the database at `url` (the CLI's `ensemble db upgrade`)."""

    async def run() -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
