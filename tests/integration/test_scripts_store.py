"""Narration scripts in the project store (issue #15), on a real SQLite file: scripts, segments kept in
contiguous positions through every edit, takes linked to segments, locks, the lexicon, cascades, the 0005
migration of a database with data, and scripts carried through a project archive."""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from storage import (
    Consent,
    NewClip,
    NewSegment,
    NewTake,
    NewTranscript,
    NotFoundError,
    Project,
    Script,
    ScriptSegment,
    Store,
    Voice,
)
from storage.database import create_engine_for, current_revision, downgrade, head_revision, migrate
from storage.models import Base

CONSENT = Consent("I agree to have my voice cloned.", "Ann Example", datetime(2025, 2, 3, tzinfo=UTC))


class TickingClock:
    """Times that advance a millisecond a call, so "newest first" is tested without sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "data", clock=TickingClock()) as s:
        yield s


@pytest.fixture
def project(store: Store) -> Project:
    return store.create_project("Audiobook")


def voice(store: Store, project_id: int, name: str = "Ann") -> Voice:
    return store.create_voice(project_id, name, "en", [NewClip(os.urandom(2000), 24000, 1.5, "hi")], CONSENT)


def new_take(**fields: object) -> NewTake:
    spec: dict[str, object] = {"kind": "script", "audio": os.urandom(1500), "sample_rate": 24000, "duration": 1.0}
    spec.update(fields)
    return NewTake(**spec)  # type: ignore[arg-type]


def lines(*texts: str, **fields: object) -> list[NewSegment]:
    return [NewSegment(text=t, **fields) for t in texts]  # type: ignore[arg-type]


def make_script(store: Store, project_id: int, *texts: str, **fields: object) -> Script:
    return store.create_script(project_id, "Chapter 1", "markdown", lines(*texts, **fields), {"pause_s": 0.4})


def texts(store: Store, script_id: int) -> list[str]:
    segments = store.list_segments(script_id)
    assert [s.position for s in segments] == list(range(len(segments)))  # contiguous, 0-based
    return [s.text for s in segments]


def blob_files(store: Store) -> set[Path]:
    return {p for p in store.blobs.root.rglob("*") if p.is_file()}


def take_count(store: Store, project_id: int) -> int:
    return store.count_takes(project_id)


# ---------------------------------------------------------------- scripts


def test_create_get_list_rename_settings_delete(store: Store, project: Project) -> None:
    ann = voice(store, project.id)
    script = store.create_script(project.id, "  Chapter 1 ", "markdown", [
        NewSegment(text="  Once upon a time. ", section="Chapter 1", speaker="NARRATOR", voice_id=ann.id,
                   engine_id="kokoro", pause_after_s=0.5),
        NewSegment(text="Hello!", speaker="ANN", section="  "),
    ], {"pause_s": 0.4, "target": "acx", "engine_id": "kokoro"})
    assert (script.name, script.source_format, script.project_id) == ("Chapter 1", "markdown", project.id)
    assert script.settings == {"pause_s": 0.4, "target": "acx", "engine_id": "kokoro"}
    assert store.get_script(script.id) == script
    first, second = store.list_segments(script.id)
    assert (first.text, first.section, first.speaker, first.voice_id, first.engine_id, first.pause_after_s) == (
        "Once upon a time.", "Chapter 1", "NARRATOR", ann.id, "kokoro", 0.5)
    assert (second.section, second.voice_id, second.chosen_take_id, second.take_hash, second.locked) == (
        None, None, None, None, False)
    assert store.get_segment(second.id) == second

    other = store.create_script(project.id, "appendix", "srt", lines("x"), {})
    assert [s.name for s in store.list_scripts(project.id)] == ["appendix", "Chapter 1"]
    renamed = store.rename_script(script.id, "Chapter One")
    assert renamed.name == "Chapter One" and renamed.updated_at > script.updated_at
    assert store.set_script_settings(script.id, {"pause_s": 1}).settings == {"pause_s": 1}
    take = store.add_segment_take(first.id, new_take(), "h1")
    store.delete_script(script.id)
    assert [s.id for s in store.list_scripts(project.id)] == [other.id]
    assert store.get_take(take.id) == take  # the take is the project's; only the link went
    for call in (lambda: store.get_script(script.id), lambda: store.list_segments(script.id),
                 lambda: store.get_segment(first.id), lambda: store.delete_script(script.id)):
        with pytest.raises(NotFoundError, match=f"(script {script.id}|segment {first.id}) not found"):
            call()


@pytest.mark.parametrize(("segments", "message"), [
    ([], "at least one segment"),
    (lines(*["x"] * 2001), "at most 2000 segments"),
    (lines("fine", "   "), "segment 2: segment text must not be blank"),
    (lines("x" * 5001), "at most 5000"),
    ([NewSegment(text="x", pause_after_s=-1)], "from 0 to 60"),
    ([NewSegment(text="x", pause_after_s=61)], "from 0 to 60"),
    ([NewSegment(text="x", speaker="S" * 101)], "speaker is longer than 100"),
    ([NewSegment(text="x", section="S" * 301)], "section is longer than 300"),
])
def test_create_script_refusals(store: Store, project: Project, segments: list[NewSegment], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        store.create_script(project.id, "S", "text", segments, {})
    assert store.list_scripts(project.id) == []


def test_create_script_other_refusals(store: Store, project: Project) -> None:
    assert len(store.list_segments(make_script(store, project.id, *["x"] * 2000).id)) == 2000
    with pytest.raises(ValueError, match="source format must be one of text, markdown, srt"):
        store.create_script(project.id, "S", "docx", lines("x"), {})
    with pytest.raises(ValueError, match="script name must not be blank"):
        store.create_script(project.id, " ", "text", lines("x"), {})
    with pytest.raises(ValueError, match="longer than 200"):
        store.create_script(project.id, "n" * 201, "text", lines("x"), {})
    with pytest.raises(ValueError, match="settings must be JSON-serializable"):
        store.create_script(project.id, "S", "text", lines("x"), {"f": object()})
    stranger = voice(store, store.create_project("Other").id)
    with pytest.raises(ValueError, match=f"voice {stranger.id} belongs to another project"):
        make_script(store, project.id, "x", voice_id=stranger.id)
    with pytest.raises(NotFoundError, match="voice 999 not found"):
        make_script(store, project.id, "x", voice_id=999)
    with pytest.raises(NotFoundError, match="project 999 not found"):
        make_script(store, 999, "x")
    assert len(store.list_scripts(project.id)) == 1


# ---------------------------------------------------------------- segments


def test_update_segment_changes_only_given_fields(store: Store, project: Project) -> None:
    ann, bea = voice(store, project.id), voice(store, project.id, "Bea")
    script = make_script(store, project.id, "One.", section="Intro", speaker="NARRATOR", voice_id=ann.id)
    seg = store.list_segments(script.id)[0]
    changed = store.update_segment(seg.id, text=" Two. ", voice_id=bea.id, pause_after_s=1.5)
    assert dataclasses.replace(changed, updated_at=seg.updated_at) == dataclasses.replace(
        seg, text="Two.", voice_id=bea.id, pause_after_s=1.5)
    cleared = store.update_segment(seg.id, voice_id=None, section=None, speaker=None, engine_id="csm")
    assert (cleared.voice_id, cleared.section, cleared.speaker, cleared.engine_id, cleared.text) == (
        None, None, None, "csm", "Two.")
    assert store.update_segment(seg.id) == cleared  # nothing given, nothing changed
    assert store.get_script(script.id).updated_at >= cleared.updated_at
    stranger = voice(store, store.create_project("Other").id)
    with pytest.raises(ValueError, match="belongs to another project"):
        store.update_segment(seg.id, voice_id=stranger.id)
    with pytest.raises(ValueError, match="must not be blank"):
        store.update_segment(seg.id, text="  ")
    with pytest.raises(ValueError, match="locked must be true or false"):
        store.update_segment(seg.id, locked=1)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="segment 999 not found"):
        store.update_segment(999, text="x")
    assert store.get_segment(seg.id) == cleared


def test_locked_segment_refuses_changes_until_unlocked(store: Store, project: Project) -> None:
    ann = voice(store, project.id)
    script = make_script(store, project.id, "One.", "Two.")
    seg, nxt = store.list_segments(script.id)
    store.add_segment_take(seg.id, new_take(), "h1")
    locked = store.update_segment(seg.id, locked=True)
    assert locked.locked
    for change in ({"text": "Changed."}, {"voice_id": ann.id}, {"engine_id": "csm"}):
        with pytest.raises(ValueError, match=f"segment {seg.id} is locked; unlock it to change its"):
            store.update_segment(seg.id, **change)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is locked; unlock it to split"):
        store.split_segment(seg.id, 2)
    with pytest.raises(ValueError, match="is locked; unlock it to merge"):
        store.merge_segments(seg.id)
    with pytest.raises(ValueError, match="is locked; unlock it to delete"):
        store.delete_segment(seg.id)
    with pytest.raises(ValueError, match="is locked; unlock it to choose a take"):
        store.add_segment_take(seg.id, new_take(), "h2")
    other = store.add_take(project.id, new_take())
    store.link_segment_take(seg.id, other.id, "h3")  # linking without choosing is allowed
    with pytest.raises(ValueError, match="is locked"):
        store.choose_segment_take(seg.id, other.id)
    assert store.add_segment_take(seg.id, new_take(), "h4", choose=False).id > other.id
    same = store.update_segment(seg.id, text="One.", speaker="NARRATOR", pause_after_s=2)
    assert (same.speaker, same.pause_after_s, same.text) == ("NARRATOR", 2, "One.")
    assert store.move_segment(seg.id, 1).position == 1  # order is not content
    with pytest.raises(ValueError, match="is locked; unlock it to merge"):
        store.merge_segments(nxt.id)  # nxt is first now; the locked one follows it
    unlocked = store.update_segment(seg.id, locked=False, text="Changed.")  # unlock and change at once
    assert (unlocked.locked, unlocked.text, unlocked.take_hash) == (False, "Changed.", "h1")


def test_positions_stay_contiguous(store: Store, project: Project) -> None:
    script = make_script(store, project.id, "a", "b", "c", "d", "e")
    ids = [s.id for s in store.list_segments(script.id)]
    assert store.move_segment(ids[0], 3).position == 3
    assert texts(store, script.id) == ["b", "c", "d", "a", "e"]
    store.move_segment(ids[4], 0)
    assert texts(store, script.id) == ["e", "b", "c", "d", "a"]
    store.move_segment(ids[2], 2)
    assert texts(store, script.id) == ["e", "b", "c", "d", "a"]
    for bad in (-1, 5, True, 1.0):
        with pytest.raises(ValueError, match="position must be a whole number from 0 to 4"):
            store.move_segment(ids[0], bad)  # type: ignore[arg-type]
    inserted = store.insert_segment(script.id, 0, NewSegment(text="start", speaker="N"))
    assert (inserted.position, inserted.speaker) == (0, "N")
    store.insert_segment(script.id, 6, NewSegment(text="end"))
    store.insert_segment(script.id, 3, NewSegment(text="mid"))
    assert texts(store, script.id) == ["start", "e", "b", "mid", "c", "d", "a", "end"]
    with pytest.raises(ValueError, match="from 0 to 8"):
        store.insert_segment(script.id, 9, NewSegment(text="x"))
    store.delete_segment(inserted.id)
    store.delete_segment(ids[0])
    assert texts(store, script.id) == ["e", "b", "mid", "c", "d", "end"]
    with pytest.raises(NotFoundError):
        store.delete_segment(ids[0])
    with pytest.raises(NotFoundError, match="script 999 not found"):
        store.insert_segment(999, 0, NewSegment(text="x"))


def test_split_and_merge(store: Store, project: Project) -> None:
    ann = voice(store, project.id)
    script = make_script(store, project.id, "Hello there. General Kenobi.", "Last.", voice_id=ann.id,
                         speaker="OBI", section="Ch 1", engine_id="kokoro", pause_after_s=0.7)
    seg, last = store.list_segments(script.id)
    take = store.add_segment_take(seg.id, new_take(), "whole")
    first, second = store.split_segment(seg.id, 12)
    assert (first.id, first.text, first.chosen_take_id, first.take_hash) == (seg.id, "Hello there.", take.id, "whole")
    assert (second.position, second.text, second.voice_id, second.speaker, second.section, second.engine_id) == (
        1, "General Kenobi.", ann.id, "OBI", "Ch 1", "kokoro")
    assert (second.chosen_take_id, store.segment_takes(second.id)) == (None, [])
    assert texts(store, script.id) == ["Hello there.", "General Kenobi.", "Last."]
    assert store.get_segment(last.id).position == 2
    for at in (0, 29, 100, -3, "5"):
        with pytest.raises(ValueError, match="split"):
            store.split_segment(first.id, at)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="both parts need some text"):
        store.split_segment(first.id, len(first.text))
    store.insert_segment(script.id, 3, NewSegment(text="a   b"))

    second_take = store.add_segment_take(second.id, new_take(), "second")
    merged = store.merge_segments(first.id)
    assert (merged.text, merged.chosen_take_id, merged.position) == ("Hello there. General Kenobi.", take.id, 0)
    assert [t.id for t, _ in store.segment_takes(merged.id)] == [take.id]
    assert store.get_take(second_take.id) == second_take  # the second's take stays in the project
    with pytest.raises(NotFoundError):
        store.get_segment(second.id)
    assert texts(store, script.id) == ["Hello there. General Kenobi.", "Last.", "a   b"]
    tail = store.list_segments(script.id)[-1]
    with pytest.raises(ValueError, match="is the last of its script"):
        store.merge_segments(tail.id)
    store.update_segment(tail.id, text="x" * 4995)
    with pytest.raises(ValueError, match="at most 5000"):
        store.merge_segments(last.id)


def test_last_segment_cannot_be_deleted_and_caps_hold(store: Store, project: Project) -> None:
    only = store.list_segments(make_script(store, project.id, "alone").id)[0]
    with pytest.raises(ValueError, match="only one of its script; delete the script instead"):
        store.delete_segment(only.id)
    full = make_script(store, project.id, *["word word"] * 2000)
    with pytest.raises(ValueError, match="at most 2000 segments"):
        store.insert_segment(full.id, 0, NewSegment(text="x"))
    with pytest.raises(ValueError, match="at most 2000 segments"):
        store.split_segment(store.list_segments(full.id)[0].id, 4)


# ---------------------------------------------------------------- segment takes


def test_segment_takes_link_choose_and_list(store: Store, project: Project) -> None:
    ann = voice(store, project.id)
    script = make_script(store, project.id, "One.", "Two.")
    seg, other_seg = store.list_segments(script.id)
    first = store.add_segment_take(seg.id, new_take(voice_id=ann.id, text="One."), "h1",
                                   transcript=NewTranscript("One.", [("One.", 0.0, 0.4, 0.9)]))
    assert first.project_id == project.id and store.get_transcript(first.id) is not None
    assert (store.get_segment(seg.id).chosen_take_id, store.get_segment(seg.id).take_hash) == (first.id, "h1")
    second = store.add_segment_take(seg.id, new_take(), "h2", choose=False)
    assert store.get_segment(seg.id).chosen_take_id == first.id
    speak = store.add_take(project.id, new_take(kind="tts"))  # made in the Speak tab
    store.link_segment_take(seg.id, speak.id, "h3")
    assert [(t.id, h) for t, h in store.segment_takes(seg.id)] == [(speak.id, "h3"), (second.id, "h2"),
                                                                   (first.id, "h1")]
    chosen = store.choose_segment_take(seg.id, second.id)
    assert (chosen.chosen_take_id, chosen.take_hash) == (second.id, "h2")
    store.link_segment_take(seg.id, second.id, "h2b")  # linking again updates the hash
    assert store.get_segment(seg.id).take_hash == "h2b"
    assert store.list_segments(script.id)[0].take_hash == "h2b"
    with pytest.raises(ValueError, match=f"take {first.id} is not a take of segment {other_seg.id}"):
        store.choose_segment_take(other_seg.id, first.id)
    with pytest.raises(NotFoundError, match="take 999 not found"):
        store.choose_segment_take(seg.id, 999)
    with pytest.raises(NotFoundError, match="take 999 not found"):
        store.link_segment_take(seg.id, 999, "h")
    with pytest.raises(NotFoundError, match="segment 999 not found"):
        store.segment_takes(999)
    with pytest.raises(ValueError, match="content hash must not be blank"):
        store.link_segment_take(seg.id, speak.id, " ")
    with pytest.raises(ValueError, match="content hash is longer than 128"):
        store.link_segment_take(seg.id, speak.id, "h" * 129)


def test_takes_and_voices_of_another_project_are_refused(store: Store, project: Project) -> None:
    seg = store.list_segments(make_script(store, project.id, "One.").id)[0]
    other = store.create_project("Other")
    stranger_take = store.add_take(other.id, new_take())
    stranger_voice = voice(store, other.id)
    before_files = blob_files(store)
    with pytest.raises(ValueError, match=f"take {stranger_take.id} belongs to another project"):
        store.link_segment_take(seg.id, stranger_take.id, "h")
    with pytest.raises(ValueError, match=f"voice {stranger_voice.id} belongs to another project"):
        store.add_segment_take(seg.id, new_take(voice_id=stranger_voice.id), "h")
    with pytest.raises(ValueError, match=f"take {stranger_take.id} belongs to another project"):
        store.add_segment_take(seg.id, new_take(parent_id=stranger_take.id), "h")
    with pytest.raises(NotFoundError, match="segment 999 not found"):
        store.add_segment_take(999, new_take(), "h")
    assert take_count(store, project.id) == 0
    assert blob_files(store) == before_files  # refused before any audio was stored
    assert store.segment_takes(seg.id) == []


def test_add_segment_take_is_one_transaction(store: Store, project: Project) -> None:
    seg = store.list_segments(make_script(store, project.id, "One.").id)[0]
    with pytest.raises(RuntimeError, match="boom"):
        with store.unit_of_work() as uow:
            made = uow.add_segment_take(seg.id, new_take(), "h1")
            raise RuntimeError("boom")
    assert take_count(store, project.id) == 0
    assert store.get_segment(seg.id).chosen_take_id is None and store.segment_takes(seg.id) == []
    assert made.audio_sha not in store.referenced_shas()
    assert store.collect_garbage(grace_seconds=0) == 1  # the one blob left is unreferenced, and goes
    assert blob_files(store) == set()
    with pytest.raises(ValueError, match="audio is empty"):  # a bad take: nothing at all is written
        store.add_segment_take(seg.id, new_take(audio=b""), "h1")
    assert take_count(store, project.id) == 0 and blob_files(store) == set()


# ---------------------------------------------------------------- cascades


def test_voice_and_take_deletes_set_null_project_delete_cascades(store: Store, project: Project) -> None:
    ann = voice(store, project.id)
    script = make_script(store, project.id, "One.", "Two.", voice_id=ann.id)
    seg = store.list_segments(script.id)[0]
    take = store.add_segment_take(seg.id, new_take(), "h1")
    store.delete_voice(ann.id)
    assert [s.voice_id for s in store.list_segments(script.id)] == [None, None]
    store.delete_take(take.id)
    after = store.get_segment(seg.id)
    assert (after.chosen_take_id, after.take_hash, store.segment_takes(seg.id)) == (None, None, [])

    store.add_segment_take(seg.id, new_take(), "h2")
    store.set_lexicon_entry(project.id, "Kenobi", "keh-NO-bee")
    keep = store.create_project("Keep")
    kept = make_script(store, keep.id, "Stay.")
    store.delete_project(project.id)
    with pytest.raises(NotFoundError):
        store.get_script(script.id)
    with store._read() as s:  # no orphans left in any of the new tables
        for table in ("script_segments", "segment_takes", "lexicon_entries"):
            count = s.execute(text(f"SELECT count(*) FROM {table} WHERE 1")).scalar()
            assert count == (1 if table == "script_segments" else 0), table
    assert texts(store, kept.id) == ["Stay."]


def test_ids_are_never_reused(store: Store, project: Project) -> None:
    script = make_script(store, project.id, "a", "b")
    last = store.list_segments(script.id)[-1]
    store.delete_segment(last.id)
    assert store.insert_segment(script.id, 1, NewSegment(text="c")).id > last.id
    store.delete_script(script.id)
    assert make_script(store, project.id, "x").id > script.id
    entry = store.set_lexicon_entry(project.id, "a", "b")
    store.delete_lexicon_entry(project.id, "a")
    assert store.set_lexicon_entry(project.id, "a", "b").id > entry.id


# ---------------------------------------------------------------- lexicon


def test_lexicon(store: Store, project: Project) -> None:
    first = store.set_lexicon_entry(project.id, " Kenobi ", "keh-NO-bee")
    assert (first.word, first.respelling, first.project_id) == ("Kenobi", "keh-NO-bee", project.id)
    store.set_lexicon_entry(project.id, "alderaan", "ALL-der-ahn")
    replaced = store.set_lexicon_entry(project.id, "KENOBI", "ken-OH-bee")  # one entry per word, any case
    assert (replaced.id, replaced.word, replaced.created_at) == (first.id, "KENOBI", first.created_at)
    assert replaced.updated_at > first.updated_at
    assert [(e.word, e.respelling) for e in store.lexicon(project.id)] == [
        ("alderaan", "ALL-der-ahn"), ("KENOBI", "ken-OH-bee")]
    other = store.create_project("Other")
    store.set_lexicon_entry(other.id, "kenobi", "x")
    store.delete_lexicon_entry(project.id, "kenobi")
    assert [e.word for e in store.lexicon(project.id)] == ["alderaan"]
    assert [e.word for e in store.lexicon(other.id)] == ["kenobi"]
    with pytest.raises(NotFoundError, match="no entry for 'kenobi'"):
        store.delete_lexicon_entry(project.id, "kenobi")
    for word, respelling, message in (("", "x", "word must not be blank"), ("w" * 101, "x", "longer than 100"),
                                      ("w", " ", "respelling must not be blank"), ("w", "r" * 201, "than 200")):
        with pytest.raises(ValueError, match=message):
            store.set_lexicon_entry(project.id, word, respelling)
    with pytest.raises(NotFoundError, match="project 999 not found"):
        store.lexicon(999)


# ---------------------------------------------------------------- migration and archive


def test_upgrade_from_0004_keeps_data_and_adds_script_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'retake.db'}"
    with Store(url, tmp_path / "blobs") as store:  # a database at 0004 with data in it
        project = store.create_project("Old")
        take = store.add_take(project.id, new_take())
    engine: Engine = create_engine_for(url)
    try:
        downgrade(engine, "0004")
        assert "scripts" not in inspect(engine).get_table_names()
        migrate(engine)
        with engine.connect() as conn:
            assert current_revision(conn) == head_revision()
            sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'script_segments'")).scalar()
            assert sql is not None and "AUTOINCREMENT" in sql
    finally:
        engine.dispose()
    with Store(url, tmp_path / "blobs") as store:
        assert store.get_take(take.id) == take
        script = make_script(store, project.id, "One.")
        seg = store.list_segments(script.id)[0]
        store.link_segment_take(seg.id, take.id, "h")
        assert store.choose_segment_take(seg.id, take.id).take_hash == "h"
        store.delete_take(take.id)  # the FKs of the new tables are in force on upgraded files
        assert store.get_segment(seg.id).chosen_take_id is None
    engine = create_engine_for(url)
    try:
        from alembic.autogenerate import compare_metadata
        from alembic.runtime.migration import MigrationContext
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                    Base.metadata) == []
    finally:
        engine.dispose()


def test_archive_round_trip_with_a_script(tmp_path: Path) -> None:
    with Store.open(tmp_path / "source", clock=TickingClock()) as source:
        project = source.create_project("Audiobook")
        ann, gone = voice(source, project.id), voice(source, project.id, "Gone")
        script = source.create_script(project.id, "Chapter 1", "markdown", [
            NewSegment(text="One.", section="Ch 1", speaker="NARRATOR", voice_id=ann.id, engine_id="kokoro",
                       pause_after_s=0.5),
            NewSegment(text="Two.", voice_id=gone.id),
            NewSegment(text="Three."),
        ], {"pause_s": 0.4, "target": "acx"})
        one, two, three = source.list_segments(script.id)
        a = source.add_segment_take(one.id, new_take(voice_id=ann.id), "h1")
        source.add_segment_take(one.id, new_take(), "h1b", choose=False)
        speak = source.add_take(project.id, new_take(kind="tts"))
        source.link_segment_take(two.id, speak.id, "h2")
        source.link_segment_take(three.id, speak.id, "h3")
        source.choose_segment_take(three.id, speak.id)
        source.update_segment(one.id, locked=True)
        source.delete_voice(gone.id)
        source.create_script(project.id, "Empty settings", "text", lines("Solo."), {})
        source.set_lexicon_entry(project.id, "Kenobi", "keh-NO-bee")
        assert a.id
        archive = source.export_project(project.id, tmp_path / "audiobook.zip")
        old_scripts = source.list_scripts(project.id)
        old = {s.id: source.list_segments(s.id) for s in old_scripts}
        old_takes = {seg.id: source.segment_takes(seg.id) for segs in old.values() for seg in segs}
        old_lexicon = source.lexicon(project.id)
    with Store.open(tmp_path / "target") as target:
        imported = target.import_project(archive)
        new_scripts = target.list_scripts(imported.id)
        assert [dataclasses.replace(s, id=0, project_id=0) for s in new_scripts] == [
            dataclasses.replace(s, id=0, project_id=0) for s in old_scripts]
        new_voice = {v.name: v.id for v in target.list_voices(imported.id)}
        take_map = {o.id: n.id for o, n in zip(
            sorted(source_takes(tmp_path / "source", project.id), key=lambda t: t.id),
            sorted(target.list_takes(imported.id, limit=100), key=lambda t: t.id), strict=True)}
        for old_script, new_script in zip(old_scripts, new_scripts, strict=True):
            for before, after in zip(old[old_script.id], target.list_segments(new_script.id), strict=True):
                assert after == dataclasses.replace(
                    before, id=after.id, script_id=new_script.id,
                    voice_id=new_voice["Ann"] if before.voice_id is not None else None,
                    chosen_take_id=take_map[before.chosen_take_id] if before.chosen_take_id else None)
                assert [(take_map[t.id], h, t.created_at) for t, h in old_takes[before.id]] == [
                    (t.id, h, t.created_at) for t, h in target.segment_takes(after.id)]
        assert [dataclasses.replace(e, id=0, project_id=0) for e in target.lexicon(imported.id)] == [
            dataclasses.replace(e, id=0, project_id=0) for e in old_lexicon]


def source_takes(data_dir: Path, project_id: int) -> list:
    with Store.open(data_dir) as store:
        return store.list_takes(project_id, limit=100)


def test_archive_without_scripts_still_imports(tmp_path: Path) -> None:
    """Archives made before scripts existed carry no "scripts" or "lexicon" keys."""
    import json
    import zipfile
    with Store.open(tmp_path / "source") as source:
        project = source.create_project("Old")
        source.add_take(project.id, new_take())
        archive = source.export_project(project.id, tmp_path / "a.zip")
    with zipfile.ZipFile(archive) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(members["manifest.json"])
    assert manifest["scripts"] == [] and manifest["lexicon"] == []
    del manifest["scripts"], manifest["lexicon"]
    members["manifest.json"] = json.dumps(manifest).encode()
    old = tmp_path / "old.zip"
    with zipfile.ZipFile(old, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with Store.open(tmp_path / "target") as target:
        imported = target.import_project(old)
        assert target.list_scripts(imported.id) == [] and target.lexicon(imported.id) == []


def rewrite_manifest(archive: Path, out: Path, change: object) -> Path:
    import json
    import zipfile
    with zipfile.ZipFile(archive) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(members["manifest.json"])
    change(manifest)  # type: ignore[operator]
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out


@pytest.mark.parametrize(("damage", "message"), [
    (lambda m: m["scripts"][0]["segments"][0].update(chosen_take_ref=99), "chosen take is not one of its takes"),
    (lambda m: m["scripts"][0]["segments"][0].update(voice_ref=99), "voice refers to unknown ref 99"),
    (lambda m: m["scripts"][0]["segments"][0]["takes"][0].update(take_ref=99), "take refers to unknown ref 99"),
    (lambda m: m["scripts"][0]["segments"][1].update(position=5), "gaps or repeats"),
    (lambda m: m["scripts"][0]["segments"][1].update(text=" "), "must not be blank"),
    (lambda m: m["scripts"][0].update(source_format="doc"), "source format"),
    (lambda m: m["scripts"][0].update(segments=[]), "1 to 2000 segments"),
    (lambda m: m["lexicon"].append(dict(m["lexicon"][0], word="KENOBI")), "two entries for one word"),
])
def test_bad_script_in_archive_is_refused(tmp_path: Path, damage: object, message: str) -> None:
    from storage import StorageError
    with Store.open(tmp_path / "source") as source:
        project = source.create_project("P")
        ann = voice(source, project.id)
        script = make_script(source, project.id, "One.", "Two.", voice_id=ann.id)
        source.add_segment_take(source.list_segments(script.id)[0].id, new_take(), "h")
        source.set_lexicon_entry(project.id, "Kenobi", "keh-NO-bee")
        archive = source.export_project(project.id, tmp_path / "a.zip")
    bad = rewrite_manifest(archive, tmp_path / "bad.zip", damage)
    with Store.open(tmp_path / "target") as target:
        with pytest.raises(StorageError, match=message):
            target.import_project(bad)
        assert target.list_projects() == []


def test_records_are_frozen(store: Store, project: Project) -> None:
    seg: ScriptSegment = store.list_segments(make_script(store, project.id, "x").id)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        seg.text = "y"  # type: ignore[misc]
