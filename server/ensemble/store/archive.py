"""Archived sessions: one copy per room, read back per person.

`archive()` inserts the session row if absent and, only when it inserted it,
the attendances, all in one transaction: two processes archiving the same
room (or one retrying after a crash) leave exactly one copy. A session that
went on after it was kept (someone came back to the room) is kept again when
it ends: a copy that ended later replaces the kept one and its attendances,
in the same transaction; an equal or earlier one changes nothing.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ensemble.store.tables import attendances, people, sessions

SESSION_FIELDS = ("room_id", "group_id", "title", "started_at", "ended_at", "present", "notes")
ATTENDANCE_FIELDS = (
    "person_id", "role", "present_ms", "focus_ms", "goals", "turns", "feedback", "reactions",
)  # fmt: skip


class BadCursor(ValueError):
    """A page position this store did not hand out."""


def position(at: int, id_: str) -> str:
    """A page position: a time (ms) and an id, the keys of a keyset page."""
    return f"{at}:{id_}"


def parse_position(after: str) -> tuple[int, str]:
    at, sep, id_ = after.partition(":")
    try:
        if not sep or not id_ or not at.isascii():
            raise ValueError
        return int(at), id_
    except ValueError:
        raise BadCursor("cursor is not one this server gave out") from None


HISTORY_FIELDS = (
    "room_id", "group_id", "title", "started_at", "ended_at", "role", "present_ms", "focus_ms",
    "goals", "turns", "feedback", "reactions",
)  # fmt: skip


def history_entry(row: dict[str, Any]) -> dict[str, Any]:
    """A kept session as the person (or their group's mentors) read it."""
    return {k: row[k] for k in HISTORY_FIELDS}


class Archive:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def archive(
        self, session: dict[str, Any], records: list[dict[str, Any]], now: int
    ) -> bool:
        """Keep one session and its people's records; False when it was already
        kept as it is (or as a later copy).

        Records of people deleted since they joined are dropped.
        """
        row = {k: session[k] for k in SESSION_FIELDS} | {"archived_at": now}
        async with self.engine.begin() as conn:
            if not await _insert_if_absent(conn, row) and not await _replace_earlier(conn, row):
                return False
            wanted = [r["person_id"] for r in records]
            existing = set(
                (await conn.execute(sa.select(people.c.id).where(people.c.id.in_(wanted))))
                .scalars().all()
            ) if wanted else set()
            kept = [r for r in records if r["person_id"] in existing]
            if kept:
                shared = {k: session[k] for k in ("room_id", "group_id", "title", "started_at",
                                                  "ended_at")}
                await conn.execute(
                    attendances.insert(),
                    [shared | {k: p[k] for k in ATTENDANCE_FIELDS} for p in kept],
                )
        return True

    async def is_archived(self, room_id: str) -> bool:
        async with self.engine.connect() as conn:
            found = await conn.scalar(
                sa.select(sessions.c.room_id).where(sessions.c.room_id == room_id)
            )
        return found is not None

    async def sessions_of(
        self,
        person_id: str,
        limit: int,
        after: str | None = None,
        group_id: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A person's sessions, newest first, `limit` at a time, after the
        position `after`; with the position the next page starts after (or None)."""
        query = sa.select(attendances).where(attendances.c.person_id == person_id)
        if group_id is not None:
            query = query.where(attendances.c.group_id == group_id)
        if after:
            started_at, room_id = parse_position(after)
            query = query.where(
                sa.tuple_(attendances.c.started_at, attendances.c.room_id)
                < sa.tuple_(sa.literal(started_at), sa.literal(room_id))
            )
        query = query.order_by(
            attendances.c.started_at.desc(), attendances.c.room_id.desc()
        ).limit(limit + 1)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        page = [dict(r) for r in rows[:limit]]
        following = None
        if len(rows) > limit:
            last = page[-1]
            following = position(last["started_at"], last["room_id"])
        return page, following

    async def kept_session(
        self, room_id: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """One kept session and every person's record of it, each with the
        person's name now; None when the room was never kept.

        Unfiltered: private comments and mentors' notes are in it, for the
        caller to keep from whoever may not read them (`core.history.group_report`).
        """
        records_query = (
            sa.select(attendances, people.c.name)
            .join(people, people.c.id == attendances.c.person_id)
            .where(attendances.c.room_id == room_id)
            .order_by(attendances.c.person_id)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(
                sa.select(sessions).where(sessions.c.room_id == room_id)
            )).first()
            if row is None:
                return None
            records = [dict(r) for r in (await conn.execute(records_query)).mappings().all()]
        return dict(row._mapping), records

    async def all_of(self, person_id: str) -> list[dict[str, Any]]:
        """What the totals and streak of a person need: every session, compactly."""
        query = sa.select(
            attendances.c.started_at, attendances.c.ended_at, attendances.c.present_ms,
            attendances.c.focus_ms, attendances.c.goals, attendances.c.group_id,
        ).where(attendances.c.person_id == person_id)  # fmt: skip
        async with self.engine.connect() as conn:
            return [dict(r) for r in (await conn.execute(query)).mappings().all()]


async def _replace_earlier(conn: AsyncConnection, row: dict[str, Any]) -> bool:
    """The kept session ended before this copy of it: update it and drop its
    attendances (the caller inserts this copy's). The row is locked first, so
    of two processes keeping the same later copy one replaces, one finds it done."""
    mine = sessions.c.room_id == row["room_id"]
    kept = await conn.scalar(sa.select(sessions.c.ended_at).where(mine).with_for_update())
    if kept is None or kept >= row["ended_at"]:
        return False
    await conn.execute(sessions.update().where(mine).values(
        {k: v for k, v in row.items() if k != "room_id"}
    ))
    await conn.execute(attendances.delete().where(attendances.c.room_id == row["room_id"]))
    return True


async def _insert_if_absent(conn: AsyncConnection, row: dict[str, Any]) -> bool:
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(sessions).values(row).on_conflict_do_nothing()
    result = await conn.execute(statement)
    return bool(result.rowcount)
