"""Noisy speech for enhancement tests: real clips and noises from the shared data, mixed at a known SNR,
and the measures quality is judged by (SI-SDR, WER text normalisation).

The mixing rule is the one tests/integration/test_enhance_engines.py uses: SNR over the active speech
(frames within 40 dB of the loudest), the noise resampled to the speech's rate and looped or cropped.
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pytest

from pipelines.audio import Audio, load, resample
from tests.conftest import NOISE_DIR, require_noise, speech_clip, speech_manifest

VCTK = ("p287_002", "p287_004", "p287_006")  # the VCTK/DEMAND clean-noisy pairs in the shared data
SNRS = (0, 5, 10)


def clip(clip_id: str) -> Audio:
    return load(speech_clip(clip_id))


def transcript(clip_id: str) -> str:
    row = speech_manifest()[clip_id]
    if row["transcript_kind"] != "exact":
        pytest.skip(f"{clip_id} has no exact transcript")
    return row["transcript"]


@lru_cache(maxsize=None)
def noise(name: str) -> Audio:
    require_noise()
    path = NOISE_DIR / "wav" / f"{name}.wav"
    if not path.exists():
        pytest.skip(f"shared noise clip missing: {path}")
    return load(path)


def noise_names() -> list[str]:
    require_noise()
    return sorted(p.stem for p in (NOISE_DIR / "wav").glob("*.wav"))


def frame_energy(samples: np.ndarray, rate: int, seconds: float = 0.02) -> np.ndarray:
    size = int(rate * seconds)
    count = samples.size // size
    return (samples[: count * size].astype(np.float64).reshape(count, size) ** 2).mean(axis=1)


def speech_power(clean: Audio) -> float:
    """Mean power over active speech only, so pauses don't make the SNR look better than it sounds."""
    energy = frame_energy(clean.samples, clean.sample_rate)
    return float(energy[energy > energy.max() * 1e-4].mean())


def mix(clean: Audio, background: Audio, snr_db: float) -> Audio:
    """Clean speech plus `background` (resampled, looped or cropped to fit) at `snr_db` over the speech."""
    n = np.resize(resample(background, clean.sample_rate).samples, clean.num_samples).astype(np.float64)
    gain = np.sqrt(speech_power(clean) / np.mean(n ** 2) / 10 ** (snr_db / 10))
    return Audio((clean.samples + gain * n).astype(np.float32), clean.sample_rate)


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Scale-invariant SDR in dB: the part of `estimate` explained by a scaled `reference` over the rest."""
    est = estimate.astype(np.float64) - estimate.mean()
    ref = reference.astype(np.float64) - reference.mean()
    target = (est @ ref) / (ref @ ref) * ref
    residual = est - target
    return float(10 * np.log10((target @ target) / (residual @ residual)))


def normalise_text(text: str) -> str:
    """For WER: lowercase, hyphens and slashes as spaces, punctuation (apostrophes too) dropped."""
    text = re.sub(r"[-/]", " ", text.lower())
    text = re.sub(r"[^\w\s]", "", text)
    return " ".join(text.split())
