"""Project export/import round trip between two real stores, and refusal of damaged archives."""
from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from storage import Consent, NewClip, NewTake, NewTranscript, Project, StorageError, Store, Take, Voice

CONSENT = Consent("I agree to have my voice cloned.", "Ann Example",
                  datetime(2025, 2, 3, 4, 5, 6, 789000, tzinfo=UTC))


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "source") as store:
        yield store


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "target") as store:
        yield store


def clip(transcript: str) -> NewClip:
    return NewClip(os.urandom(3000), 24000, 1.25, transcript, f"{transcript}.flac")


def take(kind: str, audio: bytes | None = None, **fields: object) -> NewTake:
    return NewTake(kind=kind, audio=audio or os.urandom(2000), sample_rate=24000, duration=0.75,
                   **fields)  # type: ignore[arg-type]


def build_project(store: Store) -> Project:
    """Voices with clips and embeddings, and takes with a lineage tree, a shared blob, a take
    whose voice was deleted and one whose parent was deleted; three takes have transcripts."""
    project = store.create_project("Audiobook")
    ann = store.create_voice(project.id, "Ann", "en", [clip("one"), clip("two")], CONSENT)
    bea = store.create_voice(project.id, "Bea", "de", [clip("drei")], CONSENT)
    gone = store.create_voice(project.id, "Gone", "fr", [clip("un")], CONSENT)
    store.set_embedding(ann.id, "ecapa", np.random.default_rng(1).standard_normal(192))
    store.set_embedding(ann.id, "wavlm", np.random.default_rng(2).standard_normal(256))
    store.set_embedding(bea.id, "ecapa", np.random.default_rng(3).standard_normal(192))

    shared = os.urandom(1500)
    root = store.add_take(project.id, take("tts", shared, text="Chapter one.", voice_id=ann.id,
                                          engine_id="kokoro", engine_revision="r1",
                                          parameters={"speed": 1.0, "style": [0.1, 0.2]}, seed=7,
                                          scores={"wer": 0.0, "sim": 0.91}))
    store.set_transcript(root.id, text="Chapter won.", words=[("Chapter", 0.1, 0.5, 0.9),
                                                               ("won.", 0.55, 0.7, 0.4)],
                         engine_id="whisper-base-embedded", language="en")
    store.set_transcript(root.id, text="Chapter one.", words=[("Chapter", 0.1, 0.5, 0.95),
                                                               ("one.", 0.55, 0.7, 0.875)],
                         engine_id="whisper-base-embedded", language="en")  # replaces the first
    edit = store.add_take(project.id, take("edit", parent_id=root.id, voice_id=ann.id,
                                          parameters={"cut": [0.5, 0.9]}),
                          transcript=NewTranscript("Chapter.", [("Chapter", 0.1, 0.5, 0.95)]))
    store.add_take(project.id, take("cleanup", parent_id=edit.id, voice_id=ann.id))
    store.add_take(project.id, take("tts", shared, text="Chapter one, again.", voice_id=bea.id,
                                    parent_id=root.id, seed=2**62))
    orphan_parent = store.add_take(project.id, take("tts", voice_id=gone.id))
    orphan = store.add_take(project.id, take("edit", parent_id=orphan_parent.id))
    store.delete_take(orphan_parent.id)
    late = store.add_take(project.id, take("tts", voice_id=gone.id, text="voice deleted later"))
    store.set_transcript(late.id, text="", words=[], engine_id="whisper-base-embedded", language=None)
    store.delete_voice(gone.id)
    store.set_starred(edit.id, True)
    assert store.get_take(orphan.id).parent_id is None
    # Unrelated data in another project must stay out of the archive.
    other = store.create_project("Other")
    stranger = store.add_take(other.id, take("tts"))
    store.set_transcript(stranger.id, text="Not ours.", words=[("Not", 0.0, 0.2, 1.0)], engine_id=None,
                         language="en")
    return project


def all_takes(store: Store, project_id: int) -> list[Take]:
    return store.list_takes(project_id, limit=1000)


def without_ids(voice: Voice) -> Voice:
    return dataclasses.replace(voice, id=0, project_id=0,
                               clips=tuple(dataclasses.replace(c, id=0) for c in voice.clips))


def test_round_trip_into_a_fresh_store(source: Store, target: Store, tmp_path: Path) -> None:
    project = build_project(source)
    archive = source.export_project(project.id, tmp_path / "out" / "audiobook.zip")
    assert archive.is_file()
    assert not [p for p in archive.parent.iterdir() if p != archive]  # no temp file left

    imported = target.import_project(archive)
    assert imported.name == "Audiobook"

    old_voices, new_voices = source.list_voices(project.id), target.list_voices(imported.id)
    assert [without_ids(v) for v in old_voices] == [without_ids(v) for v in new_voices]
    assert {v.project_id for v in new_voices} == {imported.id}
    voice_map = {o.id: n.id for o, n in zip(old_voices, new_voices, strict=True)}
    for old_voice, new_voice in zip(old_voices, new_voices, strict=True):
        for encoder in old_voice.embedding_encoders:
            before = source.get_embedding(old_voice.id, encoder)
            after = target.get_embedding(new_voice.id, encoder)
            assert before is not None and after is not None
            np.testing.assert_array_equal(before, after)

    old_takes, new_takes = all_takes(source, project.id), all_takes(target, imported.id)
    assert len(old_takes) == len(new_takes) == 6
    take_map = {o.id: n.id for o, n in zip(old_takes, new_takes, strict=True)}
    for old, new in zip(old_takes, new_takes, strict=True):
        expected = dataclasses.replace(
            old,
            id=new.id,
            project_id=imported.id,
            voice_id=voice_map[old.voice_id] if old.voice_id is not None else None,
            parent_id=take_map[old.parent_id] if old.parent_id is not None else None,
        )
        assert new == expected
    assert sum(t.parent_id is not None for t in new_takes) == 3
    assert sum(t.voice_id is None for t in new_takes) == 2

    carried = 0
    for old, new in zip(old_takes, new_takes, strict=True):
        before, after = source.get_transcript(old.id), target.get_transcript(new.id)
        if before is None:
            assert after is None
            continue
        assert after == dataclasses.replace(before, take_id=new.id)  # words, engine, created_at exact
        carried += 1
    assert carried == 3

    shas = {c.audio_sha for v in old_voices for c in v.clips} | {t.audio_sha for t in old_takes}
    assert set(target.blobs.iter_shas()) == shas  # exactly this project's audio, nothing else
    for sha in shas:
        assert target.read_audio(sha) == source.read_audio(sha)


def test_archive_layout(source: Store, tmp_path: Path) -> None:
    project = build_project(source)
    archive = source.export_project(project.id, tmp_path / "a.zip")
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
    assert names[0] == "manifest.json"
    assert all(n.startswith("audio/") and len(n) == len("audio/") + 64 for n in names[1:])
    assert manifest["format"] == "retake-project" and manifest["version"] == 1
    assert [v["name"] for v in manifest["voices"]] == ["Ann", "Bea"]
    assert manifest["voices"][0]["consent"]["confirmed_by"] == "Ann Example"
    transcripts = [t["transcript"] for t in manifest["takes"] if t["transcript"] is not None]
    assert sorted(t["text"] for t in transcripts) == ["", "Chapter one.", "Chapter."]  # only the newest
    assert ["Chapter", 0.1, 0.5, 0.95] in [w for t in transcripts for w in t["words"]]
    refs = {t["ref"] for t in manifest["takes"]}
    assert all(t["parent_ref"] in refs for t in manifest["takes"] if t["parent_ref"] is not None)
    # The shared blob is archived once.
    assert len(names) - 1 == len({t["audio_sha"] for t in manifest["takes"]}
                                 | {c["audio_sha"] for v in manifest["voices"] for c in v["clips"]})


def test_import_twice_gets_a_suffix_and_shares_blobs(source: Store, tmp_path: Path) -> None:
    project = build_project(source)
    archive = source.export_project(project.id, tmp_path / "a.zip")
    blobs_before = set(source.blobs.iter_shas())
    again = source.import_project(archive)
    third = source.import_project(archive)
    named = source.import_project(archive, name="Renamed")
    assert (again.name, third.name, named.name) == ("Audiobook (2)", "Audiobook (3)", "Renamed")
    assert set(source.blobs.iter_shas()) == blobs_before
    assert source.count_takes(again.id) == source.count_takes(project.id)


def rewrite(archive: Path, out: Path, change: dict[str, bytes]) -> Path:
    """Copy the zip, replacing some members' bytes (the zip itself stays well-formed)."""
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, change.get(info.filename, src.read(info.filename)))
    return out


def assert_nothing_written(store: Store) -> None:
    assert store.list_projects() == []
    assert list(store.blobs.iter_shas()) == []
    assert not [p for p in store.blobs.root.rglob("*") if p.is_file()]


def test_tampered_audio_is_refused_and_nothing_is_written(source: Store, target: Store, tmp_path: Path) -> None:
    project = build_project(source)
    archive = source.export_project(project.id, tmp_path / "a.zip")
    with zipfile.ZipFile(archive) as zf:
        last = sorted(n for n in zf.namelist() if n.startswith("audio/"))[-1]
        data = bytearray(zf.read(last))
    data[len(data) // 2] ^= 0x01
    tampered = rewrite(archive, tmp_path / "tampered.zip", {last: bytes(data)})
    with pytest.raises(StorageError, match="does not match its checksum"):
        target.import_project(tampered)
    assert_nothing_written(target)


def test_corrupted_zip_bytes_are_refused(source: Store, target: Store, tmp_path: Path) -> None:
    project = build_project(source)
    archive = source.export_project(project.id, tmp_path / "a.zip")
    raw = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo(sorted(n for n in zf.namelist() if n.startswith("audio/"))[-1])
    raw[info.header_offset + 30 + len(info.filename) + 10] ^= 0xFF  # inside the stored audio
    broken = tmp_path / "broken.zip"
    broken.write_bytes(bytes(raw))
    with pytest.raises(StorageError, match="CRC|checksum"):
        target.import_project(broken)
    assert_nothing_written(target)


@pytest.mark.parametrize("damage", ["missing_audio", "dangling_parent", "bad_version", "bad_vector", "not_json"])
def test_invalid_manifest_is_refused(source: Store, target: Store, tmp_path: Path, damage: str) -> None:
    project = build_project(source)
    archive = source.export_project(project.id, tmp_path / "a.zip")
    with zipfile.ZipFile(archive) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    change: dict[str, bytes] = {}
    if damage == "missing_audio":
        manifest["takes"][0]["audio_sha"] = "0" * 64
    elif damage == "dangling_parent":
        manifest["takes"][1]["parent_ref"] = 999
    elif damage == "bad_version":
        manifest["version"] = 99
    elif damage == "bad_vector":
        manifest["voices"][0]["embeddings"][0]["dim"] = 3
    change["manifest.json"] = b"{nope" if damage == "not_json" else json.dumps(manifest).encode()
    with pytest.raises(StorageError):
        target.import_project(rewrite(archive, tmp_path / "bad.zip", change))
    assert_nothing_written(target)


@pytest.mark.parametrize("member", ["manifest.json", "audio"])
def test_a_member_flagged_encrypted_is_refused(source: Store, target: Store, tmp_path: Path, member: str) -> None:
    # found by the archive fuzz drill: one flipped bit marked manifest.json encrypted, and zipfile's
    # "password required" RuntimeError reached the person instead of a refusal
    project = build_project(source)
    archive = source.export_project(project.id, tmp_path / "a.zip")
    raw = bytearray(archive.read_bytes())
    at = raw.find(b"PK\x01\x02")  # the central directory, where zipfile reads each member's flags
    while at >= 0:
        name_length = int.from_bytes(raw[at + 28:at + 30], "little")
        if raw[at + 46:at + 46 + name_length].decode().startswith(member):
            raw[at + 8] |= 0x01  # "encrypted"
            break
        at = raw.find(b"PK\x01\x02", at + 4)
    assert at >= 0, member
    flagged = tmp_path / "flagged.zip"
    flagged.write_bytes(bytes(raw))
    with pytest.raises(StorageError, match="is encrypted"):
        target.import_project(flagged)
    assert_nothing_written(target)


def test_not_a_zip_is_refused(target: Store, tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(os.urandom(500))
    with pytest.raises(StorageError):
        target.import_project(junk)
    assert_nothing_written(target)


def test_archive_made_before_transcripts_still_imports(source: Store, target: Store, tmp_path: Path) -> None:
    """Archives written before storage revision 0002 have no "transcript" key on their takes."""
    project = build_project(source)
    archive = source.export_project(project.id, tmp_path / "a.zip")
    with zipfile.ZipFile(archive) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    for t in manifest["takes"]:
        del t["transcript"]
    old = rewrite(archive, tmp_path / "old.zip", {"manifest.json": json.dumps(manifest).encode()})
    imported = target.import_project(old)
    new_takes = all_takes(target, imported.id)
    assert [t.text for t in new_takes] == [t.text for t in all_takes(source, project.id)]
    assert all(target.get_transcript(t.id) is None for t in new_takes)
    assert len(target.list_voices(imported.id)) == 2


@pytest.mark.parametrize("damage", ["out_of_order", "end_before_start", "nan_time", "no_text", "words_not_list",
                                    "naive_time"])
def test_bad_transcript_in_archive_is_refused(source: Store, target: Store, tmp_path: Path, damage: str) -> None:
    project = build_project(source)
    archive = source.export_project(project.id, tmp_path / "a.zip")
    with zipfile.ZipFile(archive) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    victim = next(t for t in manifest["takes"] if t["transcript"] and len(t["transcript"]["words"]) == 2)
    transcript = victim["transcript"]
    if damage == "out_of_order":
        transcript["words"].reverse()
    elif damage == "end_before_start":
        transcript["words"][0][2] = 0.0
    elif damage == "nan_time":
        transcript["words"][1][1] = float("nan")  # json.dumps writes NaN, json.loads reads it back
    elif damage == "no_text":
        del transcript["text"]
    elif damage == "words_not_list":
        transcript["words"] = "Chapter one."
    elif damage == "naive_time":
        transcript["created_at"] = "2025-01-01T10:00:00"
    bad = rewrite(archive, tmp_path / "bad.zip", {"manifest.json": json.dumps(manifest).encode()})
    with pytest.raises(StorageError, match=rf"invalid project archive: take {victim['ref']} transcript: "):
        target.import_project(bad)
    assert_nothing_written(target)
