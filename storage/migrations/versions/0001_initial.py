"""Initial schema: projects, voices with clips and speaker embeddings, takes with lineage.

Written by hand to match storage/models.py (checked by tests/integration/test_migrations.py).
Deliberately self-contained: it must keep describing *this* schema after the models move on.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_projects"),
        sa.UniqueConstraint("name", name="uq_projects_name"),
    )
    op.create_table(
        "voices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=32), nullable=False),
        sa.Column("consent_statement", sa.Text(), nullable=False),
        sa.Column("consent_by", sa.String(length=200), nullable=False),
        _timestamp("consent_at"),
        _timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_voices_project_id_projects", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_voices"),
        sa.UniqueConstraint("project_id", "name", name="uq_voices_project_id_name"),
    )
    op.create_table(
        "voice_clips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("voice_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("audio_sha", sa.String(length=64), nullable=False),
        sa.Column("sample_rate", sa.Integer(), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("source_name", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["voice_id"], ["voices.id"], name="fk_voice_clips_voice_id_voices", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_voice_clips"),
        sa.UniqueConstraint("voice_id", "position", name="uq_voice_clips_voice_id_position"),
    )
    op.create_table(
        "speaker_embeddings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("voice_id", sa.Integer(), nullable=False),
        sa.Column("encoder", sa.String(length=100), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["voice_id"], ["voices.id"], name="fk_speaker_embeddings_voice_id_voices", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_speaker_embeddings"),
        sa.UniqueConstraint("voice_id", "encoder", name="uq_speaker_embeddings_voice_id_encoder"),
    )
    op.create_table(
        "takes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("voice_id", sa.Integer(), nullable=True),
        sa.Column("engine_id", sa.String(length=100), nullable=True),
        sa.Column("engine_revision", sa.String(length=100), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("audio_sha", sa.String(length=64), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("sample_rate", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        sa.Column("starred", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_takes_project_id_projects", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["voice_id"], ["voices.id"], name="fk_takes_voice_id_voices", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["takes.id"], name="fk_takes_parent_id_takes", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_takes"),
    )
    op.create_index("ix_takes_project_created", "takes", ["project_id", "created_at", "id"])
    op.create_index(
        "ix_takes_voice_project_created", "takes", ["voice_id", "project_id", "created_at", "id"]
    )
    op.create_index(
        "ix_takes_project_kind_created", "takes", ["project_id", "kind", "created_at", "id"]
    )
    op.create_index(
        "ix_takes_project_starred_created", "takes", ["project_id", "starred", "created_at", "id"]
    )
    op.create_index("ix_takes_parent_id", "takes", ["parent_id"])


def downgrade() -> None:
    op.drop_table("takes")  # its indexes go with it
    op.drop_table("speaker_embeddings")
    op.drop_table("voice_clips")
    op.drop_table("voices")
    op.drop_table("projects")
