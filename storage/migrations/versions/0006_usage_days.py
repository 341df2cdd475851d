"""Usage days: the characters spoken each day, which per-user quotas count (studio/quotas.py).

Written by hand to match storage/models.py (checked by tests/integration/test_migrations.py). Only adds a
table; existing rows are untouched. Usage is about this server's users, so an archive does not carry it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "usage_days",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("characters", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_usage_days"),
    )


def downgrade() -> None:
    op.drop_table("usage_days")
