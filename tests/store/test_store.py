"""Storage: migrations, people and the archive, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
import sqlalchemy as sa

from ensemble.store import BadCursor, Store, database_url
from ensemble.store.engine import DatabaseUrlError, create_engine, upgrade
from ensemble.store.sealing import seal, unseal
from tests.support.server import ROOT


def session(room_id: str, started_at: int, group_id: str | None = None) -> dict:
    return {"room_id": room_id, "group_id": group_id, "title": "Scales",
            "started_at": started_at, "ended_at": started_at + 60_000, "present": 2, "notes": []}


def attendance(person_id: str, focus_ms: int = 1000) -> dict:
    return {"person_id": person_id, "role": "participant", "present_ms": 5000,
            "focus_ms": focus_ms, "goals": [{"text": "g", "result": "done", "note": ""}],
            "turns": [{"ms": 100}], "feedback": [], "reactions": {"👏": 1}}


async def test_migrations_create_every_table_and_run_again_harmlessly(store: Store) -> None:
    await store.start()  # a second start (another process, a restart) changes nothing
    async with store.engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
        version = await conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
    assert {"people", "groups", "group_members", "sessions", "attendances"} <= names
    assert version == "0001"
    assert await store.ready()


async def test_a_person_is_found_by_key_only(store: Store) -> None:
    person = await store.people.create("p_1", "key-one", "Ana", "Europe/Paris", 5)
    assert await store.people.by_key("key-one") == person
    assert await store.people.by_key("key-two") is None
    async with store.engine.connect() as conn:
        stored = await conn.scalar(sa.text("SELECT key_hash FROM people"))
    assert stored != "key-one" and len(stored) == 64  # only the digest is kept
    renamed = await store.people.update("p_1", name="Ana B", tz=None)
    assert renamed is not None and (renamed.name, renamed.tz) == ("Ana B", "Europe/Paris")


async def test_a_mentors_copy_of_the_mentor_key_opens_for_that_mentor_only(store: Store) -> None:
    await store.people.create("p_1", "key-one", "Mira", "UTC", 0)
    group = {"id": "g_1", "name": "Strings", "visibility": "invite", "program": None,
             "schedule": None, "invite": "inv"}
    mentor_key = "Vb8n2QwLzVb8n2QwLzAbCd"  # as long as new_secret() makes them
    await store.groups.create(group, mentor_key, "p_1", "key-one", 0)
    membership = await store.groups.membership("g_1", "p_1")
    assert membership is not None
    sealed = membership["mentor_key_sealed"]  # it fits the column on PostgreSQL too
    assert mentor_key not in sealed and mentor_key.encode().hex() not in sealed
    assert unseal(sealed, "key-one", "g_1", "p_1") == mentor_key
    # Another key, group or person: no copy.
    assert unseal(sealed, "key-two", "g_1", "p_1") is None
    assert unseal(sealed, "key-one", "g_2", "p_1") is None
    assert unseal(sealed, "key-one", "g_1", "p_2") is None
    # Tampered, truncated or not ours at all: no copy, and no exception.
    flipped = sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:]
    for bad in (flipped, sealed[:-4], sealed[:10], "", "!!!not base64!!!", "é", "AAAA" * 20):
        assert unseal(bad, "key-one", "g_1", "p_1") is None
    # Each seal takes a fresh nonce: two copies of one key do not match.
    assert seal(mentor_key, "key-one", "g_1", "p_1") != sealed


async def test_deleting_a_person_removes_their_history(store: Store) -> None:
    await store.people.create("p_1", "k1", "Ana", "UTC", 0)
    await store.people.create("p_2", "k2", "Bo", "UTC", 0)
    await store.archive.archive(session("r_1", 10), [attendance("p_1"), attendance("p_2")], 99)
    await store.people.delete("p_1")
    assert await store.people.by_key("k1") is None
    assert (await store.archive.sessions_of("p_1", 10))[0] == []
    assert len((await store.archive.sessions_of("p_2", 10))[0]) == 1


async def test_a_session_is_archived_once(store: Store) -> None:
    await store.people.create("p_1", "k1", "Ana", "UTC", 0)
    assert await store.archive.archive(session("r_1", 10), [attendance("p_1")], 99)
    assert not await store.archive.archive(session("r_1", 10), [attendance("p_1")], 100)
    assert await store.archive.is_archived("r_1")
    rows, following = await store.archive.sessions_of("p_1", 10)
    assert len(rows) == 1 and following is None
    assert rows[0]["goals"] == [{"text": "g", "result": "done", "note": ""}]
    assert rows[0]["reactions"] == {"👏": 1}


async def test_a_session_that_went_on_is_kept_again_replacing_its_copy(store: Store) -> None:
    await store.people.create("p_1", "k1", "Ana", "UTC", 0)
    await store.people.create("p_2", "k2", "Ben", "UTC", 0)
    first = session("r_1", 10)
    assert await store.archive.archive(first, [attendance("p_1")], 99)
    # Ana came back, Ben joined, and the session ended later: kept again.
    later = first | {"ended_at": first["ended_at"] + 30_000, "present": 3}
    more = attendance("p_1", focus_ms=4000) | {"goals": [{"text": "h", "result": "partial",
                                                         "note": ""}]}
    assert await store.archive.archive(later, [more, attendance("p_2")], 200)
    assert not await store.archive.archive(later, [more, attendance("p_2")], 201)  # as kept
    assert not await store.archive.archive(first, [attendance("p_1")], 202)  # an older copy
    [ana], _ = await store.archive.sessions_of("p_1", 10)
    assert ana["ended_at"] == later["ended_at"] and ana["focus_ms"] == 4000
    assert ana["goals"] == [{"text": "h", "result": "partial", "note": ""}]
    [ben], _ = await store.archive.sessions_of("p_2", 10)
    assert ben["room_id"] == "r_1"


async def test_concurrent_archives_of_one_room_keep_one(store: Store) -> None:
    await store.people.create("p_1", "k1", "Ana", "UTC", 0)
    other = Store(store.url)  # a second pool, as a second process would have
    try:
        results = await asyncio.gather(*(
            s.archive.archive(session("r_1", 10), [attendance("p_1")], 99)
            for s in (store, other, store, other)
        ))
    finally:
        await other.close()
    assert sorted(results) == [False, False, False, True]
    assert len((await store.archive.sessions_of("p_1", 10))[0]) == 1


async def test_sessions_page_newest_first_after_a_position(store: Store) -> None:
    await store.people.create("p_1", "k1", "Ana", "UTC", 0)
    for i in range(5):
        group = "g_1" if i % 2 else None
        await store.archive.archive(session(f"r_{i}", 1000 * (i // 2), group),
                                    [attendance("p_1")], 1)
    seen, cursor = [], None
    while True:
        rows, cursor = await store.archive.sessions_of("p_1", 2, cursor)
        seen += [r["room_id"] for r in rows]
        if cursor is None:
            break
    assert seen == ["r_4", "r_3", "r_2", "r_1", "r_0"]
    rows, _ = await store.archive.sessions_of("p_1", 10, group_id="g_1")
    assert [r["room_id"] for r in rows] == ["r_3", "r_1"]
    with pytest.raises(BadCursor):
        await store.archive.sessions_of("p_1", 2, "not-a-cursor")


def test_database_urls() -> None:
    assert database_url("", "/tmp/x").startswith("sqlite+aiosqlite:////tmp/x/")
    assert database_url("postgresql://u@h/db", "") == "postgresql+asyncpg://u@h/db"
    with pytest.raises(DatabaseUrlError):
        database_url("mysql://h/db", "")


def test_db_upgrade_command(database: str) -> None:
    url = database.replace("+aiosqlite", "").replace("+asyncpg", "")
    result = subprocess.run(
        [sys.executable, "-m", "ensemble", "db", "upgrade", "--database", url],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


@pytest.mark.parametrize("position", ["", "12", ":r_1", "x:r_1", "--5:r_1", "²:r_1", "1.5:r"])
def test_positions_not_handed_out_are_refused(position: str) -> None:
    from ensemble.store.archive import parse_position

    with pytest.raises(BadCursor):
        parse_position(position)


async def test_processes_starting_together_on_a_new_database_both_migrate(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two servers started at once on a fresh data directory (two processes on
    one machine, say, with Redis and the default SQLite): one creates the
    tables, the other finds them, and neither fails."""
    url = database_url("", str(tmp_path))
    engines = [create_engine(url) for _ in range(4)]
    try:
        await asyncio.gather(*(upgrade(engine) for engine in engines))
        async with engines[0].connect() as conn:
            version = await conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
        assert version == "0001"
    finally:
        for engine in engines:
            await engine.dispose()
