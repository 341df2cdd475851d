"""Stable Audio Open built from a tiny random checkpoint in the real diffusers layout and loaded through its real
`from_pretrained`: mono float32 audio at the VAE's rate and the length asked, reproducible by seed without
touching torch's global RNG, progress that ends at 1 and can cancel, readable errors for bad requests."""
from __future__ import annotations

import numpy as np
import pytest

from pipelines.audio import Audio
from pipelines.loading import UnknownOptionError

pytest.importorskip("torchsde", reason="Stable Audio's scheduler needs torchsde (pip install torchsde)")

PROMPT = "rain on a tin roof, distant thunder"
STEPS = 3


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from tests.tiny.stable_audio import BUILDERS

    return BUILDERS["stable-audio-open-1.0"](tmp_path_factory.mktemp("tiny_stable_audio") / "stable_audio_open")


@pytest.fixture(scope="module")
def engine(folder):
    from pipelines.sound.stable_audio import StableAudioSound

    return StableAudioSound.from_pretrained(folder)


def test_layout_is_the_real_one(folder):
    assert (folder / "model_index.json").is_file()
    for part in ("vae", "text_encoder", "tokenizer", "projection_model", "transformer", "scheduler"):
        assert (folder / part).is_dir(), part


def test_mono_float32_at_the_vae_rate_and_length(engine):
    audio = engine(PROMPT, seconds=1.0, seed=1, steps=STEPS)
    assert isinstance(audio, Audio)
    assert audio.sample_rate == engine.sample_rate == 44100
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert abs(audio.samples.size - 44100) <= 1
    assert np.all(np.isfinite(audio.samples)) and audio.samples.std() > 1e-4  # not silent, not constant
    short = engine(PROMPT, seconds=0.5, seed=1, steps=STEPS)
    assert abs(short.samples.size - 22050) <= 1


def test_max_seconds_comes_from_the_config(engine):
    config = engine.pipe.transformer.config
    assert engine.max_seconds == pytest.approx(config.sample_size * engine.pipe.vae.hop_length / 44100)
    assert engine.max_seconds <= 47.0
    longest = engine(PROMPT, seconds=engine.max_seconds, seed=2, steps=1)
    assert abs(longest.samples.size - engine.max_seconds * 44100) <= 1


def test_same_seed_same_audio_other_seed_other_audio(engine):
    a = engine(PROMPT, seconds=1.0, seed=7, steps=STEPS)
    b = engine(PROMPT, seconds=1.0, seed=7, steps=STEPS)
    c = engine(PROMPT, seconds=1.0, seed=8, steps=STEPS)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not np.allclose(a.samples, c.samples)
    unseeded = [engine(PROMPT, seconds=0.5, steps=1).samples for _ in range(2)]
    assert not np.array_equal(*unseeded)  # no seed: a fresh one each call


def test_options_change_the_audio(engine):
    base = engine(PROMPT, seconds=1.0, seed=3, steps=STEPS).samples
    assert not np.allclose(base, engine("birds in a forest", seconds=1.0, seed=3, steps=STEPS).samples)
    assert not np.allclose(base, engine(PROMPT, seconds=1.0, seed=3, steps=STEPS, guidance=1.0).samples)
    assert not np.allclose(base, engine(PROMPT, seconds=1.0, seed=3, steps=STEPS + 1).samples)


def test_seeded_call_leaves_the_global_rng_alone(engine):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(4)
    torch.manual_seed(123)
    engine(PROMPT, seconds=0.5, seed=5, steps=STEPS)
    assert torch.equal(torch.rand(4), expected)


def test_progress_rises_to_one(engine):
    seen: list[float] = []
    engine(PROMPT, seconds=0.5, seed=1, steps=4, progress=seen.append)
    assert len(seen) == 5 and seen[-1] == 1.0
    assert all(0.0 < a < b for a, b in zip(seen, seen[1:]))


def test_progress_that_raises_stops_the_generation(engine):
    calls: list[float] = []

    class Cancelled(Exception):
        pass

    def cancel(fraction: float) -> None:
        calls.append(fraction)
        raise Cancelled

    with pytest.raises(Cancelled):
        engine(PROMPT, seconds=0.5, seed=1, steps=10, progress=cancel)
    assert len(calls) == 1  # stopped after the first step
    assert engine(PROMPT, seconds=0.5, seed=1, steps=2).samples.size > 0  # and the engine still works


@pytest.mark.parametrize("request_, words", [
    (dict(prompt=""), "prompt is empty"),
    (dict(prompt="   "), "prompt is empty"),
    (dict(seconds=0.1), "outside what Stable Audio Open makes"),
    (dict(seconds=60.0), "outside what Stable Audio Open makes"),
    (dict(steps=0), "steps=0"),
    (dict(guidance=0.5), "guidance=0.5"),
    (dict(seed=-1), "Seed"),
    (dict(prompt="rain " * 300), "too long"),
])
def test_bad_requests_are_refused_readably(engine, request_, words):
    kwargs = dict(prompt=PROMPT, seconds=1.0, steps=STEPS) | request_
    with pytest.raises(ValueError, match=words):
        engine(kwargs.pop("prompt"), **kwargs)


def test_unknown_options_and_bad_folders_are_refused(folder, tmp_path):
    from pipelines.base import EngineError
    from pipelines.sound.stable_audio import StableAudioSound

    with pytest.raises(UnknownOptionError, match="num_steps"):
        StableAudioSound.from_pretrained(folder, num_steps=10)
    with pytest.raises(EngineError, match="model_index.json"):
        StableAudioSound.from_pretrained(tmp_path)
    with pytest.raises(EngineError, match="required"):
        StableAudioSound.from_pretrained(None)


def test_loaded_in_float32_on_cpu(engine):
    import torch

    for name in ("vae", "text_encoder", "projection_model", "transformer"):
        part = getattr(engine.pipe, name)
        assert {p.dtype for p in part.parameters()} == {torch.float32}, name
        assert {p.device.type for p in part.parameters()} == {"cpu"}, name
        assert not part.training, name
    assert engine.device == "cpu" and engine.memory_bytes() > 0


def test_negative_prompt_is_an_option(folder, engine):
    from pipelines.sound.stable_audio import StableAudioSound

    plain = StableAudioSound.from_pretrained(folder, negative_prompt=None)
    assert plain.negative_prompt is None and engine.negative_prompt == "Low quality."
    a = plain(PROMPT, seconds=0.5, seed=4, steps=STEPS).samples
    b = engine(PROMPT, seconds=0.5, seed=4, steps=STEPS).samples
    assert not np.allclose(a, b)


def test_half_precision_keeps_the_vae_float32(folder, engine):
    """bfloat16 (what a GPU gets) on the CPU: the dtype boundary (bf16 latents -> float32 VAE) a GPU run crosses."""
    import torch
    from pipelines.sound.stable_audio import StableAudioSound

    half = StableAudioSound.from_pretrained(folder, dtype="bfloat16")
    assert {p.dtype for p in half.pipe.vae.parameters()} == {torch.float32}
    assert {p.dtype for p in half.pipe.transformer.parameters()} == {torch.bfloat16}
    audio = half(PROMPT, seconds=1.0, seed=1, steps=STEPS)
    assert audio.samples.dtype == np.float32 and np.all(np.isfinite(audio.samples))
    assert abs(audio.samples.size - 44100) <= 1 and audio.samples.std() > 1e-4
