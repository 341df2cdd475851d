"""Narration scripts: scripts, their segments (lines), the takes made for each segment, and a per-project
lexicon of respellings.

Written by hand to match storage/models.py (checked by tests/integration/test_migrations.py). Only adds
tables, so existing rows are untouched; the new tables get AUTOINCREMENT (ids never reused, as 0004).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "scripts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source_format", sa.String(length=16), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_scripts_project_id_projects", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_scripts"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_scripts_project_id", "scripts", ["project_id"])
    op.create_table(
        "script_segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("script_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("section", sa.String(length=300), nullable=True),
        sa.Column("speaker", sa.String(length=100), nullable=True),
        sa.Column("voice_id", sa.Integer(), nullable=True),
        sa.Column("engine_id", sa.String(length=100), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("pause_after_s", sa.Float(), nullable=False),
        sa.Column("chosen_take_id", sa.Integer(), nullable=True),
        sa.Column("locked", sa.Boolean(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["script_id"], ["scripts.id"], name="fk_script_segments_script_id_scripts", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["voice_id"], ["voices.id"], name="fk_script_segments_voice_id_voices", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["chosen_take_id"], ["takes.id"], name="fk_script_segments_chosen_take_id_takes",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_script_segments"),
        sa.UniqueConstraint("script_id", "position", name="uq_script_segments_script_id_position"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_script_segments_voice_id", "script_segments", ["voice_id"])
    op.create_index("ix_script_segments_chosen_take_id", "script_segments", ["chosen_take_id"])
    op.create_table(
        "segment_takes",
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("take_id", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=128), nullable=False),
        _timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["segment_id"], ["script_segments.id"], name="fk_segment_takes_segment_id_script_segments",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["take_id"], ["takes.id"], name="fk_segment_takes_take_id_takes", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("segment_id", "take_id", name="pk_segment_takes"),
    )
    op.create_index("ix_segment_takes_take_id", "segment_takes", ["take_id"])
    op.create_table(
        "lexicon_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("word", sa.String(length=100), nullable=False),
        sa.Column("word_key", sa.String(length=100), nullable=False),
        sa.Column("respelling", sa.String(length=200), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_lexicon_entries_project_id_projects", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_lexicon_entries"),
        sa.UniqueConstraint("project_id", "word_key", name="uq_lexicon_entries_project_id_word_key"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("lexicon_entries")
    op.drop_table("segment_takes")  # indexes go with their tables
    op.drop_table("script_segments")
    op.drop_table("scripts")
