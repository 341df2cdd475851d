"""Alembic migrations against real SQLite files: the migrated schema is exactly the ORM's, the
connection PRAGMAs are in effect, and re-opening a database changes nothing."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, Table, event, inspect, text
from sqlalchemy.exc import IntegrityError

from storage import Store
from storage.database import create_engine_for, current_revision, head_revision, migrate
from storage.models import Base


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(sqlite_url(tmp_path / "retake.db"))
    yield engine
    engine.dispose()


def schema_diff(engine: Engine, metadata: MetaData) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, metadata)


def test_empty_file_migrates_to_exactly_the_models(engine: Engine) -> None:
    migrate(engine)
    assert schema_diff(engine, Base.metadata) == []
    tables = set(inspect(engine).get_table_names())
    assert {"projects", "voices", "voice_clips", "speaker_embeddings", "takes", "alembic_version"} <= tables


def test_schema_comparison_does_notice_differences(engine: Engine) -> None:
    """Guard for the test above: compare_metadata must report a column the database lacks."""
    migrate(engine)
    extra = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(extra)
    Table("takes", extra, Column("loudness", Integer), extend_existing=True)
    diff = schema_diff(engine, extra)
    assert any(d[0] == "add_column" and d[3].name == "loudness" for d in diff)


def test_version_is_head(engine: Engine) -> None:
    with engine.connect() as conn:
        assert current_revision(conn) is None
    migrate(engine)
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision() == "0001"
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == ["0001"]


def test_pragmas_on_every_new_connection(engine: Engine) -> None:
    migrate(engine)
    engine.dispose()  # make sure the next connection is a brand-new one
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert (conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) > 0
    raw = engine.raw_connection()  # a second pooled connection gets them too
    try:
        cursor = raw.cursor()
        assert cursor.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert cursor.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    finally:
        raw.close()


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    migrate(engine)
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO voices (project_id, name, language, consent_statement, consent_by, "
                "consent_at, created_at) VALUES (999, 'x', 'en', 's', 'b', '2025-01-01', '2025-01-01')"
            ))


def test_reopening_is_a_no_op_upgrade(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store.open(data) as store:
        project = store.create_project("Keep me")
    engine = create_engine_for(sqlite_url(data / "retake.db"))
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def record(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement.strip().split()[0].upper())

    try:
        migrate(engine)
        assert statements, "the listener saw nothing; the check below would prove nothing"
        assert not {"CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE"} & set(statements)
        with engine.connect() as conn:
            assert current_revision(conn) == head_revision()
    finally:
        engine.dispose()
    with Store.open(data) as store:  # and the Store itself opens it again without trouble
        assert store.get_project(project.id) == project


def test_migrate_accepts_a_url(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "by_url.db")
    migrate(url)
    engine = create_engine_for(url)
    try:
        assert schema_diff(engine, Base.metadata) == []
    finally:
        engine.dispose()


def test_downgrade_then_upgrade_round_trips(engine: Engine) -> None:
    """The initial revision's downgrade works, so later revisions can be tested the same way."""
    from alembic import command

    from storage.database import alembic_config

    migrate(engine)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    migrate(engine)
    assert schema_diff(engine, Base.metadata) == []
