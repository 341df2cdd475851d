"""The CLAP ranker built from a tiny random checkpoint and loaded through its real `from_pretrained`: one score per
sound in order, deterministic, any rate and length accepted, readable errors for bad requests."""
from __future__ import annotations

import numpy as np
import pytest

from pipelines.audio import Audio
from pipelines.loading import UnknownOptionError

PROMPT = "a dog barking in the rain"


def _noise(seconds: float, rate: int = 48000, seed: int = 0) -> Audio:
    rng = np.random.default_rng(seed)
    return Audio((0.1 * rng.standard_normal(int(seconds * rate))).astype(np.float32), rate)


def _tone(seconds: float, rate: int = 48000, hz: float = 440.0) -> Audio:
    t = np.arange(int(seconds * rate)) / rate
    return Audio((0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), rate)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from tests.tiny.clap import BUILDERS

    return BUILDERS["clap-htsat-unfused"](tmp_path_factory.mktemp("tiny_clap") / "clap_htsat_unfused")


@pytest.fixture(scope="module")
def ranker(folder):
    from pipelines.sound.clap import ClapRanker

    return ClapRanker.from_pretrained(folder)


def test_one_score_per_sound_in_order(ranker):
    a, b, c = _noise(1.0), _tone(1.0), _noise(2.0, seed=3)
    scores = ranker(PROMPT, [a, b, c])
    assert len(scores) == 3 and all(type(score) is float for score in scores)
    assert all(-1.0 <= score <= 1.0 for score in scores)
    assert ranker(PROMPT, [b, a]) == pytest.approx(scores[1::-1], abs=1e-5)
    assert ranker(PROMPT, [c]) == pytest.approx(scores[2:], abs=1e-5)  # no cross-talk between batch members
    assert ranker.sample_rate == 48000 and ranker.memory_bytes() > 0


def test_deterministic(ranker):
    sounds = [_noise(0.5), _noise(12.0, seed=1)]  # 12 s: two windows, where the extractor alone would crop at random
    assert ranker(PROMPT, sounds) == ranker(PROMPT, sounds)


def test_other_rates_are_resampled(ranker):
    tone = _tone(1.0)
    scores = ranker(PROMPT, [_tone(1.0, rate=16000), _tone(1.0, rate=44100), tone])
    assert len(scores) == 3 and all(np.isfinite(scores))
    # the same tone at another rate scores (nearly) the same once resampled; 16 kHz lacks the top octave of noise
    assert scores[1] == pytest.approx(scores[2], abs=0.05)


def test_lengths_differ_in_one_call(ranker):
    short, long = _noise(0.5, seed=4), _noise(12.0, seed=5)
    scores = ranker(PROMPT, [short, long])
    assert len(scores) == 2 and all(-1.0 <= score <= 1.0 for score in scores)
    assert scores == pytest.approx([ranker(PROMPT, [short])[0], ranker(PROMPT, [long])[0]], abs=1e-5)


def test_prompt_matters(ranker):
    sounds = [_noise(1.0), _tone(1.0)]
    assert ranker(PROMPT, sounds) != pytest.approx(ranker("thunder over the city at night", sounds), abs=1e-6)
    assert len(ranker("glass " * 200, sounds)) == 2  # longer than the tokenizer's limit: cut, not refused


def test_small_batches_give_the_same_scores(folder, ranker):
    from pipelines.sound.clap import ClapRanker

    sounds = [_noise(1.0), _tone(0.7), _noise(12.0, seed=2)]
    one_at_a_time = ClapRanker.from_pretrained(folder, batch_size=1)
    assert one_at_a_time(PROMPT, sounds) == pytest.approx(ranker(PROMPT, sounds), abs=1e-5)


@pytest.mark.parametrize("prompt", ["", "   "])
def test_empty_prompt_is_refused(ranker, prompt):
    with pytest.raises(ValueError, match="prompt is empty"):
        ranker(prompt, [_noise(1.0)])


def test_no_sounds_or_empty_sound_is_refused(ranker):
    with pytest.raises(ValueError, match="No sounds"):
        ranker(PROMPT, [])
    with pytest.raises(ValueError, match="Sound 2 is empty"):
        ranker(PROMPT, [_noise(1.0), Audio(np.zeros(0, dtype=np.float32), 48000)])


def test_bad_options_are_refused(folder):
    from pipelines.base import EngineError
    from pipelines.sound.clap import ClapRanker

    with pytest.raises(UnknownOptionError, match="fusion"):
        ClapRanker.from_pretrained(folder, fusion=True)
    with pytest.raises(ValueError, match="batch_size"):
        ClapRanker.from_pretrained(folder, batch_size=0)
    with pytest.raises(EngineError, match="laion/clap-htsat-unfused"):
        ClapRanker.from_pretrained(None)
