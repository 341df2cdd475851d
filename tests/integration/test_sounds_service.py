"""Sounds through the studio (issue #14): a sound file imported as a take, placed under a real narration with
ducking found by the embedded VAD, kept as a new take with lineage; bad input refused and nothing stored."""
from __future__ import annotations

import numpy as np
import pytest

from pipelines import audio as au
from pipelines.cancel import CancelToken, Cancelled
from pipelines.sound.placement import Placement
from studio.sounds import PlaceRequest
from tests.conftest import needs_speech, speech_clip

FIRST, SECOND = "denoiser_clean_p287_002", "denoiser_clean_p287_004"  # VCTK p287, 3 s and 4.9 s
GAP_S = 2.0  # silence between the two sentences: room for the sound to come back up


@pytest.fixture(scope="module")
def project(studio) -> int:
    return studio.projects.list()[0].id


@pytest.fixture(scope="module")
def narration(studio, project, tmp_path_factory):
    """Two real sentences with two seconds of silence between them, as one recording."""
    first, second = (au.load(speech_clip(c)) for c in (FIRST, SECOND))
    gap = np.zeros(int(GAP_S * first.sample_rate), np.float32)
    path = tmp_path_factory.mktemp("narration") / "narration.wav"
    path.write_bytes(au.encode(au.Audio(np.concatenate([first.samples, gap, second.samples]), first.sample_rate),
                               "wav"))
    return studio.takes.import_recording(project, path)


@pytest.fixture(scope="module")
def rain(studio, project, noise_dir):
    return studio.sounds.import_sound(project, noise_dir / "wav" / "koala_noise.wav", "Rain bed")


@pytest.fixture(scope="module")
def hiss(studio, project, tmp_path_factory):
    """Steady white noise (so its level under and away from speech can be compared to a tenth of a dB)."""
    path = tmp_path_factory.mktemp("hiss") / "hiss.wav"
    noise = (0.05 * np.random.default_rng(4).standard_normal(3 * 16000)).astype(np.float32)
    path.write_bytes(au.encode(au.Audio(noise, 16000), "wav"))
    return studio.sounds.import_sound(project, path, "Hiss")


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2)))


@needs_speech
def test_an_imported_sound_is_a_take_of_its_own_kind(studio, rain):
    take = studio.takes.get(rain.id)
    assert take.kind == "sound" and take.text == "Rain bed" and take.parameters["origin"] == "imported"
    assert take.duration > 1.0


@needs_speech
def test_a_sound_placed_under_narration_is_ducked_under_speech_and_leaves_the_rest_exact(studio, project,
                                                                                          narration, hiss):
    placement = Placement(at_s=1.0, length_s=7.0, loop=True, duck_db=15.0, fade_in_s=0.0, fade_out_s=0.0)
    result = studio.sounds.place(PlaceRequest(project, narration.id, hiss.id, placement))
    take = studio.takes.get(result.take.id)
    assert take.kind == "mixed" and take.parent_id == narration.id and take.parameters["sound_take"] == hiss.id
    assert take.parameters["placement"]["duck_db"] == 15.0 and take.duration == pytest.approx(narration.duration)
    before, after = studio.takes.audio(narration.id), studio.takes.audio(take.id)
    rate = before.sample_rate
    a, b = int(1.0 * rate), int(8.0 * rate)
    assert np.array_equal(after.samples[:a], before.samples[:a]) and np.array_equal(after.samples[b:],
                                                                                      before.samples[b:])
    assert result.speech, "the VAD found no speech in a narration"
    added = after.samples[a:b].astype(np.float64) - before.samples[a:b]
    gain = result.placed.ducking
    under, away = added[gain < 10 ** (-15 / 20) + 1e-6], added[gain > 1 - 1e-6]
    assert under.size > rate and away.size > rate // 4  # a second under speech, a quarter away from it
    level = _rms(studio.takes.audio(hiss.id).samples)
    assert 20 * np.log10(_rms(under) / level) == pytest.approx(-15.0, abs=0.3)
    assert 20 * np.log10(_rms(away) / level) == pytest.approx(0.0, abs=0.3)
    for begin, end in result.speech:  # everything the VAD heard as speech inside the span is ducked
        lo, hi = max(int(begin * rate) - a, 0), min(int(end * rate) - a, b - a)
        if hi > lo:
            assert np.allclose(gain[lo:hi], 10 ** (-15 / 20), atol=1e-5)


@needs_speech
def test_a_sound_can_start_at_a_word_of_the_transcript(studio, project, narration, rain):
    words = studio.edit.transcript(narration.id).words
    result = studio.sounds.place(PlaceRequest(project, narration.id, rain.id, Placement(length_s=1.0), at_word=3))
    assert result.placed.start_s == pytest.approx(words[3].start, abs=1 / 16000)
    with pytest.raises(ValueError, match="word 999 is not one of them"):
        studio.sounds.place(PlaceRequest(project, narration.id, rain.id, at_word=999))


@needs_speech
def test_bad_requests_are_refused_and_store_nothing(studio, project, narration, rain, tmp_path):
    count = studio.takes.count(project)
    with pytest.raises(ValueError, match="past the narration's end"):
        studio.sounds.place(PlaceRequest(project, narration.id, rain.id, Placement(at_s=60.0)))
    with pytest.raises(ValueError, match="other than the narration"):
        studio.sounds.place(PlaceRequest(project, narration.id, narration.id))
    text_file = tmp_path / "notes.wav"
    text_file.write_text("this is not audio")
    with pytest.raises(au.AudioError):
        studio.sounds.import_sound(project, text_file)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        studio.sounds.place(PlaceRequest(project, narration.id, rain.id), cancel=token)
    assert studio.takes.count(project) == count
    cut = studio.sounds.place(PlaceRequest(project, narration.id, rain.id, Placement(at_s=8.0, length_s=30.0)))
    assert cut.placed.cut_at_end and any("cut at the narration's end" in n for n in cut.notices)


@needs_speech
def test_the_command_line_imports_and_places_a_sound(tmp_path, noise_dir):
    """`python -m studio sounds import|place`, run as a user would, over a fresh data directory."""
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "RETAKE_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}

    def cli(*args: str) -> dict:
        done = subprocess.run([sys.executable, "-m", "studio", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    narration = cli("takes", "import", str(speech_clip(SECOND)))["id"]
    sound = cli("sounds", "import", str(noise_dir / "wav" / "koala_noise.wav"), "--name", "rain")
    assert sound["kind"] == "sound" and sound["text"] == "rain"
    out = tmp_path / "mix.flac"
    placed = cli("sounds", "place", str(narration), str(sound["id"]), "--at", "0.5", "--loop", "--duck", "18",
                 "--out", str(out))
    assert placed["take"]["parent_id"] == narration and placed["take"]["kind"] == "mixed"
    assert placed["take"]["parameters"]["placement"]["duck_db"] == 18.0 and placed["end_s"] > 4.0
    assert au.load(out).duration == pytest.approx(placed["take"]["duration"], abs=0.01)
    refused = subprocess.run([sys.executable, "-m", "studio", "sounds", "place", str(narration), str(sound["id"]),
                              "--at", "99"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "past the narration's end" in refused.stderr
    assert "Traceback" not in refused.stderr
