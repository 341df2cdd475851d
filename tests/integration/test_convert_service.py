"""Converting recordings into a library voice through the studio: lineage, scores, refusals that store
nothing, and the command line."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from pipelines.cancel import Cancelled, CancelToken
from studio.convert import ConvertRequest
from studio.voices import ClipInput
from tests.conftest import ROOT, speech_clip

SOURCE = "coqui_lj_LJ001-0006"
TARGET = "resemblyzer_ls_6848-252322-0000"

pytestmark = pytest.mark.skipif(__import__("importlib").util.find_spec("pyworld") is None,
                                reason="pyworld not installed")


@pytest.fixture
def project_id(studio, request) -> int:
    return studio.projects.create(f"p-{request.node.name}"[:60]).id


@pytest.fixture
def voice(studio, project_id):
    return studio.voices.create(project_id, "Target", [ClipInput(speech_clip(TARGET))], consent=True)


def test_an_upload_converts_into_a_child_take_with_scores(studio, project_id, voice):
    result = studio.convert.convert(ConvertRequest(project_id, voice.id, source=speech_clip(SOURCE)))
    take, parent = result.take, studio.takes.get(result.take.parent_id)
    assert parent.kind == "recording" and take.kind == "converted"
    assert (take.voice_id, take.engine_id) == (voice.id, "world-matcher")
    assert take.engine_revision.startswith("pyworld==")
    assert take.parameters["settings"]["pitch_shift"] == 0.0 and take.parameters["source_take"] == parent.id
    assert take.duration == pytest.approx(parent.duration, abs=1e-3) and take.scores["duration_ratio"] == 1.0
    assert take.scores["similarity"] >= take.scores["similarity_before"] + 0.1
    assert take.scores["wer_vs_source"] <= 0.2
    stored = studio.media.take_audio(take)
    assert np.allclose(stored.samples, result.converted.samples, atol=1e-4)  # what was stored is what was heard


def test_a_take_converts_with_options(studio, project_id, voice):
    source = studio.takes.import_recording(project_id, speech_clip(SOURCE), "text")
    result = studio.convert.convert(ConvertRequest(project_id, voice.id, take_id=source.id, pitch_shift=-2,
                                                   keep_loudness=False, keep_pauses=False, score=False))
    assert result.take.parent_id == source.id and result.take.text == "text"
    assert result.take.parameters["settings"] == {**result.take.parameters["settings"], "pitch_shift": -2.0,
                                                  "keep_loudness": False, "keep_silence": False}
    assert set(result.scores) == {"duration_ratio"}


def test_refusals_store_nothing(studio, project_id, voice, tmp_path):
    hiss = tmp_path / "hiss.wav"
    sf.write(hiss, (0.05 * np.random.default_rng(1).standard_normal(48000)).astype(np.float32), 16000)
    with pytest.raises(ValueError, match="too little voiced speech"):
        studio.convert.convert(ConvertRequest(project_id, voice.id, source=hiss))
    with pytest.raises(ValueError, match="already sounds like 'Target'"):
        studio.convert.convert(ConvertRequest(project_id, voice.id, source=speech_clip(TARGET)))
    with pytest.raises(ValueError, match="either a take or an uploaded"):
        studio.convert.convert(ConvertRequest(project_id, voice.id))
    with pytest.raises(ValueError, match="not a voice converter"):
        studio.convert.convert(ConvertRequest(project_id, voice.id, source=speech_clip(SOURCE),
                                              engine_id="piper-joe-embedded"))
    other = studio.projects.create("elsewhere").id
    with pytest.raises(ValueError, match="not in this project"):
        studio.convert.convert(ConvertRequest(other, voice.id, source=speech_clip(SOURCE)))
    assert studio.takes.count(project_id) == 0 and studio.takes.count(other) == 0


def test_a_take_already_in_the_voice_is_refused(studio, project_id, voice):
    converted = studio.convert.convert(ConvertRequest(project_id, voice.id, source=speech_clip(SOURCE), score=False))
    with pytest.raises(ValueError, match="already in the voice 'Target'"):
        studio.convert.convert(ConvertRequest(project_id, voice.id, take_id=converted.take.id))


def test_a_cancelled_conversion_stores_nothing(studio, project_id, voice):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        studio.convert.convert(ConvertRequest(project_id, voice.id, source=speech_clip(SOURCE)), cancel=token)
    assert studio.takes.count(project_id) == 0


def test_the_command_line_converts_a_file(tmp_path):
    env = {**os.environ, "RETAKE_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "studio", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300)
    made = cli("voices", "create", "Target", str(speech_clip(TARGET)), "--consent")
    assert made.returncode == 0, made.stderr
    voice_id = json.loads(made.stdout)["id"]
    out = tmp_path / "converted.flac"
    done = cli("convert", str(speech_clip(SOURCE)), "--voice", str(voice_id), "--out", str(out), "--pitch-shift", "1")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    scores = report["scores"]
    assert report["take"]["kind"] == "converted" and scores["similarity"] > scores["similarity_before"]
    assert sf.info(out).duration == pytest.approx(report["take"]["duration"], abs=0.01)
    refused = cli("convert", "--voice", str(voice_id))
    assert refused.returncode == 2 and "Give a recording to convert, or --take" in refused.stderr
