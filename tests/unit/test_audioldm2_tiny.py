"""AudioLDM 2 built as a tiny random checkpoint in the cvssp/audioldm2 diffusers layout and loaded through
`AudioLDM2Sound.from_pretrained`, checking the sound contract: mono float32 at the vocoder's rate, the length
asked, determinism under a seed without touching the global RNG, progress and cancellation, readable errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipelines.audio import Audio

STEPS = 3  # the tiny UNet makes noise at any step count; three steps exercise the scheduler loop


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    from tests.tiny.audioldm2 import BUILDERS

    return BUILDERS["audioldm2-large"](tmp_path_factory.mktemp("tiny_audioldm2") / "audioldm2")


@pytest.fixture(scope="module")
def engine(folder):
    from pipelines.sound.audioldm2 import AudioLDM2Sound

    return AudioLDM2Sound.from_pretrained(folder)


def _same(a: Audio, b: Audio) -> bool:
    return a.samples.shape == b.samples.shape and np.array_equal(a.samples, b.samples)


def test_folder_has_the_diffusers_layout(folder):
    import json

    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == "AudioLDM2Pipeline"
    assert index["language_model"] == ["transformers", "GPT2Model"]  # what the real checkpoint names
    for part in ("vae", "text_encoder", "text_encoder_2", "projection_model", "language_model", "unet", "vocoder"):
        assert list((folder / part).glob("*.safetensors")), part
    for part in ("tokenizer", "tokenizer_2", "feature_extractor", "scheduler"):
        assert (folder / part).is_dir(), part


def test_makes_mono_audio_of_the_length_asked(engine):
    audio = engine("rain on a tin roof", seconds=1.3, seed=1, steps=STEPS)
    assert isinstance(audio, Audio)
    assert audio.sample_rate == engine.sample_rate == 16000
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert abs(audio.num_samples - round(1.3 * 16000)) <= 1
    assert np.all(np.isfinite(audio.samples))
    assert np.sqrt(np.mean(audio.samples ** 2)) > 1e-4  # not silence
    assert engine.memory_bytes() > 0


def test_limits_come_from_the_checkpoint(engine):
    from tests.tiny.audioldm2 import HOP, LATENT_FRAMES, SAMPLING_RATE

    assert engine.max_seconds == pytest.approx(LATENT_FRAMES * 2 * HOP / SAMPLING_RATE)  # VAE factor 2
    assert (engine.default_steps, engine.default_guidance, engine.name) == (200, 3.5, "AudioLDM 2")


def test_same_seed_same_audio_other_seed_other_audio(engine):
    first = engine("wind in the trees", seconds=1.0, seed=5, steps=STEPS)
    again = engine("wind in the trees", seconds=1.0, seed=5, steps=STEPS)
    other = engine("wind in the trees", seconds=1.0, seed=6, steps=STEPS)
    assert _same(first, again)
    assert not _same(first, other)


def test_seed_does_not_touch_global_rng(engine):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(4)
    torch.manual_seed(123)
    engine("birds", seconds=0.6, seed=9, steps=STEPS)
    assert torch.equal(torch.rand(4), expected)


def test_unseeded_calls_differ(engine):
    assert not _same(engine("birds", seconds=0.6, steps=1), engine("birds", seconds=0.6, steps=1))


def test_guidance_off_skips_the_negative_branch(engine):
    audio = engine("city street at night", seconds=0.6, seed=2, steps=STEPS, guidance=1.0)
    assert audio.num_samples == round(0.6 * 16000)


def test_progress_rises_to_one(engine):
    seen: list[float] = []
    engine("door knock", seconds=0.6, seed=3, steps=4, progress=seen.append)
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert len(seen) == 5 and seen[-1] == 1.0 and all(0.0 < value < 1.0 for value in seen[:-1])


def test_progress_that_raises_stops_the_generation(engine):
    class Cancelled(Exception):
        pass

    calls: list[float] = []

    def cancel(fraction: float) -> None:
        calls.append(fraction)
        raise Cancelled

    with pytest.raises(Cancelled):
        engine("door knock", seconds=0.6, seed=3, steps=10, progress=cancel)
    assert len(calls) == 1  # stopped at the first step, not after all ten


@pytest.mark.parametrize("kwargs, words", [
    ({"prompt": "  "}, "prompt is empty"),
    ({"seconds": 0.1}, "outside what AudioLDM 2 makes"),
    ({"seconds": 60.0}, "outside what AudioLDM 2 makes"),
    ({"steps": 0}, "steps=0"),
    ({"guidance": 0.5}, "guidance=0.5"),
    ({"seed": -1}, "Seed must be"),
])
def test_bad_requests_are_refused_readably(engine, kwargs, words):
    request = {"prompt": "rain", "seconds": 1.0, "steps": STEPS, **kwargs}
    with pytest.raises(ValueError, match=words):
        engine(request.pop("prompt"), **request)


def test_too_long_prompt_is_refused(engine):
    with pytest.raises(ValueError, match="too long"):
        engine("rain " * 600, seconds=1.0, steps=STEPS)


def test_unknown_options_and_bad_folders_are_refused(folder, tmp_path):
    from pipelines.base import EngineError
    from pipelines.loading import UnknownOptionError
    from pipelines.sound.audioldm2 import AudioLDM2Sound

    with pytest.raises(UnknownOptionError, match="guidance_scal"):
        AudioLDM2Sound.from_pretrained(folder, guidance_scal=3.0)
    with pytest.raises(ValueError, match="negative_prompt"):
        AudioLDM2Sound.from_pretrained(folder, negative_prompt=3)
    with pytest.raises(EngineError, match="model_index.json"):
        AudioLDM2Sound.from_pretrained(tmp_path)
    with pytest.raises(EngineError, match="required"):
        AudioLDM2Sound.from_pretrained(None)


def test_language_model_generates_as_the_checkpoints_gpt2(engine, folder):
    """The workaround (GPT-2 loaded with its tied LM head) yields what the bare GPT2Model computes."""
    import torch
    from transformers import GPT2Model

    bare = GPT2Model.from_pretrained(folder / "language_model", local_files_only=True).eval()
    embeds = torch.randn(1, 5, bare.config.n_embd, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        generated = engine.pipe.generate_language_model(embeds, max_new_tokens=3,
                                                        attention_mask=torch.ones(1, 5, dtype=torch.long))
        expected = embeds
        for _ in range(3):
            hidden = bare(inputs_embeds=expected).last_hidden_state
            expected = torch.cat([expected, hidden[:, -1:]], dim=1)
    torch.testing.assert_close(generated, expected[:, -3:])


def test_half_precision_keeps_vae_and_vocoder_float32(folder, engine):
    """bfloat16 runs on the CPU too, so the GPU path's precision split is checked here."""
    import torch

    from pipelines.sound.audioldm2 import AudioLDM2Sound

    half = AudioLDM2Sound.from_pretrained(folder, dtype="bfloat16")
    assert half.pipe.vae.dtype == half.pipe.vocoder.dtype == torch.float32
    assert half.pipe.unet.dtype == half.pipe.language_model.dtype == half.pipe.text_encoder_2.dtype == torch.bfloat16
    audio = half("rain", seconds=1.0, seed=4, steps=STEPS)
    full = engine("rain", seconds=1.0, seed=4, steps=STEPS)
    assert audio.samples.dtype == np.float32 and np.all(np.isfinite(audio.samples))
    assert np.corrcoef(audio.samples, full.samples)[0, 1] > 0.9  # the same sound, up to rounding
