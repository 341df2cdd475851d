"""Issue #17, fault 12: real speech peaking at -66 dBFS is "too quiet" (with its level), not "silent, check
the microphone"; a 10 ms file is not a take and a too-short clip is not a reference."""
from __future__ import annotations

import numpy as np
import pytest

from pipelines import audio as au
from studio.voices import ClipInput
from tests.conftest import needs_speech, speech_clip

pytestmark = needs_speech


@pytest.fixture(scope="module")
def project(studio) -> int:
    return studio.projects.list()[0].id


def at_peak(audio: au.Audio, dbfs: float) -> tuple[int, np.ndarray]:
    samples = audio.samples / np.max(np.abs(audio.samples)) * 10 ** (dbfs / 20)
    return audio.sample_rate, samples.astype(np.float32)


@pytest.fixture(scope="module")
def speech() -> au.Audio:
    return au.load(speech_clip("denoiser_clean_p287_002"))


def test_quiet_real_speech_is_called_too_quiet_with_its_level(studio, project, speech):
    before = studio.takes.count(project)
    for action in (lambda: studio.takes.import_recording(project, at_peak(speech, -66)),
                   lambda: studio.voices.create(project, "Quiet", [ClipInput(at_peak(speech, -66))], consent=True),
                   lambda: studio.enhance.enhance(project, source=at_peak(speech, -66), engine_id="none")):
        with pytest.raises(au.AudioError, match=r"too quiet: its loudest moment is -66 dBFS") as caught:
            action()
        assert "microphone is connected" not in str(caught.value)
    assert studio.takes.count(project) == before


def test_digital_silence_still_says_check_the_microphone(studio, project):
    with pytest.raises(au.AudioError, match="no sound in it at all"):
        studio.takes.import_recording(project, (16000, np.zeros(16000, np.float32)))


def test_ten_milliseconds_is_not_a_take(studio, project, speech):
    rate, samples = at_peak(speech, -6)
    with pytest.raises(au.AudioError, match=r"lasts only 10 ms; it must last at least 0.1 s"):
        studio.takes.import_recording(project, (rate, samples[rate // 2: rate // 2 + rate // 100]))
    with pytest.raises(au.AudioError, match=r"clip 1: .*lasts only 500 ms; it must last at least 1 s"):
        studio.voices.create(project, "Short", [ClipInput((rate, samples[rate // 2: rate]))], consent=True)


def test_speech_at_a_normal_level_is_kept(studio, project, speech):
    take = studio.takes.import_recording(project, at_peak(speech, -12))
    assert abs(take.duration - speech.duration) < 0.01
