"""Cutting and joining clips: change the rate, trim the silence at the ends, join pieces with crossfades."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import soxr

from .levels import frame_powers
from .value import SILENCE_DBFS, Audio, AudioError

__all__ = ["resample", "speech_bounds", "trim_silence", "join"]

_TRIM_FRAME_S = 0.01


def resample(audio: Audio, sample_rate: int) -> Audio:
    """Change the rate with soxr's high-quality filter, so engines get the rate they were trained on."""
    if sample_rate <= 0:
        raise AudioError(f"Target sample rate must be positive, got {sample_rate}.")
    if sample_rate == audio.sample_rate:
        return audio
    if audio.num_samples == 0:
        return Audio(audio.samples, sample_rate)
    out = soxr.resample(audio.samples, audio.sample_rate, sample_rate, quality="HQ")
    return Audio(np.asarray(out, dtype=np.float32), sample_rate)


def speech_bounds(samples: np.ndarray, rate: int, threshold_db: float = -45.0,
                  pad_seconds: float = 0.1) -> tuple[int, int] | None:
    """(start, stop) of the samples from the first to the last 10 ms frame within `threshold_db` of the
    loudest one, widened by `pad_seconds` each side; None when nothing rises above the silence floor.
    Found block by block, so a ten-minute clip costs no float64 copy of itself."""
    if samples.size == 0:
        return None
    frame = max(1, int(round(_TRIM_FRAME_S * rate)))
    powers = frame_powers(samples, frame, partial=True)
    loudest = float(powers.max())
    if loudest <= 0 or 10.0 * np.log10(loudest) < SILENCE_DBFS:
        return None
    voiced = np.flatnonzero(powers >= loudest * 10.0 ** (threshold_db / 10.0))
    pad = int(round(pad_seconds * rate))
    return max(0, int(voiced[0]) * frame - pad), min(samples.size, (int(voiced[-1]) + 1) * frame + pad)


def trim_silence(audio: Audio, threshold_db: float = -45.0, pad_seconds: float = 0.1) -> Audio:
    """Cut leading and trailing silence (pauses inside the clip stay) so joins and scores see only speech.

    `threshold_db` is relative to the loudest 10 ms frame, so the same setting works for quiet
    and loud recordings; `pad_seconds` of context is kept on each side so soft onsets aren't clipped.
    A clip with nothing above the silence floor trims to empty.
    """
    if audio.num_samples == 0:
        return audio
    bounds = speech_bounds(audio.samples, audio.sample_rate, threshold_db, pad_seconds)
    if bounds is None:
        return Audio(audio.samples[:0], audio.sample_rate)
    return Audio(audio.samples[bounds[0]:bounds[1]], audio.sample_rate)


def join(parts: Sequence[Audio], crossfade_seconds: float = 0.01) -> Audio:
    """Concatenate clips at the first part's rate with a short linear crossfade at each seam.

    The crossfade hides the click a hard cut makes; linear (not equal-power) because a convex mix
    of two clips can never peak above the louder of them, so normalised takes stay unclipped.
    Each seam touches only its own overlap and the pieces are copied together once, so joining a
    1,000-chunk chapter costs what its samples cost (re-copying the joined part at every seam was quadratic).
    A part shorter than the crossfade is merged with the one before it, so a seam may reach back over it.
    """
    if not parts:
        raise AudioError("Nothing to join: no audio clips were given.")
    rate = parts[0].sample_rate
    fade = max(0, int(round(crossfade_seconds * rate)))
    pieces = [parts[0].samples.copy()]
    for part in parts[1:]:
        following = resample(part, rate).samples
        while len(pieces) > 1 and pieces[-1].size < fade:
            pieces[-2:] = [np.concatenate(pieces[-2:])]
        tail = pieces[-1]
        overlap = min(fade, tail.size, following.size)
        if overlap == 0:
            pieces.append(following)
            continue
        ramp = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
        seam = tail[-overlap:] * (1.0 - ramp) + following[:overlap] * ramp
        pieces[-1:] = [tail[:-overlap], seam, following[overlap:]]
    return Audio(np.concatenate(pieces), rate)
