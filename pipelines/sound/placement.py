"""Put a sound under narration: from a time, faded in and out, looped to a length, ducked under the speech.

Only the span the sound covers changes. Outside it the narration's samples are copied as they are; inside it
the narration is not processed either (no gain, no filter): the sound is added to it. Wherever someone speaks
the sound is lowered by `duck_db` (the speech is not touched), with raised-cosine ramps so the dip is not heard
as a step, so the words stay in front of the bed. A sum that would clip is scaled down as a whole span, and
the result says by how much.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real

import numpy as np

from ..audio import Audio, resample
from ..editing import fade

MAX_DUCK_DB = 60.0
MAX_GAIN_DB = 24.0
CEILING = 10 ** (-1.0 / 20)  # -1 dBFS: the sum is scaled to stay under it


@dataclass(frozen=True)
class Placement:
    """Where and how a sound goes under a narration. `length_s`: how long it plays (None: its own length, or
    to the narration's end when looped). `loop`: repeat the sound to fill `length_s`, with `crossfade_s`
    between repeats. `duck_db`: how far it is lowered under speech; `duck_ramp_s`: how fast it dips."""

    at_s: float = 0.0
    length_s: float | None = None
    loop: bool = False
    gain_db: float = 0.0
    fade_in_s: float = 0.05
    fade_out_s: float = 0.5
    duck_db: float = 12.0
    duck_ramp_s: float = 0.15
    crossfade_s: float = 0.05

    def checked(self, narration_s: float) -> "Placement":
        """ValueError with a readable message for settings that make no sense for this narration."""
        for name in ("at_s", "gain_db", "fade_in_s", "fade_out_s", "duck_db", "duck_ramp_s", "crossfade_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(float(value)):
                raise ValueError(f"{name} must be a number, got {value!r}.")
        if not 0.0 <= self.at_s < narration_s:
            raise ValueError(f"The sound would start at {self.at_s:.2f} s, past the narration's end "
                             f"({narration_s:.2f} s): place it within the narration.")
        if self.length_s is not None and not (isinstance(self.length_s, Real) and self.length_s > 0):
            raise ValueError(f"length_s must be a number of seconds above 0, got {self.length_s!r}.")
        if min(self.fade_in_s, self.fade_out_s, self.duck_ramp_s, self.crossfade_s) < 0:
            raise ValueError("Fades, ramps and crossfades must not be negative.")
        if not 0.0 <= self.duck_db <= MAX_DUCK_DB:
            raise ValueError(f"duck_db must be from 0 to {MAX_DUCK_DB:g} dB, got {self.duck_db}.")
        if not -MAX_GAIN_DB * 3 <= self.gain_db <= MAX_GAIN_DB:
            raise ValueError(f"gain_db must be from {-MAX_GAIN_DB * 3:g} to {MAX_GAIN_DB:g} dB, got {self.gain_db}.")
        return self


@dataclass(frozen=True)
class PlacedSound:
    """The mix, the span the sound covers (seconds), whether it was cut at the narration's end, the sound's
    gain per sample over that span (1 = as placed, lower under speech), and any scaling that kept the sum
    from clipping (dB, 0 when none)."""

    audio: Audio
    start_s: float
    end_s: float
    cut_at_end: bool
    ducking: np.ndarray
    scaled_db: float


def place(narration: Audio, sound: Audio, speech: Sequence[tuple[float, float]], placement: Placement) -> PlacedSound:
    """The narration with `sound` under it as `placement` says; `speech`: (start, end) seconds of speech in the
    narration (a voice activity detector's), where the sound is ducked."""
    placement = placement.checked(narration.duration)
    rate = narration.sample_rate
    bed = resample(sound, rate)
    if bed.num_samples == 0:
        raise ValueError("The sound is empty.")
    room = narration.duration - placement.at_s
    wanted = placement.length_s if placement.length_s is not None else (room if placement.loop else bed.duration)
    length = min(wanted, room)
    cut = wanted > room + 1e-9
    if placement.loop:
        bed = _looped(bed, length, placement.crossfade_s)
    bed = Audio(bed.samples[: int(round(length * rate))], rate)
    bed = fade(bed, placement.fade_in_s, placement.fade_out_s)
    start = int(round(placement.at_s * rate))
    end = min(start + bed.num_samples, narration.num_samples)
    ducking = duck_curve(end - start, rate, start / rate, speech, placement.duck_db, placement.duck_ramp_s)
    layer = bed.samples[: end - start].astype(np.float64) * 10 ** (placement.gain_db / 20) * ducking
    mixed = narration.samples.astype(np.float64).copy()
    span = mixed[start:end] + layer
    peak = float(np.max(np.abs(span))) if span.size else 0.0
    scaled_db = 0.0
    if peak > CEILING:  # lower the sum, not the speech alone: nothing outside the span changes
        scale = CEILING / peak
        span *= scale
        scaled_db = 20 * np.log10(scale)
    out = narration.samples.copy()
    out[start:end] = span.astype(np.float32)
    return PlacedSound(Audio(out, rate), start / rate, end / rate, cut, ducking.astype(np.float32), round(scaled_db, 2))


def duck_curve(count: int, rate: int, offset_s: float, speech: Sequence[tuple[float, float]], duck_db: float,
               ramp_s: float) -> np.ndarray:
    """Gain per sample for `count` samples starting `offset_s` into the narration: 1 away from speech,
    10^(-duck_db/20) during it, raised-cosine ramps of `ramp_s` into and out of each speech region (the dip
    is complete when the speech starts and holds until it ends)."""
    low = 10 ** (-duck_db / 20)
    depth = np.zeros(count)  # 0 = no ducking, 1 = fully ducked
    ramp = max(1, int(round(ramp_s * rate)))
    for begin_s, end_s in speech:
        a = int(round((begin_s - offset_s) * rate))
        b = int(round((end_s - offset_s) * rate))
        if b <= 0 or a >= count:
            continue
        depth[max(a, 0):min(b, count)] = 1.0
        shape = np.sin((np.arange(ramp) + 0.5) / ramp * np.pi / 2) ** 2
        for index, value in zip(range(a - ramp, a), shape):  # into the dip, before the speech
            if 0 <= index < count:
                depth[index] = max(depth[index], value)
        for index, value in zip(range(b, b + ramp), shape[::-1]):  # out of it, after the speech
            if 0 <= index < count:
                depth[index] = max(depth[index], value)
    return 1.0 - depth * (1.0 - low)


def _looped(sound: Audio, seconds: float, crossfade_s: float) -> Audio:
    """The sound repeated to at least `seconds`, each repeat crossfaded into the next."""
    rate, samples = sound.sample_rate, sound.samples.astype(np.float64)
    overlap = min(int(round(crossfade_s * rate)), samples.size // 2)
    needed = int(np.ceil(seconds * rate))
    out = samples.copy()
    while out.size < needed:
        if overlap:
            weights = _crossfade_weights(overlap)
            tail = out[-overlap:] * (1 - weights) + samples[:overlap] * weights
            out = np.concatenate([out[:-overlap], tail, samples[overlap:]])
        else:
            out = np.concatenate([out, samples])
    return Audio(out.astype(np.float32), rate)


def make_loopable(sound: Audio, crossfade_s: float) -> Audio:
    """The sound with its last `crossfade_s` faded into its start, so played end to start (looped) it has no
    seam: the result is shorter by the crossfade, and its first sample continues from its last one."""
    rate, samples = sound.sample_rate, sound.samples.astype(np.float64)
    overlap = min(int(round(crossfade_s * rate)), samples.size // 2)
    if overlap == 0:
        return sound
    weights = _crossfade_weights(overlap)
    body = samples[:-overlap].copy()
    body[:overlap] = samples[-overlap:] * (1 - weights) + samples[:overlap] * weights
    return Audio(body.astype(np.float32), rate)


def _crossfade_weights(count: int) -> np.ndarray:
    """Rising crossfade weights (sin², smooth at both ends); the falling side is 1 - w, so they sum to one."""
    return np.sin((np.arange(count) + 0.5) / count * np.pi / 2) ** 2
