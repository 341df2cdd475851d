"""Issue #17, faults 1, 3 and 7: an archive is an upload. A zip bomb, a take that is a shell script, a clip
over the length limit or a voice without consent is refused with one sentence, and nothing is written."""
from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import pytest

from storage import StorageError
from studio.config import Settings
from studio.service import Studio
from tests.integration import archive_forge as forge


@pytest.fixture
def guarded(tmp_path, models):
    """A studio whose limits are low: 5 MB per recording, 30 s of audio, 50 MB per archive."""
    settings = Settings(data_dir=tmp_path / "data", max_upload_mb=5, max_audio_seconds=30, max_import_mb=50)
    s = Studio.open(settings, models=models)
    yield s
    s.close()


def written(studio: Studio) -> tuple[int, list[Path]]:
    """Projects, and every file under the blob store (temp files included)."""
    return len(studio.store.list_projects()), sorted(p for p in studio.store.blobs.root.rglob("*") if p.is_file())


def refused(studio: Studio, archive: Path, match: str) -> str:
    before = written(studio)
    with pytest.raises(StorageError, match=match) as caught:
        studio.projects.import_archive(archive)
    assert written(studio) == before, "a refused archive left something behind"
    return str(caught.value)


def test_zip_bomb_is_refused_before_it_is_inflated(guarded, tmp_path):
    bomb = forge.zip_bomb(tmp_path / "bomb.zip", 200 * 1024 * 1024)
    assert bomb.stat().st_size < 2 * 1024 * 1024
    tracemalloc.start()
    try:
        message = refused(guarded, bomb, "would unpack to 200 MB")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "5 MB" in message and "Nothing was imported" in message
    assert peak < 8 * 1024 * 1024, f"import peaked at {peak / 2**20:.0f} MB of Python memory"


def test_large_member_within_the_size_limit_is_streamed_not_read_whole(tmp_path, models):
    """With the size limit above the member, the 64 MB of zeros is streamed to a temp file (memory stays
    small), found not to be audio, and removed."""
    settings = Settings(data_dir=tmp_path / "data", max_upload_mb=100, max_audio_seconds=30)
    studio = Studio.open(settings, models=models)
    try:
        bomb = forge.zip_bomb(tmp_path / "bomb.zip", 64 * 1024 * 1024)
        tracemalloc.start()
        try:
            refused(studio, bomb, "not usable audio")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 16 * 1024 * 1024, f"import peaked at {peak / 2**20:.0f} MB of Python memory"
    finally:
        studio.close()


def test_total_unpacked_size_is_capped(tmp_path, models):
    settings = Settings(data_dir=tmp_path / "data", max_upload_mb=5, max_audio_seconds=30, max_import_mb=1)
    studio = Studio.open(settings, models=models)
    try:
        clips = [forge.tone_flac(seconds, noise=True) for seconds in (20, 21, 22)]
        shas = [hashlib.sha256(c).hexdigest() for c in clips]
        man = forge.manifest([forge.take_entry(sha, ref=i + 1) for i, sha in enumerate(shas)])
        archive = forge.write_archive(tmp_path / "many.zip", man, {f"audio/{s}": c for s, c in zip(shas, clips)})
        refused(studio, archive, "at most 1 MB can be imported")
    finally:
        studio.close()


def test_a_shell_script_is_not_imported_as_a_take(guarded, tmp_path):
    script = b"#!/bin/sh\nrm -rf \"$HOME\"\n"
    refused(guarded, forge.audio_archive(tmp_path / "script.zip", script), "not usable audio")


def test_audio_longer_than_the_limit_is_refused_even_when_the_manifest_says_otherwise(guarded, tmp_path):
    long = forge.tone_flac(40.0)
    refused(guarded, forge.audio_archive(tmp_path / "long.zip", long, duration=1.0), "lasts 40 s|longer than")
    refused(guarded, forge.audio_archive(tmp_path / "declared.zip", forge.tone_flac(1.0), duration=40.0),
            "lasts 40 s")


@pytest.mark.parametrize("consent", [None, {}, {"statement": "", "confirmed_by": "x", "confirmed_at": forge.NOW},
                                     {"statement": "I agree.", "confirmed_by": "x", "confirmed_at": forge.NOW,
                                      "given": "false"},
                                     {"statement": "I agree.", "confirmed_by": "x",
                                      "confirmed_at": "2999-01-01T00:00:00+00:00"}])
def test_a_voice_without_valid_consent_is_refused(guarded, tmp_path, consent):
    clip = forge.tone_flac(2.0)
    sha = hashlib.sha256(clip).hexdigest()
    man = forge.manifest([], [forge.voice_entry(sha, consent=consent, duration=2.0)])
    refused(guarded, forge.write_archive(tmp_path / "v.zip", man, {f"audio/{sha}": clip}), "consent")


def test_a_clip_over_the_length_limit_is_refused(guarded, tmp_path):
    clip = forge.tone_flac(2.0)
    sha = hashlib.sha256(clip).hexdigest()
    man = forge.manifest([], [forge.voice_entry(sha, duration=31.0)])
    refused(guarded, forge.write_archive(tmp_path / "v.zip", man, {f"audio/{sha}": clip}), "clip of 31 s")


def test_a_valid_archive_still_imports(guarded, tmp_path):
    clip = forge.tone_flac(2.0)
    sha = hashlib.sha256(clip).hexdigest()
    man = forge.manifest([forge.take_entry(sha, duration=2.0)], [forge.voice_entry(sha, duration=2.0)])
    project = guarded.projects.import_archive(forge.write_archive(tmp_path / "ok.zip", man, {f"audio/{sha}": clip}))
    assert [t.audio_sha for t in guarded.takes.all(project.id)] == [sha]
    assert not [p for p in guarded.store.blobs.root.rglob("*.tmp")]


def test_a_zip_whose_directory_points_before_the_file_is_refused(guarded, tmp_path):
    """Found by the fuzzing drill: a directory offset larger than it can be made zipfile seek before the
    start of the file (OSError: Invalid argument), which escaped as a raw error."""
    clip = forge.tone_flac(1.0)
    archive = forge.audio_archive(tmp_path / "ok.zip", clip)
    data = bytearray(archive.read_bytes())
    end = data.rindex(b"PK\x05\x06")
    offset = int.from_bytes(data[end + 16:end + 20], "little")
    data[end + 16:end + 20] = (offset + 10_000).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    refused(guarded, archive, "not a readable Retake project archive")
