"""Store facade on a real SQLite file: projects, voices, embeddings, takes, audio."""
from __future__ import annotations

import dataclasses
import math
import os
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy.exc import IntegrityError

from storage import (
    Clip,
    ConflictError,
    Consent,
    NewClip,
    NewTake,
    NewTranscript,
    NotFoundError,
    Project,
    Store,
    Take,
    TakeTranscript,
    Voice,
)
from storage.records import Consent as ConsentRecord

CONSENT = Consent(
    statement="I, Ann, agree that Retake may clone my voice for this audiobook.",
    confirmed_by="Ann Example",
    confirmed_at=datetime(2025, 3, 1, 12, 30, tzinfo=timezone(timedelta(hours=2))),
)


def database_file(tmp_path: Path) -> Path:
    return tmp_path / "data" / "retake.db"


class TickingClock:
    """Creation times that advance by one millisecond a call: ordering by time is tested without
    waiting for the wall clock to move."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "data", clock=TickingClock())
    yield s
    s.close()


@pytest.fixture
def project(store: Store) -> Project:
    return store.create_project("Audiobook")


def clip(seconds: float = 1.5, transcript: str | None = "hello") -> NewClip:
    return NewClip(audio=os.urandom(2048), sample_rate=24000, duration=seconds, transcript=transcript,
                   source_name="ann.flac")


def make_voice(store: Store, project_id: int, name: str = "Ann") -> Voice:
    return store.create_voice(project_id, name, "en", [clip(1.5, "one"), clip(2.5, "two")], CONSENT)


def make_take(store: Store, project_id: int, **fields: object) -> Take:
    spec: dict[str, object] = {"kind": "tts", "audio": os.urandom(1024), "sample_rate": 24000, "duration": 1.0}
    spec.update(fields)
    return store.add_take(project_id, NewTake(**spec))  # type: ignore[arg-type]


# ---------------------------------------------------------------- projects


def test_projects_create_get_list(store: Store) -> None:
    a = store.create_project("  First  ")
    b = store.create_project("Second")
    assert isinstance(a, Project) and a.name == "First"
    assert a.created_at.tzinfo is not None and a.created_at.utcoffset() == timedelta(0)
    assert store.get_project(a.id) == a
    assert [p.name for p in store.list_projects()] == ["First", "Second"]
    assert b.id != a.id


def test_project_name_rules(store: Store) -> None:
    store.create_project("Same")
    with pytest.raises(ConflictError, match="already exists"):
        store.create_project("Same")
    for blank in ["", "   ", "\n"]:
        with pytest.raises(ValueError):
            store.create_project(blank)
    assert len(store.list_projects()) == 1


def test_default_project_is_created_once(store: Store) -> None:
    first = store.default_project()
    assert first.name == "My project"
    assert store.default_project() == first
    assert store.list_projects() == [first]


def test_delete_project_cascades(store: Store, project: Project) -> None:
    voice = make_voice(store, project.id)
    take = make_take(store, project.id, voice_id=voice.id)
    store.delete_project(project.id)
    for call in (lambda: store.get_project(project.id), lambda: store.get_voice(voice.id),
                 lambda: store.get_take(take.id)):
        with pytest.raises(NotFoundError):
            call()


# ---------------------------------------------------------------- voices


def test_create_voice_with_two_clips(store: Store, project: Project) -> None:
    first, second = clip(1.5, "one"), clip(2.5, "two")
    voice = store.create_voice(project.id, " Ann ", "en", [first, second], CONSENT)
    assert isinstance(voice, Voice) and all(isinstance(c, Clip) for c in voice.clips)
    assert voice.name == "Ann" and voice.language == "en" and voice.project_id == project.id
    assert [c.position for c in voice.clips] == [0, 1]
    assert [c.transcript for c in voice.clips] == ["one", "two"]
    assert [c.duration for c in voice.clips] == [1.5, 2.5]
    assert store.read_audio(voice.clips[0].audio_sha) == first.audio
    assert store.read_audio(voice.clips[1].audio_sha) == second.audio
    assert voice.consent.statement == CONSENT.statement
    assert voice.consent.confirmed_by == CONSENT.confirmed_by
    assert voice.consent.confirmed_at == CONSENT.confirmed_at  # same instant...
    assert voice.consent.confirmed_at.utcoffset() == timedelta(0)  # ...kept in UTC
    assert voice.embedding_encoders == ()
    assert store.get_voice(voice.id) == voice
    assert store.list_voices(project.id) == [voice]


def test_voice_name_is_unique_per_project(store: Store, project: Project) -> None:
    make_voice(store, project.id, "Ann")
    with pytest.raises(ConflictError, match="a voice named 'Ann' already exists in this project"):
        make_voice(store, project.id, "Ann")
    other = store.create_project("Other")
    assert make_voice(store, other.id, "Ann").project_id == other.id  # fine elsewhere
    assert len(store.list_voices(project.id)) == 1


def test_voice_input_errors(store: Store, project: Project) -> None:
    with pytest.raises(ValueError, match="blank"):
        store.create_voice(project.id, "  ", "en", [clip()], CONSENT)
    with pytest.raises(ValueError, match="clip"):
        store.create_voice(project.id, "Ann", "en", [], CONSENT)
    naive = ConsentRecord(CONSENT.statement, CONSENT.confirmed_by, datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="timezone"):
        store.create_voice(project.id, "Ann", "en", [clip()], naive)
    with pytest.raises(ValueError):
        store.create_voice(project.id, "Ann", "en", [dataclasses.replace(clip(), audio=b"")], CONSENT)
    with pytest.raises(NotFoundError, match="project 999 not found"):
        store.create_voice(999, "Ann", "en", [clip()], CONSENT)
    assert store.list_voices(project.id) == []


def test_list_voices_sorted_by_name(store: Store, project: Project) -> None:
    for name in ["carol", "Bob", "alice"]:
        make_voice(store, project.id, name)
    assert [v.name for v in store.list_voices(project.id)] == ["alice", "Bob", "carol"]


def test_rename_voice(store: Store, project: Project) -> None:
    ann = make_voice(store, project.id, "Ann")
    make_voice(store, project.id, "Bea")
    renamed = store.rename_voice(ann.id, "Anna")
    assert renamed.name == "Anna" and renamed.id == ann.id and renamed.clips == ann.clips
    assert store.get_voice(ann.id).name == "Anna"
    assert store.rename_voice(ann.id, "Anna") == renamed  # same name: no-op
    with pytest.raises(ConflictError):
        store.rename_voice(ann.id, "Bea")
    with pytest.raises(ValueError):
        store.rename_voice(ann.id, " ")
    with pytest.raises(NotFoundError, match="voice 999 not found"):
        store.rename_voice(999, "X")


def test_delete_voice_cascades_clips_and_embeddings_but_keeps_takes(store: Store, project: Project) -> None:
    voice = make_voice(store, project.id)
    store.set_embedding(voice.id, "ecapa", np.ones(192))
    take = make_take(store, project.id, voice_id=voice.id)
    store.delete_voice(voice.id)
    with pytest.raises(NotFoundError, match=f"voice {voice.id} not found"):
        store.get_voice(voice.id)
    kept = store.get_take(take.id)
    assert kept.voice_id is None and kept.audio_sha == take.audio_sha
    with pytest.raises(NotFoundError):
        store.delete_voice(voice.id)
    # Clips and the embedding rows are gone too: nothing references the clip audio any more.
    assert store.referenced_shas() == {take.audio_sha}
    with pytest.raises(NotFoundError):
        store.get_embedding(voice.id, "ecapa")


# ---------------------------------------------------------------- embeddings


def test_embedding_upsert_and_float32_round_trip(store: Store, project: Project) -> None:
    voice = make_voice(store, project.id)
    assert store.get_embedding(voice.id, "ecapa") is None
    first = np.random.default_rng(0).standard_normal(192)  # float64 in
    store.set_embedding(voice.id, "ecapa", first)
    got = store.get_embedding(voice.id, "ecapa")
    assert got is not None and got.dtype == np.float32 and got.shape == (192,)
    np.testing.assert_array_equal(got, first.astype(np.float32))
    second = np.linspace(-1, 1, 256, dtype=np.float32)
    store.set_embedding(voice.id, "ecapa", second)  # replaces, different size is fine
    np.testing.assert_array_equal(store.get_embedding(voice.id, "ecapa"), second)
    store.set_embedding(voice.id, "wavlm", np.zeros(512, dtype=np.float32))
    assert store.get_voice(voice.id).embedding_encoders == ("ecapa", "wavlm")
    got2 = store.get_embedding(voice.id, "ecapa")
    assert got2 is not None
    got2[0] = 42.0  # the caller owns its copy


def test_embedding_errors(store: Store, project: Project) -> None:
    voice = make_voice(store, project.id)
    with pytest.raises(NotFoundError):
        store.set_embedding(999, "ecapa", np.ones(3))
    for bad in [np.ones((2, 3)), np.array([]), np.array([1.0, np.nan])]:
        with pytest.raises(ValueError):
            store.set_embedding(voice.id, "ecapa", bad)
    assert store.get_embedding(voice.id, "ecapa") is None


# ---------------------------------------------------------------- takes


def test_add_and_get_take(store: Store, project: Project) -> None:
    voice = make_voice(store, project.id)
    audio = os.urandom(3000)
    take = store.add_take(project.id, NewTake(
        kind="tts", audio=audio, sample_rate=24000, duration=2.25, text="Hello there.",
        voice_id=voice.id, engine_id="kokoro", engine_revision="abc123",
        parameters={"speed": 1.1, "steps": np.int64(8)}, seed=2**40,
        scores={"wer": np.float32(0.25), "sim": float("nan")},
    ))
    assert isinstance(take, Take)
    assert take.parameters == {"speed": 1.1, "steps": 8}
    assert take.scores == {"wer": 0.25, "sim": None}  # numpy -> plain, NaN -> None
    assert take.seed == 2**40 and take.starred is False and take.parent_id is None
    assert take.created_at.utcoffset() == timedelta(0)
    assert store.get_take(take.id) == take
    assert store.read_audio(take.audio_sha) == audio


def test_take_reference_checks(store: Store, project: Project) -> None:
    other = store.create_project("Other")
    foreign_voice = make_voice(store, other.id)
    foreign_take = make_take(store, other.id)
    with pytest.raises(NotFoundError, match="project 999 not found"):
        make_take(store, 999)
    with pytest.raises(NotFoundError, match="voice 999 not found"):
        make_take(store, project.id, voice_id=999)
    with pytest.raises(NotFoundError, match="take 999 not found"):
        make_take(store, project.id, parent_id=999)
    with pytest.raises(ValueError, match="another project"):
        make_take(store, project.id, voice_id=foreign_voice.id)
    with pytest.raises(ValueError, match="another project"):
        make_take(store, project.id, parent_id=foreign_take.id)
    bad_fields: list[dict[str, Any]] = [{"kind": " "}, {"audio": b""}, {"sample_rate": 0}, {"duration": -1.0},
                                        {"parameters": {"x": object()}}, {"seed": 2**64}]
    for bad in bad_fields:
        with pytest.raises(ValueError):
            make_take(store, project.id, **bad)
    assert store.count_takes(project.id) == 0


def test_list_takes_newest_first_with_filters_and_pages(store: Store, project: Project) -> None:
    ann, bea = make_voice(store, project.id, "Ann"), make_voice(store, project.id, "Bea")
    added = []
    for i in range(12):
        added.append(make_take(store, project.id, voice_id=(ann if i % 2 else bea).id,
                               kind="tts" if i % 3 else "edit", text=f"take {i}"))
    newest_first = list(reversed(added))
    assert store.list_takes(project.id) == newest_first
    assert store.count_takes(project.id) == 12

    pages = [store.list_takes(project.id, limit=5, offset=o) for o in (0, 5, 10)]
    assert [len(p) for p in pages] == [5, 5, 2]
    assert [t for p in pages for t in p] == newest_first
    assert store.list_takes(project.id, offset=100) == []

    by_ann = store.list_takes(project.id, voice_id=ann.id)
    assert by_ann == [t for t in newest_first if t.voice_id == ann.id] and len(by_ann) == 6
    assert store.count_takes(project.id, voice_id=ann.id) == 6
    edits = store.list_takes(project.id, kind="edit")
    assert edits == [t for t in newest_first if t.kind == "edit"] and len(edits) == 4
    assert store.count_takes(project.id, kind="edit", voice_id=ann.id) == \
        len([t for t in added if t.kind == "edit" and t.voice_id == ann.id])

    starred = store.set_starred(added[3].id, True)
    assert starred.starred is True and store.get_take(added[3].id).starred is True
    store.set_starred(added[7].id, True)
    assert [t.id for t in store.list_takes(project.id, starred=True)] == [added[7].id, added[3].id]
    assert store.count_takes(project.id, starred=True) == 2
    assert store.count_takes(project.id, starred=False) == 10
    store.set_starred(added[7].id, False)
    assert store.count_takes(project.id, starred=True) == 1

    other = store.create_project("Other")
    make_take(store, other.id)
    assert store.count_takes(project.id) == 12 and store.count_takes(other.id) == 1


def test_list_takes_orders_by_time_not_insertion(store: Store, project: Project) -> None:
    first = make_take(store, project.id)
    second = make_take(store, project.id)
    assert second.created_at > first.created_at
    assert [t.id for t in store.list_takes(project.id)] == [second.id, first.id]


def test_bad_page_arguments(store: Store, project: Project) -> None:
    for bad in [{"limit": 0}, {"limit": -5}, {"limit": 10_001}, {"offset": -1}, {"limit": 2.5}]:
        with pytest.raises(ValueError):
            store.list_takes(project.id, **bad)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        store.list_takes(999)
    with pytest.raises(NotFoundError):
        store.count_takes(999)


def test_delete_take_keeps_children_without_parent(store: Store, project: Project) -> None:
    parent = make_take(store, project.id)
    child = make_take(store, project.id, kind="edit", parent_id=parent.id)
    grandchild = make_take(store, project.id, kind="edit", parent_id=child.id)
    assert child.parent_id == parent.id
    store.delete_take(parent.id)
    with pytest.raises(NotFoundError, match=f"take {parent.id} not found"):
        store.get_take(parent.id)
    assert store.get_take(child.id).parent_id is None
    assert store.get_take(grandchild.id).parent_id == child.id
    with pytest.raises(NotFoundError):
        store.delete_take(parent.id)


def test_take_children_are_direct_children_oldest_first(store: Store, project: Project) -> None:
    parent = make_take(store, project.id)
    other_parent = make_take(store, project.id)
    children = []
    for i in range(3):
        children.append(make_take(store, project.id, kind="edit", parent_id=parent.id, text=f"edit {i}"))
        make_take(store, project.id, kind="edit", parent_id=other_parent.id)
    grandchild = make_take(store, project.id, kind="edit", parent_id=children[0].id)
    assert store.take_children(parent.id) == children  # not the grandchild, not the other family
    assert store.take_children(children[0].id) == [grandchild]
    assert store.take_children(grandchild.id) == []
    store.delete_take(children[1].id)
    assert store.take_children(parent.id) == [children[0], children[2]]


# ---------------------------------------------------------------- transcripts

WORDS = [("Hello", 0.12, 0.48, 0.98), ("there,", 0.52, 0.9, 0.91), ("world.", 0.9, 1.4, 0.75)]


class WordLike:
    """Stands in for pipelines.base.Word, which storage must accept without importing it."""

    def __init__(self, text: str, start: float, end: float, confidence: float) -> None:
        self.text, self.start, self.end, self.confidence = text, start, end, confidence


def transcript_rows(tmp_path: Path) -> list[tuple[Any, ...]]:
    """The table itself, read past the Store, so a cascade is seen to delete the row."""
    with sqlite3.connect(database_file(tmp_path)) as conn:
        return conn.execute("SELECT take_id, text FROM take_transcripts ORDER BY take_id").fetchall()


def test_transcript_round_trip(store: Store, project: Project) -> None:
    take = make_take(store, project.id)
    assert store.get_transcript(take.id) is None
    saved = store.set_transcript(take.id, text="Hello there, world.", words=WORDS,
                                 engine_id="whisper-base-embedded", language="en")
    assert isinstance(saved, TakeTranscript)
    assert saved.take_id == take.id and saved.text == "Hello there, world."
    assert saved.words == tuple(WORDS)
    assert saved.engine_id == "whisper-base-embedded" and saved.language == "en"
    assert saved.created_at.utcoffset() == timedelta(0)
    assert store.get_transcript(take.id) == saved


def test_transcript_accepts_lists_numpy_and_word_objects(store: Store, project: Project) -> None:
    take = make_take(store, project.id)
    as_lists = [["Hello", np.float32(0.5), np.float64(1.0), np.int64(1)], ["you", 1, 2, 0]]
    got = store.set_transcript(take.id, text="Hello you", words=as_lists, engine_id=None, language=None)
    assert got.words == (("Hello", 0.5, 1.0, 1.0), ("you", 1.0, 2.0, 0.0))
    assert all(type(v) is float for w in got.words for v in w[1:])  # plain floats, not numpy
    objects = [WordLike(*w) for w in WORDS]
    got = store.set_transcript(take.id, text="Hello there, world.", words=objects, engine_id=None,
                               language=None)
    assert store.get_transcript(take.id) == got and got.words == tuple(WORDS)
    empty = store.set_transcript(take.id, text="", words=[], engine_id=None, language=None)
    assert store.get_transcript(take.id) == empty and empty.words == ()  # silence heard as nothing


def test_set_transcript_replaces_the_previous_one(store: Store, project: Project, tmp_path: Path) -> None:
    take = make_take(store, project.id)
    other = make_take(store, project.id)
    first = store.set_transcript(take.id, text="Hello there, world.", words=WORDS, engine_id="a", language="en")
    kept = store.set_transcript(other.id, text="Other.", words=[("Other.", 0.0, 0.5, 1.0)], engine_id="a",
                                language="en")
    second = store.set_transcript(take.id, text="Hello world.", words=[WORDS[0], WORDS[2]], engine_id="b",
                                  language=None)
    assert store.get_transcript(take.id) == second != first
    assert second.words == (WORDS[0], WORDS[2]) and second.engine_id == "b" and second.language is None
    assert second.created_at > first.created_at
    assert store.get_transcript(other.id) == kept
    assert transcript_rows(tmp_path) == [(take.id, "Hello world."), (other.id, "Other.")]


def test_a_take_stored_without_text_takes_its_first_transcript_as_text(store: Store, project: Project) -> None:
    # An imported recording listed as "(no text)" must show what it says once it has been transcribed.
    imported = make_take(store, project.id, kind="recording")
    spoken = make_take(store, project.id, text="What was asked for.")
    assert imported.text is None
    store.set_transcript(imported.id, text="Hello there, world.", words=WORDS, engine_id="a", language="en")
    store.set_transcript(spoken.id, text="What was heard.", words=WORDS, engine_id="a", language="en")
    assert store.get_take(imported.id).text == "Hello there, world."
    assert store.get_take(spoken.id).text == "What was asked for."  # a take's own text is never overwritten
    store.set_transcript(imported.id, text="Hello world.", words=WORDS[:1], engine_id="b", language="en")
    assert store.get_take(imported.id).text == "Hello there, world."  # only filled once, never rewritten


def test_deleting_a_take_deletes_its_transcript(store: Store, project: Project, tmp_path: Path) -> None:
    take = make_take(store, project.id)
    child = make_take(store, project.id, kind="edit", parent_id=take.id)
    store.set_transcript(take.id, text="Hello there, world.", words=WORDS, engine_id=None, language="en")
    store.set_transcript(child.id, text="Hello world.", words=[WORDS[0], WORDS[2]], engine_id=None,
                         language="en")
    store.delete_take(take.id)
    assert transcript_rows(tmp_path) == [(child.id, "Hello world.")]
    with pytest.raises(NotFoundError):
        store.get_transcript(take.id)
    assert store.get_transcript(child.id) is not None  # the child's own transcript stays
    store.delete_project(project.id)
    assert transcript_rows(tmp_path) == []


BAD_WORDS: list[tuple[str, Any, str]] = [
    ("end before start", [("Hello", 0.5, 0.4, 1.0)], "ends .* before it starts"),
    ("negative start", [("Hello", -0.1, 0.4, 1.0)], "before 0"),
    ("nan", [("Hello", math.nan, 0.4, 1.0)], "finite"),
    ("inf end", [("Hello", 0.0, math.inf, 1.0)], "finite"),
    ("out of order", [WORDS[1], WORDS[0]], "order of start"),
    ("three fields", [("Hello", 0.0, 0.4)], r"\(text, start, end, confidence\)"),
    ("not a tuple", ["Hello"], r"\(text, start, end, confidence\)"),
    ("text not str", [(5, 0.0, 0.4, 1.0)], "text"),
    ("blank text", [("  ", 0.0, 0.4, 1.0)], "non-blank"),
    ("time as text", [("Hello", "0.0", 0.4, 1.0)], "start must be a number"),
    ("bool time", [("Hello", 0.0, True, 1.0)], "end must be a number"),
    ("confidence above 1", [("Hello", 0.0, 0.4, 1.5)], "confidence"),
    ("words is a string", "Hello", "list"),
]


@pytest.mark.parametrize(("words", "message"), [(w, m) for _, w, m in BAD_WORDS],
                         ids=[name for name, _, _ in BAD_WORDS])
def test_bad_transcript_words_are_refused(store: Store, project: Project, words: Any, message: str) -> None:
    take = make_take(store, project.id)
    before = store.set_transcript(take.id, text="Hello there, world.", words=WORDS, engine_id=None,
                                  language=None)
    with pytest.raises(ValueError, match=message):
        store.set_transcript(take.id, text="Hello", words=words, engine_id=None, language=None)
    assert store.get_transcript(take.id) == before  # the old transcript is untouched


def test_bad_transcript_fields_are_refused(store: Store, project: Project) -> None:
    take = make_take(store, project.id)
    bad: list[dict[str, Any]] = [{"text": None}, {"text": b"bytes"}, {"engine_id": "x" * 101},
                                 {"language": "x" * 33}, {"language": 5}]
    for fields in bad:
        spec: dict[str, Any] = {"text": "Hello", "words": [WORDS[0]], "engine_id": None, "language": None}
        spec.update(fields)
        with pytest.raises(ValueError):
            store.set_transcript(take.id, **spec)
    assert store.get_transcript(take.id) is None


def test_add_take_with_transcript(store: Store, project: Project) -> None:
    take = store.add_take(
        project.id,
        NewTake(kind="edit", audio=os.urandom(1024), sample_rate=24000, duration=1.5),
        transcript=NewTranscript("Hello there, world.", WORDS, engine_id=None, language="en"),
    )
    got = store.get_transcript(take.id)
    assert got is not None and got.take_id == take.id
    assert (got.text, got.words, got.engine_id, got.language) == ("Hello there, world.", tuple(WORDS), None,
                                                                  "en")
    plain = make_take(store, project.id)  # without one, as before
    assert store.get_transcript(plain.id) is None


def test_add_take_with_bad_transcript_writes_nothing(store: Store, project: Project) -> None:
    bad = NewTranscript("Hello", [("Hello", 1.0, 0.5, 1.0)])
    with pytest.raises(ValueError, match="before it starts"):
        store.add_take(project.id, NewTake(kind="edit", audio=os.urandom(1024), sample_rate=24000,
                                           duration=1.5), transcript=bad)
    with pytest.raises(ValueError, match="NewTranscript"):
        store.add_take(project.id, NewTake(kind="edit", audio=os.urandom(1024), sample_rate=24000,
                                           duration=1.5), transcript=WORDS)  # type: ignore[arg-type]
    assert store.count_takes(project.id) == 0
    assert list(store.blobs.iter_shas()) == []  # refused before the audio was written


def test_add_take_and_transcript_are_one_transaction(store: Store, project: Project, tmp_path: Path) -> None:
    """A failure while the transcript row is written (here a trigger refusing it, as a full disk or
    a constraint would) must take the already-inserted take row down with it."""
    conn = sqlite3.connect(database_file(tmp_path))
    try:
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON take_transcripts "
                     "BEGIN SELECT RAISE(ABORT, 'transcript refused'); END")
        conn.commit()
    finally:
        conn.close()
    new_take = NewTake(kind="edit", audio=os.urandom(1024), sample_rate=24000, duration=1.5)
    with pytest.raises(IntegrityError, match="transcript refused"):
        store.add_take(project.id, new_take, transcript=NewTranscript("Hello", [WORDS[0]]))
    assert store.count_takes(project.id) == 0
    assert store.add_take(project.id, new_take).id  # without a transcript the trigger is not involved
    assert store.count_takes(project.id) == 1


def test_not_found_cases(store: Store) -> None:
    calls = [
        lambda: store.get_project(7), lambda: store.get_voice(7), lambda: store.get_take(7),
        lambda: store.list_voices(7), lambda: store.delete_voice(7), lambda: store.delete_take(7),
        lambda: store.set_starred(7, True), lambda: store.get_embedding(7, "ecapa"),
        lambda: store.delete_project(7), lambda: store.get_transcript(7), lambda: store.take_children(7),
        lambda: store.set_transcript(7, text="hi", words=[("hi", 0.0, 0.2, 1.0)], engine_id=None,
                                     language=None),
    ]
    for call in calls:
        with pytest.raises(NotFoundError, match="7 not found"):
            call()


def test_records_are_frozen_dataclasses_not_orm_rows(store: Store, project: Project) -> None:
    voice = make_voice(store, project.id)
    take = make_take(store, project.id, voice_id=voice.id)
    listed = store.list_takes(project.id)
    voices = store.list_voices(project.id)
    transcript = store.set_transcript(take.id, text="Hi.", words=[("Hi.", 0.1, 0.4, 0.9)],
                                      engine_id="whisper-base-embedded", language="en")
    store.close()  # records stay fully usable with no session or connection behind them
    assert transcript.words == (("Hi.", 0.1, 0.4, 0.9),)
    for record in [project, voice, voice.clips[0], voice.consent, take, *listed, *voices, voices[0].clips[1],
                   transcript]:
        assert dataclasses.is_dataclass(record)
        assert type(record).__module__ == "storage.records"
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, "id", 1)  # noqa: B010 - the point is that assignment fails
    assert listed[0].voice_id == voice.id and voices[0].clips == voice.clips


# ---------------------------------------------------------------- audio


def test_read_audio_of_missing_blob_is_not_found(store: Store, project: Project) -> None:
    take = make_take(store, project.id)
    assert store.audio_path(take.audio_sha).read_bytes() == store.read_audio(take.audio_sha)
    store.audio_path(take.audio_sha).unlink()
    with pytest.raises(NotFoundError):
        store.read_audio(take.audio_sha)
    with pytest.raises(NotFoundError):
        store.audio_path(take.audio_sha)
    with pytest.raises(NotFoundError):
        store.read_audio("../../etc/passwd")


def test_collect_garbage_keeps_referenced_audio(store: Store, project: Project) -> None:
    voice = make_voice(store, project.id)
    keep = make_take(store, project.id, voice_id=voice.id)
    drop = make_take(store, project.id)
    store.delete_take(drop.id)
    orphan = store.blobs.put(b"written but its row never committed")
    assert store.collect_garbage(grace_seconds=3600) == 0  # everything is still young
    assert store.collect_garbage(grace_seconds=0) == 2  # dropped take + orphan
    assert drop.audio_sha not in store.blobs and orphan not in store.blobs
    for sha in [keep.audio_sha, *(c.audio_sha for c in voice.clips)]:
        assert store.read_audio(sha)


def test_same_audio_twice_is_one_blob_and_survives_one_delete(store: Store, project: Project) -> None:
    audio = os.urandom(512)
    a = make_take(store, project.id, audio=audio)
    b = make_take(store, project.id, audio=audio)
    assert a.audio_sha == b.audio_sha
    store.delete_take(a.id)
    assert store.collect_garbage(grace_seconds=0) == 0
    assert store.read_audio(b.audio_sha) == audio


# ---------------------------------------------------------------- unit of work


def test_unit_of_work_commits_its_writes_together(store: Store, project: Project) -> None:
    with store.unit_of_work() as uow:
        parent = uow.add_take(project.id, NewTake(kind="speech", audio=os.urandom(512), sample_rate=24000,
                                                  duration=1.0))
        child = uow.add_take(project.id, NewTake(kind="attempt", audio=os.urandom(512), sample_rate=24000,
                                                 duration=0.5, parent_id=parent.id))
    assert [t.id for t in store.take_children(parent.id)] == [child.id]
    assert store.count_takes(project.id) == 2


def test_unit_of_work_rolls_every_write_back_when_one_fails(store: Store, project: Project) -> None:
    """The second insert fails after the first one was flushed: neither becomes visible, and the audio
    already written is only an unreferenced blob that garbage collection removes."""
    with pytest.raises(NotFoundError, match="take 999 not found"):
        with store.unit_of_work() as uow:
            uow.add_take(project.id, NewTake(kind="speech", audio=os.urandom(512), sample_rate=24000,
                                             duration=1.0))
            uow.add_take(project.id, NewTake(kind="attempt", audio=os.urandom(512), sample_rate=24000,
                                             duration=0.5, parent_id=999))
    assert store.count_takes(project.id) == 0
    assert store.referenced_shas() == set()
    assert store.collect_garbage(grace_seconds=0) == 2 and list(store.blobs.iter_shas()) == []
