"""Alembic migrations against real SQLite files: the migrated schema is exactly the ORM's, the
connection PRAGMAs are in effect, re-opening a database changes nothing, and a database written by
an older Retake upgrades with its data intact."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, Table, event, inspect, text
from sqlalchemy.exc import IntegrityError

from storage import NotFoundError, Store
from storage.database import alembic_config, create_engine_for, current_revision, downgrade, head_revision, migrate
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
    assert {"projects", "voices", "voice_clips", "speaker_embeddings", "takes", "take_transcripts",
            "alembic_version"} <= tables


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
        assert current_revision(conn) == head_revision() == "0006"
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == ["0006"]


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
    """Every revision's downgrade works, all the way back to an empty database."""
    migrate(engine)
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version", "sqlite_sequence"}
    migrate(engine)
    assert schema_diff(engine, Base.metadata) == []


# ---------------------------------------------------------------- upgrading older databases

OLD_TABLES = ("projects", "voices", "voice_clips", "speaker_embeddings", "takes")


def at_revision(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


def fill_0001(engine: Engine) -> None:
    """Rows as Retake wrote them at revision 0001, in raw SQL so the test keeps describing that
    schema however the models change later."""
    stamp = "2025-01-02 03:04:05.678901"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO projects (id, name, created_at) VALUES (1, 'Audiobook', :t)"), {"t": stamp})
        conn.execute(text(
            "INSERT INTO voices (id, project_id, name, language, consent_statement, consent_by, consent_at, "
            "created_at) VALUES (1, 1, 'Ann', 'en', 'I agree.', 'Ann', :t, :t)"), {"t": stamp})
        conn.execute(text(
            "INSERT INTO voice_clips (id, voice_id, position, audio_sha, sample_rate, duration, transcript, "
            "source_name) VALUES (1, 1, 0, :sha, 24000, 1.5, 'hello', 'ann.flac')"), {"sha": "a" * 64})
        conn.execute(text(
            "INSERT INTO speaker_embeddings (id, voice_id, encoder, dim, vector, updated_at) "
            "VALUES (1, 1, 'ecapa', 2, :v, :t)"), {"v": b"\x00" * 8, "t": stamp})
        for take_id, parent in [(1, None), (2, 1), (3, 1)]:
            conn.execute(text(
                "INSERT INTO takes (id, project_id, kind, text, voice_id, engine_id, engine_revision, parameters, "
                "seed, parent_id, scores, audio_sha, duration, sample_rate, created_at, starred) VALUES "
                "(:id, 1, 'tts', 'Chapter one.', 1, 'kokoro', 'r1', '{\"speed\": 1.0}', 7, :parent, "
                "'{\"wer\": 0.0}', :sha, 0.75, 24000, :t, 0)"),
                {"id": take_id, "parent": parent, "sha": "b" * 64, "t": f"2025-01-02 03:04:0{take_id}.000000"})


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY id"))] for t in OLD_TABLES}


def test_upgrade_from_0001_keeps_data_and_adds_transcripts(engine: Engine, tmp_path: Path) -> None:
    at_revision(engine, "0001")
    fill_0001(engine)
    before = snapshot(engine)
    assert "take_transcripts" not in inspect(engine).get_table_names()
    assert sum(map(len, before.values())) == 7

    migrate(engine)
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
    assert snapshot(engine) == before  # every old row, byte for byte
    assert schema_diff(engine, Base.metadata) == []
    engine.dispose()

    with Store(sqlite_url(tmp_path / "retake.db"), tmp_path / "blobs") as store:  # the old data works
        assert store.get_take(1).parameters == {"speed": 1.0}
        assert [t.id for t in store.take_children(1)] == [2, 3]
        assert store.get_transcript(1) is None
        words = [("Chapter", 0.0, 0.4, 0.9), ("one.", 0.45, 0.7, 0.8)]
        saved = store.set_transcript(2, text="Chapter one.", words=words, engine_id="whisper-base-embedded",
                                     language="en")
        assert store.get_transcript(2) == saved
        store.delete_take(2)  # the new table's ON DELETE CASCADE is in force on upgraded files too
        with pytest.raises(NotFoundError):
            store.get_transcript(2)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM take_transcripts")).scalar() == 0


def test_downgrade_to_0001_drops_only_transcripts(engine: Engine, tmp_path: Path) -> None:
    at_revision(engine, "0001")
    fill_0001(engine)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO take_transcripts (take_id, text, words, created_at) "
                          "VALUES (1, 'x', '[]', '2025-01-02 03:04:05.000000')"))
        conn.execute(text("INSERT INTO voice_matches (voice_id, engine_key, speaker, similarity, updated_at) "
                          "VALUES (1, 'kokoro@1', 'af_heart', 0.7, '2025-01-02 03:04:05.000000')"))
    before = snapshot(engine)
    downgrade(engine, "0001")
    with engine.connect() as conn:
        assert current_revision(conn) == "0001"
    assert not {"take_transcripts", "voice_matches"} & set(inspect(engine).get_table_names())
    assert snapshot(engine) == before  # the rebuilt tables kept every row: no DROP cascaded


def newest_gone_then_new(store: Store, project_id: int) -> tuple[int, int]:
    """Delete the project's newest take, make another: (deleted id, new id)."""
    from storage import NewTake

    def new_take() -> int:
        return store.add_take(project_id, NewTake(kind="recording", audio=b"RIFF", sample_rate=16000,
                                                  duration=0.1)).id

    gone = new_take()
    store.delete_take(gone)
    return gone, new_take()


def test_ids_of_deleted_rows_are_never_handed_out_again(tmp_path: Path) -> None:
    """A caller still holding the id of the deleted newest take (or voice, or project) must get "not found",
    not the next thing made. SQLite reused them before 0004 (largest id + 1)."""
    with Store(sqlite_url(tmp_path / "retake.db"), tmp_path / "blobs") as store:
        project = store.create_project("First")
        gone, new = newest_gone_then_new(store, project.id)
        assert new > gone
        with pytest.raises(NotFoundError):
            store.get_take(gone)
        later = store.create_project("Second")
        store.delete_project(later.id)
        assert store.create_project("Third").id > later.id


def test_upgrade_to_0004_keeps_rows_and_stops_id_reuse(engine: Engine, tmp_path: Path) -> None:
    at_revision(engine, "0001")
    fill_0001(engine)
    before = snapshot(engine)
    migrate(engine)
    assert snapshot(engine) == before
    assert schema_diff(engine, Base.metadata) == []
    engine.dispose()
    with Store(sqlite_url(tmp_path / "retake.db"), tmp_path / "blobs") as store:
        assert [t.id for t in store.take_children(1)] == [2, 3]  # lineage survived the rebuild
        gone, new = newest_gone_then_new(store, 1)
        assert gone == 4 and new == 5


def test_downgrade_to_0004_drops_only_the_script_tables(engine: Engine) -> None:
    at_revision(engine, "0001")
    fill_0001(engine)
    migrate(engine)
    stamp = "2025-01-02 03:04:05.000000"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO scripts (id, project_id, name, source_format, settings, created_at, updated_at) "
                          "VALUES (1, 1, 'Ch 1', 'text', '{}', :t, :t)"), {"t": stamp})
        conn.execute(text("INSERT INTO script_segments (id, script_id, position, voice_id, text, pause_after_s, "
                          "chosen_take_id, locked, created_at, updated_at) VALUES (1, 1, 0, 1, 'One.', 0.5, 1, 0, "
                          ":t, :t)"), {"t": stamp})
        conn.execute(text("INSERT INTO segment_takes (segment_id, take_id, content_hash, created_at) "
                          "VALUES (1, 1, 'h', :t)"), {"t": stamp})
    before = snapshot(engine)
    downgrade(engine, "0004")
    new_tables = {"scripts", "script_segments", "segment_takes", "lexicon_entries"}
    assert not new_tables & set(inspect(engine).get_table_names())
    assert snapshot(engine) == before
    migrate(engine)
    assert schema_diff(engine, Base.metadata) == []
