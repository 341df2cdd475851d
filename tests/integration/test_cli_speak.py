"""`python -m studio speak`: the Speak tab's use case from the shell, offline, with the embedded Piper voice
(no voice given: the engine's own), run as a user would, in a subprocess over a fresh data directory."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pipelines import audio as au
from storage import Store
from tests.conftest import NO_TTS, ROOT

pytest.importorskip("piper", reason=NO_TTS)

TEXT = "Retake speaks from the shell. The take is kept in the project."


def cli(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RETAKE_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "studio", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_speak_with_the_defaults_writes_audio_and_keeps_the_take(tmp_path):
    out = tmp_path / "hello.wav"
    result = cli(tmp_path, "speak", TEXT, "--out", str(out))
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    take = printed["take"]
    assert printed["written"] == str(out) and take["kind"] == "speech" and take["text"] == TEXT
    assert take["engine_id"] == "piper-joe-embedded" and take["voice_id"] is None
    assert take["parameters"]["gate"] is True and take["scores"]["wer_mean"] is not None  # gate on by default
    assert "chunk 1 of 2" in result.stderr
    audio = au.load(out)
    assert audio.sample_rate == 22050 and abs(audio.duration - take["duration"]) < 0.05 and audio.duration > 2.0
    store = Store.open(tmp_path / "data")
    try:
        stored = store.get_take(take["id"])
        assert stored.kind == "speech" and len(store.take_children(stored.id)) >= 2
    finally:
        store.close()


def test_speak_options_text_file_seed_no_gate_and_project(tmp_path):
    script = tmp_path / "script.txt"
    script.write_text("One line from a file, spoken without the gate.", encoding="utf-8")
    created = cli(tmp_path, "projects", "create", "Audiobook")
    assert created.returncode == 0, created.stderr
    project = json.loads(created.stdout)["id"]
    first = cli(tmp_path, "speak", "--text-file", str(script), "--out", str(tmp_path / "a.flac"), "--seed", "7",
                "--no-gate", "--engine", "piper-joe-embedded", "--project", str(project))
    assert first.returncode == 0, first.stderr
    take = json.loads(first.stdout)["take"]
    assert take["seed"] == 7 and take["parameters"]["gate"] is False and take["project_id"] == project
    again = cli(tmp_path, "--project", str(project), "speak", "--text-file", str(script), "--out",
                str(tmp_path / "b.flac"), "--seed", "7", "--no-gate")
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "a.flac").read_bytes() == (tmp_path / "b.flac").read_bytes()  # same seed, same take
    refused = cli(tmp_path, "speak", "--out", str(tmp_path / "c.wav"))
    assert refused.returncode == 2 and "Give the text to speak" in refused.stderr
    bad_voice = cli(tmp_path, "speak", "Hello there.", "--out", str(tmp_path / "d.wav"), "--voice", "999")
    assert bad_voice.returncode == 2 and "error:" in bad_voice.stderr and not (tmp_path / "d.wav").exists()
