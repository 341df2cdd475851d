"""The numbers a delivery spec is written in, measured on a clip in constant extra memory."""
from __future__ import annotations

import numpy as np

from ..audio import Audio
from ..audio.blocks import blocks
from ..audio.levels import noise_floor_db
from ..audio.meter import integrated_lufs, true_peak_of
from ..audio.value import db
from .targets import LevelReport

__all__ = ["measure", "measure_samples"]


def measure(audio: Audio) -> LevelReport:
    """Loudness, peaks, RMS and noise floor of a clip, in constant extra memory."""
    return measure_samples(audio.samples, audio.sample_rate)


def measure_samples(samples: np.ndarray, rate: int, true_peak: float | None = None) -> LevelReport:
    """`measure` of a bare array; `true_peak` when the caller already knows it (the limiter reports it)."""
    square_sum, sample_peak = 0.0, 0.0
    for start, stop in blocks(samples.size):
        part = samples[start:stop].astype(np.float64)
        square_sum += float(part @ part)
        sample_peak = max(sample_peak, float(np.abs(part).max()))
    return LevelReport(
        integrated_lufs=integrated_lufs(samples, rate),
        true_peak_dbfs=true_peak_of(samples) if true_peak is None else true_peak,
        sample_peak_dbfs=db(sample_peak, power=False),
        rms_db=db(square_sum / samples.size, power=True) if samples.size else float("-inf"),
        noise_floor_db=noise_floor_db(samples, rate),
        duration=samples.size / rate,
    )
