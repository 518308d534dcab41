"""The database's tables (SQLAlchemy Core). Times are epoch milliseconds.

Secrets (person keys, group mentor keys) are kept as sha256 hex digests only.
A session's per-person record keeps what that person's history shows; the
private parts are filtered on the way out (see `store.archive`).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

people = sa.Table(
    "people",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("tz", sa.String(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

groups = sa.Table(
    "groups",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("visibility", sa.String(16), nullable=False),
    sa.Column("program", sa.JSON, nullable=True),
    sa.Column("schedule", sa.JSON, nullable=True),
    sa.Column("invite", sa.String(64), nullable=False),
    sa.Column("mentor_key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("live_room_id", sa.String(32), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_groups_visibility_created", "visibility", "created_at", "id"),
)

group_members = sa.Table(
    "group_members",
    metadata,
    sa.Column(
        "group_id", sa.String(32), sa.ForeignKey("groups.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "person_id", sa.String(32), sa.ForeignKey("people.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("board_opt_in", sa.Boolean, nullable=False, default=False),
    # A mentor's copy of the group's mentor key, sealed with their own person
    # key (which the database does not hold): shown back only to them.
    sa.Column("mentor_key_sealed", sa.String(64), nullable=True),
    sa.Column("joined_at", sa.BigInteger, nullable=False),
    sa.Index("ix_group_members_person", "person_id"),
)

# One row per archived room: its primary key makes archiving idempotent.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("room_id", sa.String(32), primary_key=True),
    sa.Column("group_id", sa.String(32), nullable=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("started_at", sa.BigInteger, nullable=False),
    sa.Column("ended_at", sa.BigInteger, nullable=False),
    sa.Column("archived_at", sa.BigInteger, nullable=False),
    sa.Column("present", sa.Integer, nullable=False),
    sa.Column("notes", sa.JSON, nullable=False),  # mentors-only notes: mentors read them
    sa.Index("ix_sessions_group_started", "group_id", "started_at", "room_id"),
)

# What one person did and received in one session.
attendances = sa.Table(
    "attendances",
    metadata,
    sa.Column(
        "room_id", sa.String(32), sa.ForeignKey("sessions.room_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "person_id", sa.String(32), sa.ForeignKey("people.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("group_id", sa.String(32), nullable=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("started_at", sa.BigInteger, nullable=False),
    sa.Column("ended_at", sa.BigInteger, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("present_ms", sa.BigInteger, nullable=False),
    sa.Column("focus_ms", sa.BigInteger, nullable=False),
    sa.Column("goals", sa.JSON, nullable=False),
    sa.Column("turns", sa.JSON, nullable=False),
    sa.Column("feedback", sa.JSON, nullable=False),
    sa.Column("reactions", sa.JSON, nullable=False),
    sa.Index("ix_attendances_person_started", "person_id", "started_at", "room_id"),
)
