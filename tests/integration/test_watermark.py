"""The watermark on synthetic takes (issue #16) with the real PerthNet weights and the embedded Piper voice:
Speak takes (and their attempts) are marked and say so, real recordings are not, the mark survives an MP3
download, marking does not move the quality gate's scores, RETAKE_WATERMARK=0 turns it off, and the Takes tab's
"check a file" action reads it."""
from __future__ import annotations

import importlib.util

import gradio as gr
import numpy as np
import pytest

from pipelines import audio as au
from pipelines.scoring import Scorer
from pipelines.watermark import THRESHOLD, Watermarker, shared
from studio.config import Settings
from studio.media import TRANSCRIBER
from studio.service import Studio
from studio.ui.takes import CheckHandlers
from studio.voice_match import ENCODER
from tests.conftest import NO_TTS, speech_clip, speech_manifest

pytestmark = pytest.mark.slow
if importlib.util.find_spec("perth") is None:
    pytest.skip("resemble-perth not installed: pip install -r requirements-core.txt", allow_module_level=True)

TEXT = "Every synthetic take carries a quiet mark. Nobody can hear it, but the studio can read it."


def clip(clip_id: str) -> au.Audio:
    return au.load(speech_clip(clip_id).read_bytes(), max_seconds=None)


@pytest.fixture(scope="module")
def project_id(studio) -> int:
    return studio.projects.list()[0].id


@pytest.fixture(scope="module")
def spoken(studio, project_id):
    pytest.importorskip("piper", reason=NO_TTS)
    return list(studio.speak.speak(project_id, TEXT, seed=11, gate=True))[-1]


def test_marking_keeps_rate_length_and_leaves_silence_alone():
    original = clip("coqui_lj_LJ001-0016")
    marked = shared().mark(original)
    assert marked.sample_rate == original.sample_rate and marked.num_samples == original.num_samples
    assert marked.samples.dtype == np.float32 and not np.array_equal(marked.samples, original.samples)
    silent = au.silence(1.0, 22050)
    assert shared().mark(silent) is silent and shared().detect(silent) == 0.0


def test_a_speak_take_and_its_attempts_are_marked(studio, spoken):
    take = studio.takes.get(spoken.take.id)
    assert take.parameters["watermark"] == "perth"
    assert studio.marking.check(studio.takes.audio(take.id)) >= THRESHOLD
    assert spoken.attempts and all(studio.marking.check(studio.takes.audio(a.id)) >= THRESHOLD
                                   for a in spoken.attempts)


def test_a_real_recording_is_not_marked_nor_is_its_import(studio, project_id):
    path = speech_clip("coqui_lj_LJ001-0001")
    assert studio.marking.check(path) < THRESHOLD
    imported = studio.takes.import_recording(project_id, path, "", name=path.name)
    assert "watermark" not in imported.parameters
    assert studio.marking.check(studio.takes.audio(imported.id)) < THRESHOLD


def test_the_mark_survives_an_mp3_download(studio, spoken):
    path = studio.takes.file(spoken.take.id, "mp3")
    decoded = au.load(path.read_bytes(), max_seconds=None)
    assert studio.marking.check(decoded) >= THRESHOLD


def test_marking_does_not_move_the_quality_gates_scores(studio):
    """The gate's measures on real clips, as recorded and marked: WER unchanged on clean speech, Resemblyzer
    similarity to another clip of the speaker within 0.04 (bench/watermark.py: mean -0.011, worst 0.025)."""
    encoder, transcriber = studio.models.get(ENCODER), studio.models.get(TRANSCRIBER)
    scorer = Scorer(encoder, transcriber)  # type: ignore[arg-type]
    manifest = speech_manifest()
    for clip_id, other in [("coqui_lj_LJ001-0001", "coqui_lj_LJ001-0003"),
                           ("denoiser_clean_p287_004", "denoiser_clean_p287_006")]:
        original = clip(clip_id)
        reference = encoder(clip(other))  # type: ignore[operator]
        text = manifest[clip_id]["transcript"]
        before = scorer.score(original, text, reference)
        after = scorer.score(shared().mark(original), text, reference)
        assert before.wer is not None and after.wer is not None and abs(after.wer - before.wer) <= 0.1
        assert before.speaker_similarity is not None and after.speaker_similarity is not None
        assert abs(after.speaker_similarity - before.speaker_similarity) <= 0.04


def test_retake_watermark_0_leaves_takes_unmarked(tmp_path, models):
    pytest.importorskip("piper", reason=NO_TTS)
    assert Settings.from_env({"RETAKE_WATERMARK": "0"}).watermark is False
    assert Settings.from_env({}).watermark is True
    studio = Studio.open(Settings(data_dir=tmp_path / "data", max_audio_seconds=60, watermark=False), models=models)
    try:
        project_id = studio.projects.list()[0].id
        done = list(studio.speak.speak(project_id, "An unmarked take, as asked.", seed=3, gate=False))[-1]
        assert "watermark" not in studio.takes.get(done.take.id).parameters
        assert studio.marking.check(studio.takes.audio(done.take.id)) < THRESHOLD
    finally:
        studio.close()


def test_the_check_action_reads_a_file(studio, spoken, tmp_path):
    handle = CheckHandlers(studio.marking)
    marked = tmp_path / "marked.wav"
    marked.write_bytes(au.encode(studio.takes.audio(spoken.take.id), "wav"))
    assert handle.check_watermark(str(marked)).startswith("Watermarked")
    assert handle.check_watermark(str(speech_clip("coqui_lj_LJ001-0001"))).startswith("No watermark")
    with pytest.raises(gr.Error, match="Upload an audio file"):
        handle.check_watermark(None)


def test_one_watermarker_loads_once():
    assert shared() is shared() and isinstance(shared(), Watermarker)


def test_an_edit_with_new_words_is_marked_and_a_cut_is_not(studio, project_id):
    from tests.fakes import FAKE_ENGINE, FakeSpeak, word_layout

    studio.models.get(FAKE_ENGINE)
    text = "the keeper climbed the winding stairs every evening before the storm came in"
    audio = FakeSpeak()(text, seed=5, speaker="bob")
    take = studio.takes.import_recording(project_id, (audio.sample_rate, audio.samples), text)
    words = [(word, start, end, 1.0) for word, start, end in word_layout(text)]
    studio.store.set_transcript(take.id, text=text, words=words, engine_id="fake", language="en")
    inserted = studio.edit.apply(take.id, "the old " + text[4:], engine_id=FAKE_ENGINE, seed=7).take
    assert inserted.parameters["watermark"] == "perth"
    assert studio.marking.check(studio.takes.audio(inserted.id)) >= THRESHOLD
    cut = studio.edit.apply(take.id, text.replace("winding ", "")).take
    assert "watermark" not in cut.parameters


@pytest.mark.skipif(importlib.util.find_spec("pyworld") is None, reason="pyworld not installed")
def test_a_conversion_is_marked(studio, project_id):
    from studio.convert import ConvertRequest
    from studio.voices import ClipInput

    voice = studio.voices.create(project_id, "Target", [ClipInput(speech_clip("resemblyzer_ls_6848-252322-0000"))],
                                 consent=True)
    result = studio.convert.convert(ConvertRequest(project_id, voice.id, source=speech_clip("coqui_lj_LJ001-0006"),
                                                   score=False))
    assert result.take.parameters["watermark"] == "perth"
    assert studio.marking.check(studio.takes.audio(result.take.id)) >= THRESHOLD
    assert studio.marking.check(studio.takes.audio(result.take.parent_id)) < THRESHOLD  # the upload itself
