"""Take transcripts: the words of a take with their timings, for editing by text.

Written by hand to match storage/models.py (checked by tests/integration/test_migrations.py).
Only adds a table, so existing rows are untouched and no batch copy of `takes` is needed.

Revision ID: 0002
Revises: 0001
Create Date: 2025-06-01
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "take_transcripts",
        sa.Column("take_id", sa.Integer(), nullable=False),
        sa.Column("engine_id", sa.String(length=100), nullable=True),
        sa.Column("language", sa.String(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["take_id"], ["takes.id"], name="fk_take_transcripts_take_id_takes", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("take_id", name="pk_take_transcripts"),
    )


def downgrade() -> None:
    op.drop_table("take_transcripts")
