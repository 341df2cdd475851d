"""The one peak limiter: a look-ahead gain that brings the true (4x-oversampled) peak under a ceiling.

Only the moments that would go over are turned down: the gain starts falling `attack_s` before a crest and
recovers over `release_s` after it, so there is no clipping distortion and material that never reaches the
ceiling passes unchanged. Mastering limits to a delivery target's ceiling with it, and narration chunks
limit the few plosive peaks a loudness match pushes over -1 dBFS.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from .blocks import BLOCK
from .meter import TRUE_PEAK_REACH, envelope_over, true_peak_of
from .value import Audio

__all__ = ["limit_true_peak", "limit_in_place", "check_ceiling", "ATTACK_S", "RELEASE_S"]

PEAK_MARGIN_DB = 0.05  # the limiter aims this far under its ceiling (float32 rounding, interpolation)
ATTACK_S = 0.005  # the gain starts turning down this long before a crest...
RELEASE_S = 0.08  # ...and recovers with this time constant after it


def _decaying_max(required: np.ndarray, carry: float, decay: float) -> np.ndarray:
    """r[i] = max(required[i], decay * r[i-1]), r[-1] = carry, without a Python loop: in the log domain
    it is a running maximum of log(required[j]) - j*log(decay), shifted back by i*log(decay)."""
    step = math.log(decay)  # < 0
    idx = np.arange(required.size, dtype=np.float64)
    with np.errstate(divide="ignore"):
        logged = np.log(required) - idx * step
    start = math.log(carry) + step if carry > 0 else -np.inf
    running = np.maximum.accumulate(np.maximum(logged, start))
    return np.exp(running + idx * step)


def _boxcar(values: np.ndarray, width: int) -> np.ndarray:
    """Means of each `width` consecutive values ('valid' part only)."""
    sums = np.concatenate([[0.0], np.cumsum(values)])
    return (sums[width:] - sums[:-width]) / width


def _limit_pass(samples: np.ndarray, rate: int, ceiling_dbfs: float, attack_s: float, release_s: float) -> None:
    """Look-ahead true-peak limiter over a float32 array, in blocks, writing gains behind its read point.

    Per sample, the reduction needed to bring the 4x-oversampled peak under the ceiling (dB) is spread to
    the filter's reach either side and `lag` samples ahead (max filter), decays back at `release_s`
    (exponential, in dB), and is smoothed by a triangle of `attack_s` (two boxcars). Because every sample
    in each smoothing window already needs at least the reduction of the sample it ends on, the smoothed
    gain is never less reduction than needed: no overs, no clipping, no clicks.
    """
    total = samples.size
    half = max(TRUE_PEAK_REACH + 2, int(round(attack_s * rate / 2)) + 1)  # boxcar width
    span = 2 * (half - 1)  # triangle support - 1 = how far ahead the reduction starts
    lag = span + TRUE_PEAK_REACH  # gains are final this many samples behind the block being analysed
    radius = span // 2 + TRUE_PEAK_REACH  # the max filter's half-width (span + 2 * TRUE_PEAK_REACH + 1 wide)
    decay = math.exp(-1.0 / (release_s * rate))
    ceiling = ceiling_dbfs - PEAK_MARGIN_DB
    needed_tail = np.zeros(2 * radius)  # reduction (dB) needed at the samples before this block
    released_tail = np.zeros(span)  # the released reduction of the samples before the ones being finished
    carry = 0.0
    for start in range(0, total + lag, BLOCK):
        stop = min(start + BLOCK, total + lag)
        if start < total:
            envelope = envelope_over(samples, start, min(stop, total), 10.0 ** (ceiling / 20.0))
            with np.errstate(divide="ignore"):
                needed = np.maximum(0.0, 20.0 * np.log10(envelope) - ceiling)
            needed = np.concatenate([needed, np.zeros(stop - min(stop, total))])
        else:  # past the end: nothing needs reducing, but the last gains still have to come out
            needed = np.zeros(stop - start)
        window = np.concatenate([needed_tail, needed])
        held = ndimage.maximum_filter1d(window, size=2 * radius + 1, mode="constant")[radius: radius + needed.size]
        needed_tail = window[-2 * radius:]
        released = _decaying_max(held, carry, decay)
        carry = float(released[-1])
        history = np.concatenate([released_tail, released])
        released_tail = history[-span:]
        reduction = _boxcar(_boxcar(history, half), half)
        # `held` and so `reduction` describe samples [start - lag, stop - lag).
        first, last = max(0, start - lag), min(total, stop - lag)
        if last <= first:
            continue
        part = reduction[first - (start - lag): last - (start - lag)]
        if np.any(part > 1e-6):
            gain = np.where(part > 1e-6, 10.0 ** (-part / 20.0), 1.0)
            samples[first:last] = (samples[first:last] * gain).astype(np.float32)


def check_ceiling(ceiling_dbfs: float) -> float:
    if not (isinstance(ceiling_dbfs, (int, float)) and math.isfinite(ceiling_dbfs) and -60 <= ceiling_dbfs <= 0):
        raise ValueError(f"ceiling_dbfs must be a number of dBFS in [-60, 0], got {ceiling_dbfs!r}.")
    return float(ceiling_dbfs)


def limit_in_place(samples: np.ndarray, rate: int, ceiling_dbfs: float, attack_s: float, release_s: float) -> float:
    """Limit in place and return the true peak reached. If the gain's own movement left an inter-sample
    crest over the ceiling (rare, hundredths of a dB), limit again a little lower."""
    aim = ceiling_dbfs
    for _ in range(3):
        _limit_pass(samples, rate, aim, attack_s, release_s)
        peak = true_peak_of(samples)
        over = peak - ceiling_dbfs
        if over <= 0:
            return peak
        aim -= over + PEAK_MARGIN_DB
    samples *= np.float32(10.0 ** (-(over + PEAK_MARGIN_DB) / 20.0))  # last resort: a tiny static trim
    return true_peak_of(samples)


def limit_true_peak(audio: Audio, ceiling_dbfs: float = -1.0, *, attack_s: float = ATTACK_S,
                    release_s: float = RELEASE_S) -> Audio:
    """Bring the true (4x-oversampled) peak to at most `ceiling_dbfs` with a smooth look-ahead gain.

    Only the moments that would go over are turned down: the gain starts falling `attack_s` before a
    crest and recovers over `release_s` after it, so there is no clipping distortion and material that
    never reaches the ceiling passes unchanged.
    """
    ceiling = check_ceiling(ceiling_dbfs)
    if not (attack_s > 0 and release_s > 0):
        raise ValueError(f"attack_s and release_s must be positive seconds, got {attack_s!r}, {release_s!r}.")
    out = audio.samples.copy()
    if out.size:
        limit_in_place(out, audio.sample_rate, ceiling, attack_s, release_s)
    return Audio(out, audio.sample_rate)
