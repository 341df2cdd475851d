"""Ids are never reused: projects, voices and takes get SQLite's AUTOINCREMENT.

Without it SQLite gives a new row the largest id + 1, so deleting the newest take (or voice, or project) and
then making another handed the deleted one's id to the new row: an API caller or an open browser tab still
holding that id reached the wrong take, and a take's lineage notes ("made from take #42") pointed at a
stranger. AUTOINCREMENT can only be set by rebuilding the table (batch mode copies it, keeping every row,
index and constraint; migrate() turns foreign keys off meanwhile). The copy leaves SQLite's sequence at the
largest id kept. PostgreSQL's sequences never reuse ids, so there is nothing to do there.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("projects", "voices", "takes")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always",
                                  table_kwargs={"sqlite_autoincrement": autoincrement}):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
