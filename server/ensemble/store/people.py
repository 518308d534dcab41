"""People: a lasting identity reached by a personal key (kept hashed)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ensemble.core.room import hash_secret
from ensemble.store.tables import attendances, group_members, groups, people


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    tz: str
    created_at: int

    @classmethod
    def from_row(cls, row: Any) -> Person:
        return cls(row.id, row.name, row.tz, row.created_at)


class People:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(self, person_id: str, key: str, name: str, tz: str, now: int) -> Person:
        async with self.engine.begin() as conn:
            await conn.execute(
                people.insert().values(
                    id=person_id, key_hash=hash_secret(key), name=name, tz=tz, created_at=now
                )
            )
        return Person(person_id, name, tz, now)

    async def by_key(self, key: str) -> Person | None:
        """The person whose key this is, or None. The lookup is by the key's
        sha256; the stored digest is then compared in constant time."""
        digest = hash_secret(key)
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(people).where(people.c.key_hash == digest))).first()
        if row is None or not hmac.compare_digest(row.key_hash, digest):
            return None
        return Person.from_row(row)

    async def get(self, person_id: str) -> Person | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(people).where(people.c.id == person_id))).first()
        return None if row is None else Person.from_row(row)

    async def update(self, person_id: str, **changes: str | None) -> Person | None:
        values = {k: v for k, v in changes.items() if k in ("name", "tz") and v is not None}
        async with self.engine.begin() as conn:
            if values:
                await conn.execute(people.update().where(people.c.id == person_id).values(values))
            row = (await conn.execute(sa.select(people).where(people.c.id == person_id))).first()
        return None if row is None else Person.from_row(row)

    async def groups_of(self, person_id: str) -> list[dict[str, Any]]:
        """The groups a person is in, with their role, oldest membership first."""
        query = (
            sa.select(groups.c.id.label("group_id"), groups.c.name, group_members.c.role)
            .join(group_members, group_members.c.group_id == groups.c.id)
            .where(group_members.c.person_id == person_id)
            .order_by(group_members.c.joined_at, groups.c.id)
        )
        async with self.engine.connect() as conn:
            return [dict(r) for r in (await conn.execute(query)).mappings().all()]

    async def delete(self, person_id: str) -> None:
        """The person, their group memberships and their history, in one transaction."""
        async with self.engine.begin() as conn:
            await conn.execute(attendances.delete().where(attendances.c.person_id == person_id))
            await conn.execute(group_members.delete().where(group_members.c.person_id == person_id))
            await conn.execute(people.delete().where(people.c.id == person_id))
