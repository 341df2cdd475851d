"""Real background noise under speech at a chosen SNR, for the benchmarks that measure on noisy recordings.

The noise is Koala's recorded background (../shared/data/noise, or RETAKE_NOISE_DIR), looped to the speech's
length; the SNR is over the active speech (20 ms frames within 40 dB of the loudest), so pauses do not lower
the speech's measured power."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pipelines.audio import Audio, load, resample

ROOT = Path(__file__).resolve().parent.parent
NOISE = Path(os.environ.get("RETAKE_NOISE_DIR", ROOT.parent / "shared" / "data" / "noise"))


def with_noise(speech: Audio, snr_db: float) -> Audio:
    """`speech` with the recorded noise added `snr_db` under its active speech (mono, at its own rate)."""
    samples = speech.samples if speech.samples.ndim == 1 else speech.samples.mean(axis=1)
    samples = samples.astype(np.float64)
    noise = np.resize(resample(load(NOISE / "wav" / "koala_noise.wav"), speech.sample_rate).samples,
                      samples.size).astype(np.float64)
    frame = max(1, speech.sample_rate // 50)
    energy = (samples[: samples.size // frame * frame].reshape(-1, frame) ** 2).mean(axis=1)
    speech_power = energy[energy > energy.max() * 1e-4].mean()
    gain = np.sqrt(speech_power / np.mean(noise ** 2) / 10 ** (snr_db / 10))
    return Audio((samples + gain * noise).astype(np.float32), speech.sample_rate)
