"""Mastering: make (denoised) speech meet a delivery target.

A delivery target is what a platform asks of a file: a loudness (integrated LUFS, or RMS for ACX), a peak
ceiling and, for audiobooks, a noise floor. `master` gets there with a short, fixed chain, each step there
for one reason:

    trim ends -> high-pass (rumble, DC) -> gain to the level -> downward expander (pauses, only if the
    noise floor is too high) -> true-peak limiter (ceiling) -> measure, and correct the gain if limiting
    moved the level

Every step works block by block over the clip (filter states and look-ahead carried across blocks), so
a ten-minute recording costs about one extra copy of itself, not one per step or a 4x-oversampled copy.

targets: the delivery targets and reports. measure: a clip's levels. high_pass, expander: chain steps.
chain: `master`. The meter and the limiter are the audio package's (`audio.meter`, `audio.limiter`).
"""
from ..audio.blocks import BLOCK
from ..audio.limiter import limit_true_peak
from ..audio.meter import true_peak_dbfs
from .chain import master
from .high_pass import high_pass
from .measure import measure
from .targets import TARGETS, Criterion, DeliveryTarget, LevelReport, MasteringResult, delivery_target

__all__ = [
    "BLOCK",
    "LevelReport",
    "Criterion",
    "DeliveryTarget",
    "TARGETS",
    "MasteringResult",
    "delivery_target",
    "measure",
    "true_peak_dbfs",
    "high_pass",
    "limit_true_peak",
    "master",
]
