"""People, groups and archived sessions.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "groups",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("program", sa.JSON, nullable=True),
        sa.Column("schedule", sa.JSON, nullable=True),
        sa.Column("invite", sa.String(64), nullable=False),
        sa.Column("mentor_key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("live_room_id", sa.String(32), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_groups_visibility_created", "groups", ["visibility", "created_at", "id"])
    op.create_table(
        "group_members",
        sa.Column("group_id", sa.String(32), sa.ForeignKey("groups.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("person_id", sa.String(32), sa.ForeignKey("people.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("board_opt_in", sa.Boolean, nullable=False),
        sa.Column("mentor_key_sealed", sa.String(64), nullable=True),
        sa.Column("joined_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_group_members_person", "group_members", ["person_id"])
    op.create_table(
        "sessions",
        sa.Column("room_id", sa.String(32), primary_key=True),
        sa.Column("group_id", sa.String(32), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("started_at", sa.BigInteger, nullable=False),
        sa.Column("ended_at", sa.BigInteger, nullable=False),
        sa.Column("archived_at", sa.BigInteger, nullable=False),
        sa.Column("present", sa.Integer, nullable=False),
        sa.Column("notes", sa.JSON, nullable=False),
    )
    op.create_index("ix_sessions_group_started", "sessions", ["group_id", "started_at", "room_id"])
    op.create_table(
        "attendances",
        sa.Column("room_id", sa.String(32),
                  sa.ForeignKey("sessions.room_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("person_id", sa.String(32), sa.ForeignKey("people.id", ondelete="CASCADE"),
                  primary_key=True),
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
    )
    op.create_index(
        "ix_attendances_person_started", "attendances", ["person_id", "started_at", "room_id"]
    )


def downgrade() -> None:
    op.drop_table("attendances")
    op.drop_table("sessions")
    op.drop_table("group_members")
    op.drop_table("groups")
    op.drop_table("people")
