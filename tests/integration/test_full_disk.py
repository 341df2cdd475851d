"""A full disk is an error the user can read, and it leaves no rows and no partial files behind."""
from __future__ import annotations

import subprocess

import gradio as gr
import pytest

from studio.config import Settings
from studio.service import Studio
from studio.voices import ClipInput
from studio.ui.errors import user_errors
from tests.conftest import speech_clip


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MiB tmpfs: needs root and mount rights (CI has both); skipped elsewhere."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
                            capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk, leave_bytes: int):
    filler = disk / "filler"
    # Unbuffered: a buffered file would keep the last partial write and fail again on close, depending on
    # how the free space happens to divide into the write size.
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
    # Free a little room so the database stays writable but audio blobs no longer fit.
    with open(filler, "r+b") as f:
        f.truncate(max(0, filler.stat().st_size - leave_bytes))
    return filler


def test_voice_on_a_full_disk_fails_cleanly_and_works_after_space_is_freed(small_disk):
    studio = Studio.open(Settings(data_dir=small_disk / "data"))
    try:
        project = studio.projects.list()[0].id
        clips = [ClipInput(speech_clip(c)) for c in ("coqui_lj_LJ001-0001", "coqui_lj_LJ001-0003")]
        filler = fill(small_disk, leave_bytes=200_000)

        create = user_errors(lambda: studio.voices.create(project, "Full", clips, consent=True))
        with pytest.raises(gr.Error, match="disk is full"):
            create()
        assert studio.voices.list(project) == []
        leftovers = [p for p in (small_disk / "data" / "blobs").rglob("*") if p.is_file()]
        studio.takes.collect_garbage()
        assert not [p for p in leftovers if p.name.endswith(".tmp")], "a partial temp file was left behind"

        filler.unlink()
        voice = studio.voices.create(project, "Full", clips, consent=True)
        assert len(voice.clips) == 2
    finally:
        studio.close()


def test_database_on_a_full_disk_fails_cleanly(small_disk):
    """Audio already stored, so the write that fails is SQLite's own."""
    studio = Studio.open(Settings(data_dir=small_disk / "data"))
    try:
        project = studio.projects.list()[0].id
        clips = [ClipInput(speech_clip("coqui_lj_LJ001-0008"))]
        studio.voices.create(project, "First", clips, consent=True)
        fill(small_disk, leave_bytes=0)
        many = [ClipInput(speech_clip("coqui_lj_LJ001-0008"), transcript="x" * 20_000)] * 10
        with pytest.raises(gr.Error, match="disk is full"):
            user_errors(lambda: studio.voices.create(project, "Second", many, consent=True))()
        assert [v.name for v in studio.voices.list(project)] == ["First"]
    finally:
        studio.close()
