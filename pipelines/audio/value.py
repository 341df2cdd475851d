"""The one audio value inside Retake: mono float32 samples at a known rate, and the few facts about it
(peak, silence) that every other module asks.

Errors a user can fix (wrong file, silent microphone, too long) are raised as `AudioError` with a message
that can be shown as is.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["AudioError", "Audio", "SILENCE_DBFS", "db", "peak_dbfs", "is_silent", "silence"]

SILENCE_DBFS = -60.0  # a peak below this is a dead or muted microphone, not a quiet voice


class AudioError(ValueError):
    """Input audio that cannot be used; message is user-readable."""


@dataclass(frozen=True, eq=False)
class Audio:
    """Mono float32 samples plus their rate: the only audio shape the rest of Retake has to handle.

    eq=False: comparing sample arrays element-wise is never what `==` on a value should mean, and an
    ndarray is not hashable, so identity semantics are the honest choice.
    """

    samples: np.ndarray
    sample_rate: int

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples)
        if samples.ndim != 1:
            raise AudioError(f"Audio samples must be mono (1-D), got shape {samples.shape}; use load() to downmix.")
        if not np.issubdtype(samples.dtype, np.floating):
            raise AudioError(f"Audio samples must be floating point, got {samples.dtype}; use load() to convert.")
        samples = np.ascontiguousarray(samples, dtype=np.float32)
        bad = samples.size - int(np.count_nonzero(np.isfinite(samples)))
        if bad:
            raise AudioError(f"The audio contains {bad} NaN or infinite sample values; it is corrupt.")
        rate = self.sample_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate <= 0:
            raise AudioError(f"Sample rate must be a positive whole number of Hz, got {rate!r}.")
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "sample_rate", int(rate))

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.samples.size / self.sample_rate

    @property
    def num_samples(self) -> int:
        return int(self.samples.size)


def db(value: float, *, power: bool) -> float:
    """A power (10 log10) or an amplitude (20 log10) in dB; -inf for zero, so silence compares as quietest."""
    if value <= 0:
        return float("-inf")
    return (10.0 if power else 20.0) * math.log10(value)


def peak_dbfs(audio: Audio) -> float:
    """Sample peak in dBFS; -inf for digital silence or an empty clip."""
    return db(float(np.max(np.abs(audio.samples))) if audio.num_samples else 0.0, power=False)


def is_silent(audio: Audio, threshold_dbfs: float = SILENCE_DBFS) -> bool:
    """True when nothing in the clip rises above the silence floor (dead or muted microphone)."""
    return peak_dbfs(audio) < threshold_dbfs


def silence(seconds: float, sample_rate: int) -> Audio:
    """Digital silence, e.g. a pause between narrated sentences."""
    if seconds < 0:
        raise AudioError(f"Silence length must not be negative, got {seconds} s.")
    return Audio(np.zeros(int(round(seconds * sample_rate)), dtype=np.float32), sample_rate)
