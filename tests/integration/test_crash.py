"""A process killed with SIGKILL while creating a voice leaves the whole voice or nothing at all."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from storage import Store
from tests.conftest import ROOT, speech_clip

CLIP_IDS = ["coqui_lj_LJ001-0001", "coqui_lj_LJ001-0003", "coqui_lj_LJ001-0006", "coqui_lj_LJ001-0010",
            "coqui_lj_LJ001-0012", "coqui_lj_LJ001-0014", "coqui_lj_LJ001-0016", "coqui_lj_LJ001-0018"]


def start_create(data_dir: Path, name: str) -> subprocess.Popen:
    clips = [str(speech_clip(c)) for c in CLIP_IDS]
    env = {**os.environ, "RETAKE_DATA_DIR": str(data_dir)}
    return subprocess.Popen([sys.executable, "-m", "studio", "voices", "create", name, *clips, "--consent"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def referenced_blobs(store: Store) -> set[Path]:
    shas = {clip.audio_sha for project in store.list_projects() for voice in store.list_voices(project.id)
            for clip in voice.clips}
    return {store.audio_path(sha) for sha in shas}


def assert_whole_or_nothing(data_dir: Path) -> list[str]:
    store = Store.open(data_dir)
    try:
        voices = [v for p in store.list_projects() for v in store.list_voices(p.id)]
        for voice in voices:
            assert len(voice.clips) == len(CLIP_IDS), f"{voice.name} has {len(voice.clips)} clips"
        referenced = referenced_blobs(store)
        assert all(path.exists() for path in referenced), "a row points at a missing audio file"
        store.collect_garbage(grace_seconds=0)
        blob_dir = data_dir / "blobs"
        assert files_under(blob_dir) == referenced, "orphan files survived garbage collection"
        return [v.name for v in voices]
    finally:
        store.close()


def test_kill_while_audio_is_being_written_leaves_nothing(tmp_path):
    data_dir = tmp_path / "data"
    process = start_create(data_dir, "Killed")
    blob_dir = data_dir / "blobs"
    while process.poll() is None and not files_under(blob_dir):
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the process finished before it could be killed"
    assert assert_whole_or_nothing(data_dir) == []


def test_kill_at_many_moments_never_leaves_half_a_voice(tmp_path):
    data_dir = tmp_path / "data"
    started = time.monotonic()
    complete = start_create(data_dir, "Complete")
    assert complete.wait(timeout=120) == 0, complete.stderr.read().decode()
    full = time.monotonic() - started

    outcomes = {}
    for i, fraction in enumerate([0.3, 0.5, 0.65, 0.8, 0.9, 0.97]):
        process = start_create(data_dir, f"Voice {i}")
        time.sleep(full * fraction)
        process.send_signal(signal.SIGKILL)
        process.wait()
        outcomes[f"Voice {i}"] = process.returncode
    names = assert_whole_or_nothing(data_dir)
    assert "Complete" in names
    for name, code in outcomes.items():
        if code == 0:
            assert name in names  # finished before the kill: it must be there, whole
