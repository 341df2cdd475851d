"""`python -m studio enhance`: the Enhance tab's use case from the shell, run as a user would (a subprocess over a
fresh data directory, offline) on a real noisy recording, with the embedded denoisers."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from pipelines import audio as au
from pipelines import mastering
from studio.config import Settings
from studio.service import Studio
from tests.conftest import ROOT, needs_speech, speech_clip

pytestmark = needs_speech

NOISY = "denoiser_noisy_p287_002"  # VCTK speech with real recorded noise, about 20 dB under it


def cli(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RETAKE_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "studio", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def ok(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def stored_audio(tmp_path, take_id: int) -> au.Audio:
    studio = Studio.open(Settings(data_dir=tmp_path / "data"))
    try:
        return studio.media.take_audio(studio.takes.get(take_id))
    finally:
        studio.close()


def test_a_noisy_recording_is_denoised_and_mastered_and_the_file_is_the_stored_take(tmp_path):
    out = tmp_path / "clean.flac"  # the store keeps 24-bit FLAC: the same samples, bit for bit
    result = cli(tmp_path, "enhance", str(speech_clip(NOISY)), "--out", str(out))
    printed = ok(result)
    assert "DeepFilterNet3: loading" in result.stderr  # progress on stderr, the JSON alone on stdout
    take = printed["take"]
    assert take["kind"] == "enhanced" and take["engine_id"] == "deepfilternet3" and take["parent_id"] is not None
    # noisy input: the SNR gate lets the denoiser work (limited, so speech bands are kept), and the recogniser
    # heard the speech before and after
    assert take["scores"]["snr_before_db"] < 25 and take["parameters"] == {"target": "podcast", "atten_limit_db": 12.0}
    assert take["scores"]["asr_confidence_after"] is not None
    assert abs(printed["after"]["integrated_lufs"] - mastering.TARGETS["podcast"].level_db) <= 1.0
    assert printed["before"]["integrated_lufs"] < printed["after"]["integrated_lufs"] - 3  # the clip was quiet
    assert [row["name"] for row in printed["target"]] == ["Loudness", "True peak"]
    assert all(row["met"] and "problem" not in row and row["says"].endswith("met") for row in printed["target"])
    written = au.load(out)
    np.testing.assert_array_equal(written.samples, stored_audio(tmp_path, take["id"]).samples)  # as stored
    assert printed["written"] == str(out)


def test_a_take_with_options_then_every_take_of_the_project(tmp_path):
    imported = ok(cli(tmp_path, "takes", "import", str(speech_clip(NOISY))))
    plain = ok(cli(tmp_path, "enhance", "--take", str(imported["id"]), "--engine", "none", "--target", "none",
                   "--no-check"))["take"]
    # no denoiser, no target: nothing to change, and nothing heard
    assert plain["engine_id"] is None and plain["parameters"] == {"target": None, "atten_limit_db": None}
    assert "asr_confidence_after" not in plain["scores"] and plain["parent_id"] == imported["id"]
    np.testing.assert_allclose(stored_audio(tmp_path, plain["id"]).samples,
                               stored_audio(tmp_path, imported["id"]).samples, atol=1e-4)
    limited = ok(cli(tmp_path, "enhance", "--take", str(imported["id"]), "--engine", "rnnoise", "--atten-limit", "6",
                     "--target", "broadcast"))
    assert limited["take"]["parameters"] == {"target": "broadcast", "atten_limit_db": 6.0}
    assert abs(limited["after"]["integrated_lufs"] - mastering.TARGETS["broadcast"].level_db) <= 1.0

    every = ok(cli(tmp_path, "enhance", "--all", "--target", "audiobook"))["takes"]
    assert [t["parent_id"] for t in every] == [imported["id"]]  # enhancement results are not enhanced again
    assert every[0]["kind"] == "enhanced" and every[0]["engine_id"] == "deepfilternet3"


def test_wrong_requests_are_one_line_errors_and_store_nothing(tmp_path):
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(range(200)))
    noisy = str(speech_clip(NOISY))
    asked = {
        ("enhance",): "Give a recording to enhance, or --take, or --all",
        ("enhance", noisy, "--take", "1"): "only one of them",
        ("enhance", "--all", "--out", str(tmp_path / "x.wav")): "--all enhances every take as it is",
        ("enhance", noisy, "--target", "loud"): "Unknown delivery target 'loud'",
        ("enhance", noisy, "--atten-limit", "200"): "between 0 and 100 dB",
        ("enhance", noisy, "--engine", "silero-vad"): "not an enhancement engine",
        ("enhance", noisy, "--out", str(tmp_path / "x.aiff")): "--out must end in one of",
        ("enhance", str(corrupt)): "",
        ("enhance", str(tmp_path / "missing.wav")): "",
        ("enhance", "--take", "99"): "",
    }
    for args, message in asked.items():
        result = cli(tmp_path, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert result.stderr.startswith("error: ") and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert ok(cli(tmp_path, "takes", "list")) == []
    assert not (tmp_path / "x.wav").exists() and not (tmp_path / "x.aiff").exists()
