"""Standing groups: their people and roles, board opt-ins, and their sessions.

The mentor key is kept as its sha256. Each mentor also keeps a copy sealed
with their own person key (`ensemble.store.sealing`): the database alone
reveals neither, and a mentor who shows their person key gets the group's
mentor key back to share it.
"""

from __future__ import annotations

import hmac
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ensemble.core.errors import Conflict, NotFound
from ensemble.core.room import hash_secret
from ensemble.store.archive import parse_position, position
from ensemble.store.sealing import seal
from ensemble.store.tables import attendances, group_members, groups, people, sessions

MAX_MEMBERS = 500  # people in one group
MENTOR = "mentor"


class Groups:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(
        self, group: dict[str, Any], mentor_key: str, creator_id: str, creator_key: str, now: int
    ) -> None:
        """A new group, with its creator as its first mentor."""
        async with self.engine.begin() as conn:
            await conn.execute(groups.insert().values(
                **group, mentor_key_hash=hash_secret(mentor_key), created_at=now
            ))
            await conn.execute(group_members.insert().values(
                group_id=group["id"], person_id=creator_id, role=MENTOR, board_opt_in=False,
                mentor_key_sealed=seal(mentor_key, creator_key, group["id"], creator_id),
                joined_at=now,
            ))

    async def get(self, group_id: str) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(groups).where(groups.c.id == group_id))).first()
        return None if row is None else dict(row._mapping)

    async def update(self, group_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        """Change some of a group's settings (name, visibility, program, schedule);
        the group as it is now, or None when there is no such group."""
        if changes:
            async with self.engine.begin() as conn:
                await conn.execute(groups.update().where(groups.c.id == group_id).values(**changes))
        return await self.get(group_id)

    async def leave(self, group_id: str, person_id: str) -> None:
        """Take a person out of the group (their own kept sessions stay theirs).

        NotFound when they are not in it; Conflict for its last mentor, who
        would leave the group with nobody to run it."""
        async with self.engine.begin() as conn:
            # Leaves of one group one after another (PostgreSQL; SQLite has one
            # writer): two last-but-one mentors cannot both go.
            await conn.execute(
                sa.select(groups.c.id).where(groups.c.id == group_id).with_for_update()
            )
            mine = (group_members.c.group_id == group_id) & (group_members.c.person_id == person_id)
            role = await conn.scalar(sa.select(group_members.c.role).where(mine))
            if role is None:
                raise NotFound("you are not in this group")
            await conn.execute(group_members.delete().where(mine))
            if role == MENTOR:
                mentors = await conn.scalar(sa.select(sa.func.count()).where(
                    group_members.c.group_id == group_id, group_members.c.role == MENTOR
                ))
                if not mentors:
                    raise Conflict(
                        "you are the group's last mentor: make someone else a mentor first "
                        "(share the mentor link), or the group would have no mentor"
                    )

    @staticmethod
    def mentor_key_matches(group: dict[str, Any], mentor_key: str) -> bool:
        return hmac.compare_digest(hash_secret(mentor_key), group["mentor_key_hash"])

    async def membership(self, group_id: str, person_id: str) -> dict[str, Any] | None:
        query = sa.select(group_members).where(
            group_members.c.group_id == group_id, group_members.c.person_id == person_id
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else dict(row._mapping)

    async def role_of(self, group_id: str, person_id: str) -> str | None:
        member = await self.membership(group_id, person_id)
        return None if member is None else str(member["role"])

    async def join(
        self, group_id: str, person_id: str, role: str, now: int, sealed: str | None = None
    ) -> str:
        """Add a person (or raise them to mentor); returns their role now.

        A mentor who joins with the mentor key again gets their sealed copy
        replaced (say, one that no longer opens)."""
        async with self.engine.begin() as conn:
            query = sa.select(group_members.c.role).where(
                group_members.c.group_id == group_id, group_members.c.person_id == person_id
            )
            current = await conn.scalar(query)
            if current is None:
                count = await conn.scalar(
                    sa.select(sa.func.count()).where(group_members.c.group_id == group_id)
                )
                if (count or 0) >= MAX_MEMBERS:
                    raise Conflict(f"the group is full ({MAX_MEMBERS} people)")
                await conn.execute(group_members.insert().values(
                    group_id=group_id, person_id=person_id, role=role, board_opt_in=False,
                    mentor_key_sealed=sealed, joined_at=now,
                ))
                return role
            if role == MENTOR:  # raised, or a mentor's copy sealed afresh
                await conn.execute(
                    group_members.update()
                    .where(group_members.c.group_id == group_id,
                           group_members.c.person_id == person_id)
                    .values(role=MENTOR, mentor_key_sealed=sealed)
                )
                return MENTOR
            return str(current)

    async def members(self, group_id: str) -> list[dict[str, Any]]:
        """Everyone in the group, oldest first, with their names and board opt-in."""
        query = (
            sa.select(group_members.c.person_id, people.c.name, people.c.tz, group_members.c.role,
                      group_members.c.board_opt_in)
            .join(people, people.c.id == group_members.c.person_id)
            .where(group_members.c.group_id == group_id)
            .order_by(group_members.c.joined_at, group_members.c.person_id)
        )
        async with self.engine.connect() as conn:
            return [dict(r) for r in (await conn.execute(query)).mappings().all()]

    async def set_board(self, group_id: str, person_id: str, opt_in: bool) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                group_members.update()
                .where(group_members.c.group_id == group_id,
                       group_members.c.person_id == person_id)
                .values(board_opt_in=opt_in)
            )

    async def set_live_room(self, group_id: str, room_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                groups.update().where(groups.c.id == group_id).values(live_room_id=room_id)
            )

    async def public(
        self, limit: int, after: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Public groups, oldest first, with their member counts."""
        count = (
            sa.select(sa.func.count())
            .where(group_members.c.group_id == groups.c.id)
            .scalar_subquery()
        )
        query = sa.select(groups, count.label("members")).where(groups.c.visibility == "public")
        if after:
            created_at, group_id = parse_position(after)
            query = query.where(
                sa.tuple_(groups.c.created_at, groups.c.id)
                > sa.tuple_(sa.literal(created_at), sa.literal(group_id))
            )
        query = query.order_by(groups.c.created_at, groups.c.id).limit(limit + 1)
        async with self.engine.connect() as conn:
            rows = [dict(r) for r in (await conn.execute(query)).mappings().all()]
        page = rows[:limit]
        following = None
        if len(rows) > limit:
            following = position(page[-1]["created_at"], page[-1]["id"])
        return page, following

    async def sessions(
        self, group_id: str, limit: int, after: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The group's kept sessions, newest first."""
        query = sa.select(sessions).where(sessions.c.group_id == group_id)
        if after:
            started_at, room_id = parse_position(after)
            query = query.where(
                sa.tuple_(sessions.c.started_at, sessions.c.room_id)
                < sa.tuple_(sa.literal(started_at), sa.literal(room_id))
            )
        query = query.order_by(sessions.c.started_at.desc(), sessions.c.room_id.desc())
        async with self.engine.connect() as conn:
            rows = [dict(r) for r in (await conn.execute(query.limit(limit + 1))).mappings()]
        page = rows[:limit]
        following = None
        if len(rows) > limit:
            following = position(page[-1]["started_at"], page[-1]["room_id"])
        return page, following

    async def history_of(
        self, person_ids: list[str], since: int | None = None, group_id: str | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """For streaks and the board: each person's kept sessions, compactly."""
        if not person_ids:
            return {}
        query = sa.select(
            attendances.c.person_id, attendances.c.started_at, attendances.c.present_ms,
            attendances.c.focus_ms, attendances.c.goals, attendances.c.group_id,
        ).where(attendances.c.person_id.in_(person_ids))  # fmt: skip
        if since is not None:
            query = query.where(attendances.c.started_at >= since)
        if group_id is not None:
            query = query.where(attendances.c.group_id == group_id)
        result: dict[str, list[dict[str, Any]]] = {p: [] for p in person_ids}
        async with self.engine.connect() as conn:
            for row in (await conn.execute(query)).mappings():
                result[row["person_id"]].append(dict(row))
        return result
