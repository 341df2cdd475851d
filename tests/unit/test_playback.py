"""Players and API callers get a take at its own level (issue #18): Gradio peak-normalised float audio, so an
enhanced take played 6.4 dB louder than stored."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from pipelines import audio as au
from studio.ui.playback import KEEP_S, live_chunk, playable
from tests.conftest import speech_clip


def quiet_speech() -> au.Audio:
    speech = au.load(speech_clip("coqui_lj_LJ001-0008"))
    return au.Audio((speech.samples * np.float32(0.1 / np.abs(speech.samples).max())).astype(np.float32),
                    speech.sample_rate)


def test_a_player_gets_the_very_samples_not_a_louder_copy():
    audio = quiet_speech()
    data, rate = sf.read(playable(audio), dtype="float32")
    assert rate == audio.sample_rate
    stored = au.load(au.encode(audio, "flac"))  # takes are kept as 24-bit FLAC
    np.testing.assert_array_equal(data, stored.samples)  # bit for bit what is stored: peak 0.1 stays 0.1
    np.testing.assert_allclose(data, audio.samples, atol=2.0 ** -23)
    assert sf.info(playable(audio)).format == "FLAC"


def test_the_same_audio_is_written_once():
    audio = quiet_speech()
    assert playable(audio) == playable(audio)


def test_a_live_chunk_keeps_its_level():
    audio = quiet_speech()
    rate, samples = live_chunk(audio)
    assert rate == audio.sample_rate and samples.dtype == np.int16
    assert abs(int(np.abs(samples).max()) - round(0.1 * 32768)) <= 1
    loud = au.Audio(np.array([1.5, -1.5, 0.5], np.float32), 8000)  # over full scale: clipped, not wrapped
    assert live_chunk(loud)[1].tolist() == [32767, -32768, 16384]


def test_old_player_files_go_when_a_new_one_is_written():
    first = Path(playable(quiet_speech()))
    stale = time.time() - KEEP_S - 60
    os.utime(first, (stale, stale))
    newer = au.Audio(np.random.default_rng().uniform(-0.1, 0.1, 800).astype(np.float32), 8000)  # a new file
    second = Path(playable(newer))
    assert second.exists() and not first.exists()
