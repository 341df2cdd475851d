"""Measuring splices: where to cut, whether a seam clicks, and how loud the noise under speech is.

Used to place cuts (`low_energy_point`), by the tests and the benchmark to check every seam
(`seam_click_ratio`), and by room-tone matching and its checks (`noise_floor_db`, `pause_floor_db`).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import signal

from ..audio import Audio, frame_levels_db
from ..audio import levels
from ..base import Word
from .diff import EditError

__all__ = ["low_energy_point", "seam_click_ratio", "noise_floor_db", "pause_floor_db", "CLICK_HIGH_PASS_HZ", "FLOOR_DBFS"]

# A click is a step or a spike: broadband, with a 1/f spectrum that reaches far above 2 kHz. Voiced speech
# has most of its energy (fundamental and first two formants) below 2 kHz, so after a 2 kHz high-pass a
# seam inside a vowel does not look like a click just because the waveform is large there, while a step
# still stands out. 2 kHz also works for 8 kHz telephone audio (half its Nyquist frequency).
CLICK_HIGH_PASS_HZ = 2000.0
_CLICK_ORDER = 4  # 24 dB/octave, run forwards and backwards (zero phase: the peak stays at the seam)
_CLICK_NEAR_S = 0.005  # a click's energy lies within this of the seam
_CLICK_QUIET = 1e-5  # -100 dBFS: a high-passed peak below this is nothing, not a click
_FLOOR_FRAME_S = 0.02
_PAUSE_MARGIN_S = 0.03
_PAUSE_MIN_S = 0.3
FLOOR_DBFS = -120.0  # reported for digital silence: below any real converter's noise, and finite to compare


def _span(audio: Audio, lo: float, hi: float, what: str) -> tuple[int, int]:
    for name, value in (("lo", lo), ("hi", hi)):
        if not np.isfinite(value):
            raise EditError(f"{what}: {name} must be a finite time in seconds, got {value!r}.")
    if hi < lo:
        raise EditError(f"{what}: the range {lo:.3f}-{hi:.3f} s ends before it starts.")
    rate = audio.sample_rate
    a = min(max(int(round(lo * rate)), 0), audio.num_samples)
    b = min(max(int(round(hi * rate)), 0), audio.num_samples)
    return a, b


def low_energy_point(audio: Audio, lo: float, hi: float, frame_s: float = 0.005, *,
                     prefer: tuple[float, float] | None = None, penalty_db_per_s: float = 40.0) -> float:
    """The time in [lo, hi] at the centre of the quietest `frame_s` window: where a cut is least audible.

    Windows are tried every fifth of a frame. When several are equally quiet (a stretch of digital
    silence) the one nearest the middle of the range wins, so a cut lands well inside a pause rather
    than at its edge. A range shorter than one frame gives its midpoint. The range is clamped to the clip.

    `prefer` (lo, hi): where the cut should be if nothing is clearly quieter, e.g. the pause between two
    words as the ASR timed them. Windows outside it pay `penalty_db_per_s` dB per second of distance
    (40 dB/s: a dip 100 ms away must be 4 dB quieter), because ASR word edges are often 50-150 ms off in
    fluent speech, where the real boundary is the deepest dip nearby, not the time the ASR gave.
    """
    a, b = _span(audio, lo, hi, "low_energy_point")
    rate = audio.sample_rate
    frame = max(1, int(round(frame_s * rate)))
    if b - a < frame:
        return (a + b) / 2 / rate
    power = np.concatenate([[0.0], np.cumsum(audio.samples[a:b].astype(np.float64) ** 2)])
    hop = max(1, frame // 5)
    offsets = np.arange(0, b - a - frame + 1, hop)
    with np.errstate(divide="ignore"):
        score = np.maximum(10.0 * np.log10((power[offsets + frame] - power[offsets]) / frame), FLOOR_DBFS)
    centres = (a + offsets + frame / 2) / rate
    middle = (a + b) / 2 / rate
    if prefer is not None:
        p_lo, p_hi = sorted(float(x) for x in prefer)
        distance = np.maximum(0.0, np.maximum(p_lo - centres, centres - p_hi))
        score = score + penalty_db_per_s * distance
        middle = min(max((p_lo + p_hi) / 2, centres[0]), centres[-1])
    candidates = np.flatnonzero(score <= score.min() + 0.01)
    best = candidates[np.argmin(np.abs(centres[candidates] - middle))]
    return float(centres[best])


def seam_click_ratio(audio: Audio, at: float, window_s: float = 0.5) -> float:
    """How much a seam at `at` stands out as a click: the high-passed peak within +-5 ms of the seam
    divided by the high-passed peak of the audio within `window_s` either side (excluding those 10 ms).

    <= 1.0 means the seam has no more high-frequency transient than the speech around it already has (no
    click); a step discontinuity or a spike gives several times that. High-pass: see CLICK_HIGH_PASS_HZ.
    A seam whose high-passed peak is below -100 dBFS scores 0 (nothing to hear, even in silence).
    """
    rate = audio.sample_rate
    if not np.isfinite(at) or not 0.0 <= at <= audio.duration:
        raise EditError(f"seam_click_ratio: the seam at {at!r} s is outside the audio (0 to {audio.duration:.3f} s).")
    pad = 0.02  # filter run-in either side, excluded from the measurement
    a, b = _span(audio, at - window_s - pad, at + window_s + pad, "seam_click_ratio")
    excerpt = audio.samples[a:b].astype(np.float64)
    cutoff = min(CLICK_HIGH_PASS_HZ, 0.3 * rate)
    sos = signal.butter(_CLICK_ORDER, cutoff, btype="highpass", fs=rate, output="sos")
    if excerpt.size <= 3 * (2 * sos.shape[0] + 1):  # too short for a forward-backward filter
        return 0.0
    high = np.abs(signal.sosfiltfilt(sos, excerpt))
    index = np.arange(a, b)
    centre = at * rate
    near_mask = np.abs(index - centre) <= _CLICK_NEAR_S * rate
    far_mask = (~near_mask) & (np.abs(index - centre) <= window_s * rate)
    near = float(high[near_mask].max()) if near_mask.any() else 0.0
    if near < _CLICK_QUIET:
        return 0.0
    far = float(high[far_mask].max()) if far_mask.any() else 0.0
    return near / max(far, _CLICK_QUIET)


def noise_floor_db(audio: Audio, lo: float, hi: float) -> float:
    """Noise floor of [lo, hi] in dBFS, as `audio.levels.noise_floor_db` measures it on 20 ms frames (the
    power mean of the quietest tenth: the pauses and the quietest moments between sounds). FLOOR_DBFS for
    digital silence; a range shorter than one frame is measured as a single frame."""
    a, b = _span(audio, lo, hi, "noise_floor_db")
    samples = audio.samples[a:b]
    if samples.size == 0:
        raise EditError(f"noise_floor_db: the range {lo:.3f}-{hi:.3f} s holds no audio.")
    return max(levels.noise_floor_db(samples, audio.sample_rate, _FLOOR_FRAME_S), FLOOR_DBFS)


def pause_floor_db(audio: Audio, speech: Sequence[Word] | Sequence[tuple[float, float]], lo: float,
                   hi: float) -> float:
    """The background level in the pauses near [lo, hi], in dBFS: the median level of the 20 ms frames
    between the `speech` spans (words, or (start, end) speech regions from a VAD, sorted), 30 ms clear of
    each span (ASR word edges and VAD edges are approximate).

    Why not `noise_floor_db` over [lo, hi]: in fluent speech the quietest tenth of all frames is still
    speech (a clean audiobook's 10th percentile over 4 s can be 20 dB above its room noise). Why the
    median: it is the level a listener hears as the pauses' background, and it is what a short stretch of
    that background (the few pause frames around an inserted word) measures as. Pauses inside [lo, hi]
    are used if they add up to 0.3 s; otherwise (a stretch of continuous speech, or a pause that is really
    a word's tail) the whole clip's pauses; with no pauses at all, `noise_floor_db` over [lo, hi].
    """
    a, b = _span(audio, lo, hi, "pause_floor_db")
    rate = audio.sample_rate
    frame = max(1, int(round(_FLOOR_FRAME_S * rate)))
    margin = int(round(_PAUSE_MARGIN_S * rate))
    spans = [(w.start, w.end) if isinstance(w, Word) else (float(w[0]), float(w[1])) for w in speech]
    edges = [0.0] + [t for span in spans for t in span] + [audio.duration]
    gaps = [(int(round(x * rate)) + margin, int(round(y * rate)) - margin) for x, y in zip(edges[::2], edges[1::2])]

    def levels(first: int, last: int) -> np.ndarray:
        found = [np.zeros(0)]
        for g0, g1 in gaps:
            s, e = max(g0, first), min(g1, last)
            count = (e - s) // frame
            if count > 0:
                found.append(frame_levels_db(audio.samples[s: s + count * frame], frame))
        return np.concatenate(found)

    chosen = levels(a, b)
    if chosen.size * _FLOOR_FRAME_S < _PAUSE_MIN_S:
        chosen = levels(0, audio.num_samples)
    if not chosen.size:
        return noise_floor_db(audio, lo, hi)
    return float(np.median(np.maximum(chosen, FLOOR_DBFS)))
