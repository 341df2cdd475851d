"""Store facade on a real SQLite file: projects, voices, embeddings, takes, audio."""
from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from storage import (
    Clip,
    ConflictError,
    Consent,
    NewClip,
    NewTake,
    NotFoundError,
    Project,
    Store,
    Take,
    Voice,
)
from storage.records import Consent as ConsentRecord

CONSENT = Consent(
    statement="I, Ann, agree that Retake may clone my voice for this audiobook.",
    confirmed_by="Ann Example",
    confirmed_at=datetime(2025, 3, 1, 12, 30, tzinfo=timezone(timedelta(hours=2))),
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "data")
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
    time.sleep(0.002)
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


def test_not_found_cases(store: Store) -> None:
    calls = [
        lambda: store.get_project(7), lambda: store.get_voice(7), lambda: store.get_take(7),
        lambda: store.list_voices(7), lambda: store.delete_voice(7), lambda: store.delete_take(7),
        lambda: store.set_starred(7, True), lambda: store.get_embedding(7, "ecapa"),
        lambda: store.delete_project(7),
    ]
    for call in calls:
        with pytest.raises(NotFoundError, match="7 not found"):
            call()


def test_records_are_frozen_dataclasses_not_orm_rows(store: Store, project: Project) -> None:
    voice = make_voice(store, project.id)
    take = make_take(store, project.id, voice_id=voice.id)
    listed = store.list_takes(project.id)
    voices = store.list_voices(project.id)
    store.close()  # records stay fully usable with no session or connection behind them
    for record in [project, voice, voice.clips[0], voice.consent, take, *listed, *voices, voices[0].clips[1]]:
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
