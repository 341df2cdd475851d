"""Voice matches: the closest built-in speaker of a fixed-voice engine for each voice, found once.

Written by hand to match storage/models.py (checked by tests/integration/test_migrations.py).
Only adds a table; existing rows are untouched. The rows are derived data (recomputed when missing), so an
archive does not carry them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voice_matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("voice_id", sa.Integer(), nullable=False),
        sa.Column("engine_key", sa.String(length=300), nullable=False),
        sa.Column("speaker", sa.String(length=200), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["voice_id"], ["voices.id"], name="fk_voice_matches_voice_id_voices", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_voice_matches"),
        sa.UniqueConstraint("voice_id", "engine_key", name="uq_voice_matches_voice_id_engine_key"),
    )


def downgrade() -> None:
    op.drop_table("voice_matches")
