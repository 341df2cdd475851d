"""Mastering: make (denoised) speech meet a delivery target.

A delivery target is what a platform asks of a file: a loudness (integrated LUFS, or RMS for ACX), a peak
ceiling and, for audiobooks, a noise floor. `master` gets there with a short, fixed chain, each step there
for one reason:

    trim ends -> high-pass (rumble, DC) -> gain to the level -> downward expander (pauses, only if the
    noise floor is too high) -> true-peak limiter (ceiling) -> measure, and correct the gain if limiting
    moved the level

Every step works block by block over the clip (filter states and look-ahead carried across blocks), so
a ten-minute recording costs about one extra copy of itself, not one per step or a 4x-oversampled copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from scipy import ndimage, signal

from .audio import SILENCE_DBFS, Audio, AudioError, is_silent, peak_dbfs

__all__ = [
    "LevelReport",
    "DeliveryTarget",
    "TARGETS",
    "MasteringResult",
    "measure",
    "true_peak_dbfs",
    "high_pass",
    "limit_true_peak",
    "master",
]

_BLOCK = 1 << 16  # samples per processing block: big enough for numpy, small enough to keep memory flat
_MIN_RATE = 8000  # the K-weighting shelf (1.5 kHz) and the 80 Hz high-pass need at least telephone rate

# True peak (ITU-R BS.1770-4 Annex 2): 4x oversampling through a linear-phase low-pass. This one is our
# own Kaiser-window design with 12 taps per phase like the standard's; it is flat to +-0.005 dB up to
# 0.8 of Nyquist and rejects images by 53 dB. x4 restores the level zero-stuffing divides away.
_OVERSAMPLE = 4
_TP_HALF = 12  # filter half-length in input samples: the context a block needs on each side
_TP_TAPS = signal.firwin(2 * _OVERSAMPLE * _TP_HALF + 1, 1.0 / _OVERSAMPLE, window=("kaiser", 6.0)) * _OVERSAMPLE

# BS.1770 integrated loudness, with the same K-weighting (RBJ high shelf +4 dB at 1.5 kHz, RBJ high-pass
# at 38 Hz) and the same 400 ms / 75 %-overlap blocks as pyloudnorm, so `measure` agrees with
# `audio.loudness` while holding only one number per 100 ms instead of float64 copies of the clip.
_LOUDNESS_BLOCK_S = 0.4
_LOUDNESS_STEP = 0.25
_ABSOLUTE_GATE_LUFS = -70.0
_RELATIVE_GATE_LU = -10.0

_FLOOR_FRAME_S = 0.05  # noise floor: power mean of the quietest 10 % of 50 ms frames
_FLOOR_FRACTION = 0.10

_TRIM_FRAME_S, _TRIM_THRESHOLD_DB = 0.01, -45.0  # the rule audio.trim_silence uses
_MAX_GAIN_DB = 30.0  # more than this would mostly amplify residual noise (e.g. a denoised noise-only clip)
_LEVEL_TOLERANCE_DB = 0.1  # how close the level correction loop aims
_PASSES = 5  # render/measure passes: the first almost always lands; later ones correct for limiting
_PEAK_MARGIN_DB = 0.05  # the limiter aims this far under its ceiling (float32 rounding, interpolation)
_ATTACK_S = 0.005  # limiter: the gain starts turning down this long before a crest...
_RELEASE_S = 0.08  # ...and recovers with this time constant after it

# Downward expander for pauses (audiobook noise floor). Levels are judged on 10 ms frames of the
# high-passed clip; the gate opens 30 ms before speech and holds 200 ms after it, so onsets and word
# tails are never cut, and its gain moves smoothly over 50 ms.
_GATE_FRAME_S = 0.01
_GATE_LOOKAHEAD_S = 0.03
_GATE_HOLD_S = 0.2
_GATE_SMOOTH_S = 0.05
# Thresholds sit between the floor and the speech level (95th percentile of frames): frames under
# `closed` are pauses (full depth), frames over `open` are speech (untouched), with a ramp in between.
_GATE_OPEN_FRACTION = 0.5  # open halfway (in dB) from the floor up to the speech level...
_GATE_OPEN_MIN_DB, _GATE_OPEN_MAX_DB = 10.0, 30.0  # ...but 10 to 30 dB above the floor
_GATE_RAMP_DB = 8.0  # closed this far under open
_GATE_SPEECH_PERCENTILE = 95.0
_GATE_MAX_DEPTH_DB = 30.0  # beyond this a gate sounds like drop-outs; denoise first instead
_FLOOR_MARGIN_DB = 2.0  # aim the floor this far under the target's ceiling


# ------------------------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class LevelReport:
    """The numbers a delivery spec is written in, for one clip. Silent measurements are -inf."""

    integrated_lufs: float  # ITU-R BS.1770-4 gated loudness
    true_peak_dbfs: float  # 4x-oversampled peak (dBTP): what a DAC or a lossy encoder will reach
    sample_peak_dbfs: float
    rms_db: float  # unweighted RMS of the whole clip, as ACX measures it
    noise_floor_db: float  # RMS of the quietest 10 % of 50 ms frames: the room tone in the pauses
    duration: float  # seconds

    def describe(self) -> str:
        """One line for a UI or a log."""
        return (f"{self.integrated_lufs:.1f} LUFS, true peak {self.true_peak_dbfs:.1f} dBTP, "
                f"peak {self.sample_peak_dbfs:.1f} dBFS, RMS {self.rms_db:.1f} dB, "
                f"noise floor {self.noise_floor_db:.1f} dB, {self.duration:.1f} s")


@dataclass(frozen=True)
class DeliveryTarget:
    """What a platform accepts. The level is either integrated loudness (`level_kind` "lufs") or whole-file
    RMS ("rms", ACX); `level_db` is where mastering aims inside [`level_min_db`, `level_max_db`]."""

    name: str
    description: str
    level_kind: str
    level_db: float
    level_min_db: float
    level_max_db: float
    true_peak_max_dbfs: float  # the limiter's ceiling; also bounds the sample peak
    sample_peak_max_dbfs: float | None = None
    noise_floor_max_db: float | None = None
    room_tone_s: float = 0.1  # how much lead-in / tail is kept when trimming silence at the ends

    def __post_init__(self) -> None:
        if self.level_kind not in ("lufs", "rms"):
            raise ValueError(f"level_kind must be 'lufs' or 'rms', got {self.level_kind!r}.")
        if not self.level_min_db <= self.level_db <= self.level_max_db:
            raise ValueError(f"level_db {self.level_db} must lie in [{self.level_min_db}, {self.level_max_db}].")
        if not -60.0 <= self.true_peak_max_dbfs <= 0.0:
            raise ValueError(f"true_peak_max_dbfs must be in [-60, 0] dBFS, got {self.true_peak_max_dbfs}.")

    def level(self, report: LevelReport) -> float:
        """The level this target is specified in, read from a report."""
        return report.integrated_lufs if self.level_kind == "lufs" else report.rms_db

    def check(self, report: LevelReport) -> tuple[str, ...]:
        """Every way `report` misses this target, as readable sentences; empty when it is met."""
        unit = "LUFS" if self.level_kind == "lufs" else "dB RMS"
        level = self.level(report)
        problems = []
        if not self.level_min_db <= level <= self.level_max_db:
            problems.append(f"level {level:.1f} {unit} is outside {self.level_min_db:g}..{self.level_max_db:g} {unit}")
        if report.true_peak_dbfs > self.true_peak_max_dbfs:
            problems.append(f"true peak {report.true_peak_dbfs:.2f} dBTP is above {self.true_peak_max_dbfs:g} dBTP")
        if self.sample_peak_max_dbfs is not None and report.sample_peak_dbfs > self.sample_peak_max_dbfs:
            problems.append(f"peak {report.sample_peak_dbfs:.2f} dBFS is above {self.sample_peak_max_dbfs:g} dBFS")
        if self.noise_floor_max_db is not None and report.noise_floor_db > self.noise_floor_max_db:
            problems.append(f"noise floor {report.noise_floor_db:.1f} dB is above {self.noise_floor_max_db:g} dB")
        return tuple(problems)


TARGETS: dict[str, DeliveryTarget] = {
    "podcast": DeliveryTarget(
        name="podcast", description="Podcast / streaming: -16 LUFS integrated, true peak at most -1 dBTP",
        level_kind="lufs", level_db=-16.0, level_min_db=-17.0, level_max_db=-15.0, true_peak_max_dbfs=-1.0),
    "broadcast": DeliveryTarget(
        name="broadcast", description="Broadcast (EBU R128): -23 LUFS +-0.5 LU, true peak at most -1 dBTP",
        level_kind="lufs", level_db=-23.0, level_min_db=-23.5, level_max_db=-22.5, true_peak_max_dbfs=-1.0),
    "audiobook": DeliveryTarget(
        name="audiobook",
        description="Audiobook (ACX): RMS -23..-18 dB, peak at most -3 dBFS, noise floor at most -60 dB",
        level_kind="rms", level_db=-20.5, level_min_db=-23.0, level_max_db=-18.0, true_peak_max_dbfs=-3.0,
        sample_peak_max_dbfs=-3.0, noise_floor_max_db=-60.0, room_tone_s=1.0),  # ACX wants room tone at the ends
}


@dataclass(frozen=True, eq=False)
class MasteringResult:
    """The mastered clip, its levels before and after, and how the chain got there."""

    audio: Audio
    before: LevelReport
    after: LevelReport
    target: DeliveryTarget
    gain_db: float  # the static gain applied after the high-pass
    gate_depth_db: float  # how far the expander pulled the pauses down (0: not needed)
    problems: tuple[str, ...]  # what is still off target (target.check(after)); empty when met

    @property
    def met(self) -> bool:
        return not self.problems


# ----------------------------------------------------------------------------------------- measuring


def _db(power_or_amplitude: float, *, power: bool) -> float:
    if power_or_amplitude <= 0:
        return float("-inf")
    return (10.0 if power else 20.0) * math.log10(power_or_amplitude)


def _blocks(total: int, size: int = _BLOCK) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(total, start + size)


def _peak_envelope(samples: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Per input sample n in [start, stop): the largest |value| of the 4x-oversampled signal on [n, n+1),
    and never less than |x[n]|. Reads `_TP_HALF` + 1 samples of context each side, so blocks give exactly
    what the whole clip would (outside the clip the signal is zero, as for a DAC)."""
    lo, hi = max(0, start - _TP_HALF - 1), min(samples.size, stop + _TP_HALF + 1)
    up = signal.upfirdn(_TP_TAPS, samples[lo:hi].astype(np.float64), up=_OVERSAMPLE)
    first = _OVERSAMPLE * (start - lo + _TP_HALF)  # upfirdn delays by the filter's half-length
    dense = np.abs(up[first: first + _OVERSAMPLE * (stop - start)])
    peak = np.abs(samples[start:stop]).astype(np.float64)
    for phase in range(_OVERSAMPLE):  # strided maxima: much faster than max over a 4-wide axis
        np.maximum(peak, dense[phase::_OVERSAMPLE], out=peak)
    return peak


def true_peak_dbfs(audio: Audio) -> float:
    """True peak in dBTP (BS.1770-4: 4x oversampled), never below the sample peak; -inf for silence.

    A sample peak misses the crests between samples, which reach the DAC and the lossy encoders: an
    fs/4 sine sampled 45 degrees off its crest reads 3 dB low on samples."""
    return _true_peak_of(audio.samples)


def _biquad_high_shelf(f0: float, gain_db: float, q: float, rate: int) -> np.ndarray:
    """RBJ Audio-EQ-Cookbook high shelf as one SOS row."""
    a, w0 = 10.0 ** (gain_db / 40.0), 2.0 * math.pi * f0 / rate
    alpha, cos = math.sin(w0) / (2.0 * q), math.cos(w0)
    root = 2.0 * math.sqrt(a) * alpha
    b = [a * ((a + 1) + (a - 1) * cos + root), -2 * a * ((a - 1) + (a + 1) * cos), a * ((a + 1) + (a - 1) * cos - root)]
    den = [(a + 1) - (a - 1) * cos + root, 2 * ((a - 1) - (a + 1) * cos), (a + 1) - (a - 1) * cos - root]
    return np.array([*(x / den[0] for x in b), *(x / den[0] for x in den)])


def _biquad_high_pass(f0: float, q: float, rate: int) -> np.ndarray:
    """RBJ Audio-EQ-Cookbook high-pass as one SOS row."""
    w0 = 2.0 * math.pi * f0 / rate
    alpha, cos = math.sin(w0) / (2.0 * q), math.cos(w0)
    b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
    den = [1 + alpha, -2 * cos, 1 - alpha]
    return np.array([*(x / den[0] for x in b), *(x / den[0] for x in den)])


def _k_weighting(rate: int) -> np.ndarray:
    return np.vstack([_biquad_high_shelf(1500.0, 4.0, 1.0 / math.sqrt(2.0), rate),
                      _biquad_high_pass(38.0, 0.5, rate)])


class _LoudnessMeter:
    """BS.1770-4 gated loudness fed block by block: K-weighting state carried, and only the running
    energy at each 400 ms block's edges kept (see the constants above for why not pyloudnorm)."""

    def __init__(self, total: int, rate: int) -> None:
        count = int(round((total / rate - _LOUDNESS_BLOCK_S) / (_LOUDNESS_BLOCK_S * _LOUDNESS_STEP))) + 1
        j = np.arange(max(count, 0))
        self.lower = (_LOUDNESS_BLOCK_S * (j * _LOUDNESS_STEP) * rate).astype(np.int64)
        self.upper = np.minimum((_LOUDNESS_BLOCK_S * (j * _LOUDNESS_STEP + 1) * rate).astype(np.int64), total)
        self.edges = np.unique(np.concatenate([self.lower, self.upper]))
        self.energy_at = np.zeros(self.edges.size)  # running sum of squares at each edge (edge 0: 0)
        self.sos = _k_weighting(rate)
        self.state = np.zeros((self.sos.shape[0], 2))
        self.rate, self.fed, self.running = rate, 0, 0.0

    def feed(self, block: np.ndarray) -> None:
        weighted, self.state = signal.sosfilt(self.sos, block.astype(np.float64), zi=self.state)
        cumulative = self.running + np.cumsum(weighted * weighted)
        start, stop = self.fed, self.fed + block.size
        inside = (self.edges > start) & (self.edges <= stop)
        self.energy_at[inside] = cumulative[self.edges[inside] - start - 1]
        self.fed, self.running = stop, float(cumulative[-1]) if block.size else self.running

    def lufs(self) -> float:
        energy = self.energy_at[np.searchsorted(self.edges, self.upper)] - \
            self.energy_at[np.searchsorted(self.edges, self.lower)]
        z = energy / (_LOUDNESS_BLOCK_S * self.rate)
        with np.errstate(divide="ignore"):
            block_lufs = -0.691 + 10.0 * np.log10(z)
        gated = z[block_lufs >= _ABSOLUTE_GATE_LUFS]
        if gated.size == 0:
            return float("-inf")
        relative = -0.691 + 10.0 * math.log10(float(gated.mean())) + _RELATIVE_GATE_LU
        kept = z[(block_lufs > relative) & (block_lufs > _ABSOLUTE_GATE_LUFS)]
        return -0.691 + 10.0 * math.log10(float(kept.mean())) if kept.size else float("-inf")


def _integrated_lufs(samples: np.ndarray, rate: int) -> float:
    """Integrated loudness of a whole array, like `audio.loudness` (short clips are looped to one block)."""
    if samples.size == 0 or not np.any(samples):
        return float("-inf")
    needed = int(math.ceil(_LOUDNESS_BLOCK_S * rate)) + 1
    if samples.size < needed:  # looping keeps a steady sound's loudness, padding would understate it
        samples = np.tile(samples, int(math.ceil(needed / samples.size)))
    meter = _LoudnessMeter(samples.size, rate)
    for start, stop in _blocks(samples.size):
        meter.feed(samples[start:stop])
    return meter.lufs()


def _frame_powers(samples: np.ndarray, frame: int, *, partial: bool = False) -> np.ndarray:
    """Mean power of each whole frame, block by block. A ragged end is dropped, or with `partial` counted
    as a frame padded with zeros; a clip shorter than one frame is one frame either way."""
    count = samples.size // frame
    if count == 0:
        return np.array([float(np.mean(samples.astype(np.float64) ** 2)) if samples.size else 0.0])
    powers = np.empty(count)
    step = max(1, _BLOCK // frame) * frame
    for start in range(0, count * frame, step):
        part = samples[start: min(count * frame, start + step)].astype(np.float64)
        powers[start // frame: start // frame + part.size // frame] = (part * part).reshape(-1, frame).mean(axis=1)
    rest = samples[count * frame:].astype(np.float64)
    if partial and rest.size:
        powers = np.append(powers, float(rest @ rest) / frame)
    return powers


def _quietest_db(powers: np.ndarray) -> float:
    """Power mean of the quietest `_FLOOR_FRACTION` of frames, in dB."""
    quietest = np.sort(powers)[: max(1, int(round(_FLOOR_FRACTION * powers.size)))]
    return _db(float(quietest.mean()), power=True)


def _noise_floor_db(samples: np.ndarray, rate: int) -> float:
    return _quietest_db(_frame_powers(samples, max(1, int(round(_FLOOR_FRAME_S * rate)))))


def measure(audio: Audio) -> LevelReport:
    """Loudness, peaks, RMS and noise floor of a clip, in constant extra memory."""
    return _measure(audio.samples, audio.sample_rate)


def _measure(samples: np.ndarray, rate: int, true_peak: float | None = None) -> LevelReport:
    square_sum, sample_peak = 0.0, 0.0
    for start, stop in _blocks(samples.size):
        part = samples[start:stop].astype(np.float64)
        square_sum += float(part @ part)
        sample_peak = max(sample_peak, float(np.abs(part).max()))
    return LevelReport(
        integrated_lufs=_integrated_lufs(samples, rate),
        true_peak_dbfs=_true_peak_of(samples) if true_peak is None else true_peak,
        sample_peak_dbfs=_db(sample_peak, power=False),
        rms_db=_db(square_sum / samples.size, power=True) if samples.size else float("-inf"),
        noise_floor_db=_noise_floor_db(samples, rate),
        duration=samples.size / rate,
    )


# ----------------------------------------------------------------------------------------- high-pass


def _high_pass_sos(cutoff_hz: float, rate: int) -> np.ndarray:
    if not (isinstance(cutoff_hz, (int, float)) and math.isfinite(cutoff_hz) and 0 < cutoff_hz < 0.45 * rate):
        raise ValueError(f"high-pass cutoff must be a number of Hz between 0 and {0.45 * rate:g} "
                         f"(0.45 x the {rate} Hz sample rate), got {cutoff_hz!r}.")
    return signal.butter(4, cutoff_hz, btype="highpass", fs=rate, output="sos")


def _filtered_blocks(samples: np.ndarray, sos: np.ndarray | None,
                     size: int = _BLOCK) -> Iterator[tuple[int, int, np.ndarray]]:
    """(start, stop, float64 block) of `samples` through `sos`, the filter state carried across blocks.
    The state starts as if the first sample had always been there, so a DC offset doesn't thump."""
    state = None if sos is None or samples.size == 0 else signal.sosfilt_zi(sos) * float(samples[0])
    for start, stop in _blocks(samples.size, size):
        block = samples[start:stop].astype(np.float64)
        if sos is not None:
            block, state = signal.sosfilt(sos, block, zi=state)
        yield start, stop, block


def high_pass(audio: Audio, cutoff_hz: float = 80.0) -> Audio:
    """Remove rumble, handling noise and DC below `cutoff_hz` (4th-order Butterworth, 24 dB/octave).

    Minimum phase (causal `sosfilt`), not zero-phase `filtfilt`: it has no pre-ringing ahead of plosives,
    its phase shift sits below ~200 Hz where the ear cannot hear it on speech, and it runs block by block
    with its state carried, which a forward-backward filter over a ten-minute file cannot.
    """
    sos = _high_pass_sos(cutoff_hz, audio.sample_rate)
    out = np.empty(audio.num_samples, dtype=np.float32)
    for start, stop, block in _filtered_blocks(audio.samples, sos):
        out[start:stop] = block
    return Audio(out, audio.sample_rate)


# ------------------------------------------------------------------------------------------- limiter


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


def _limit_in_place(samples: np.ndarray, rate: int, ceiling_dbfs: float, attack_s: float, release_s: float) -> None:
    """Look-ahead true-peak limiter over a float32 array, in blocks, writing gains behind its read point.

    Per sample, the reduction needed to bring the 4x-oversampled peak under the ceiling (dB) is spread to
    the filter's reach either side and `lag` samples ahead (max filter), decays back at `release_s`
    (exponential, in dB), and is smoothed by a triangle of `attack_s` (two boxcars). Because every sample
    in each smoothing window already needs at least the reduction of the sample it ends on, the smoothed
    gain is never less reduction than needed: no overs, no clipping, no clicks.
    """
    total = samples.size
    half = max(_TP_HALF + 2, int(round(attack_s * rate / 2)) + 1)  # boxcar width
    span = 2 * (half - 1)  # triangle support - 1 = how far ahead the reduction starts
    lag = span + _TP_HALF  # gains are final this many samples behind the block being analysed
    radius = span // 2 + _TP_HALF  # the max filter's half-width (span + 2 * _TP_HALF + 1 wide)
    decay = math.exp(-1.0 / (release_s * rate))
    ceiling = ceiling_dbfs - _PEAK_MARGIN_DB
    needed_tail = np.zeros(2 * radius)  # reduction (dB) needed at the samples before this block
    released_tail = np.zeros(span)  # the released reduction of the samples before the ones being finished
    carry = 0.0
    for start in range(0, total + lag, _BLOCK):
        stop = min(start + _BLOCK, total + lag)
        if start < total:
            envelope = _peak_envelope(samples, start, min(stop, total))
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


def _check_ceiling(ceiling_dbfs: float) -> float:
    if not (isinstance(ceiling_dbfs, (int, float)) and math.isfinite(ceiling_dbfs) and -60 <= ceiling_dbfs <= 0):
        raise ValueError(f"ceiling_dbfs must be a number of dBFS in [-60, 0], got {ceiling_dbfs!r}.")
    return float(ceiling_dbfs)


def _true_peak_of(samples: np.ndarray) -> float:
    peak = 0.0
    for start, stop in _blocks(samples.size):
        peak = max(peak, float(_peak_envelope(samples, start, stop).max()))
    return _db(peak, power=False)


def _limit(samples: np.ndarray, rate: int, ceiling_dbfs: float, attack_s: float, release_s: float) -> float:
    """Limit in place and return the true peak reached. If the gain's own movement left an inter-sample
    crest over the ceiling (rare, hundredths of a dB), limit again a little lower."""
    aim = ceiling_dbfs
    for _ in range(3):
        _limit_in_place(samples, rate, aim, attack_s, release_s)
        peak = _true_peak_of(samples)
        over = peak - ceiling_dbfs
        if over <= 0:
            return peak
        aim -= over + _PEAK_MARGIN_DB
    samples *= np.float32(10.0 ** (-(over + _PEAK_MARGIN_DB) / 20.0))  # last resort: a tiny static trim
    return _true_peak_of(samples)


def limit_true_peak(audio: Audio, ceiling_dbfs: float = -1.0, *, attack_s: float = _ATTACK_S,
                    release_s: float = _RELEASE_S) -> Audio:
    """Bring the true (4x-oversampled) peak to at most `ceiling_dbfs` with a smooth look-ahead gain.

    Only the moments that would go over are turned down: the gain starts falling `attack_s` before a
    crest and recovers over `release_s` after it, so there is no clipping distortion and material that
    never reaches the ceiling passes unchanged.
    """
    ceiling = _check_ceiling(ceiling_dbfs)
    if not (attack_s > 0 and release_s > 0):
        raise ValueError(f"attack_s and release_s must be positive seconds, got {attack_s!r}, {release_s!r}.")
    out = audio.samples.copy()
    if out.size:
        _limit(out, audio.sample_rate, ceiling, attack_s, release_s)
    return Audio(out, audio.sample_rate)


# ------------------------------------------------------------------------------------------ expander


@dataclass(frozen=True)
class _Gate:
    """A downward expander's gain curve: 0 dB over speech, -depth dB in pauses, per 10 ms frame."""

    frame: int  # samples per frame
    openness: np.ndarray  # 1 = speech (no change), 0 = pause (full depth), smooth in between

    def gains(self, start: int, stop: int, depth_db: float) -> np.ndarray:
        centres = (np.arange(self.openness.size) + 0.5) * self.frame
        shut = 1.0 - np.interp(np.arange(start, stop), centres, self.openness)
        return 10.0 ** (-depth_db * shut / 20.0)


def _plan_gate(samples: np.ndarray, rate: int, sos: np.ndarray | None) -> tuple[_Gate, float]:
    """Where the pauses are, judged on the high-passed clip, and its noise floor (dB, before any gain)."""
    frame = max(1, int(round(_GATE_FRAME_S * rate)))
    floor_frame = max(1, int(round(_FLOOR_FRAME_S * rate)))
    whole = math.lcm(frame, floor_frame)
    size = max(1, _BLOCK // whole) * whole  # blocks of whole frames of both sizes: no ragged frame edges
    powers, floor_powers = [], []
    for _, stop, block in _filtered_blocks(samples, sos, size):
        if block.size >= frame or stop == block.size:
            powers.append(_frame_powers(block, frame))
        if block.size >= floor_frame or stop == block.size:
            floor_powers.append(_frame_powers(block, floor_frame))
    floor = _quietest_db(np.concatenate(floor_powers))
    with np.errstate(divide="ignore"):
        level = 10.0 * np.log10(np.concatenate(powers))
    speech = float(np.percentile(level, _GATE_SPEECH_PERCENTILE))
    opened = floor + float(np.clip(_GATE_OPEN_FRACTION * (speech - floor), _GATE_OPEN_MIN_DB, _GATE_OPEN_MAX_DB))
    closed = max(floor + 3.0, opened - _GATE_RAMP_DB)
    openness = np.clip((level - closed) / (opened - closed), 0.0, 1.0)
    # Open wherever speech is within `hold` frames before or `ahead` frames after.
    ahead, hold = int(round(_GATE_LOOKAHEAD_S / _GATE_FRAME_S)), int(round(_GATE_HOLD_S / _GATE_FRAME_S))
    padded = np.pad(openness, (hold, ahead), mode="edge")
    openness = np.lib.stride_tricks.sliding_window_view(padded, hold + ahead + 1).max(axis=1)
    smooth = max(1, int(round(_GATE_SMOOTH_S / _GATE_FRAME_S)))
    openness = ndimage.uniform_filter1d(openness, size=smooth, mode="nearest")
    return _Gate(frame, openness), floor


# -------------------------------------------------------------------------------------------- master


def _target(target: str | DeliveryTarget) -> DeliveryTarget:
    if isinstance(target, DeliveryTarget):
        return target
    key = str(target).strip().lower()
    if key not in TARGETS:
        raise ValueError(f"Unknown delivery target {target!r}; choose one of: {', '.join(TARGETS)}.")
    return TARGETS[key]


def _render(samples: np.ndarray, rate: int, sos: np.ndarray | None, gain_db: float,
            gate: _Gate | None, gate_depth_db: float, ceiling_dbfs: float) -> tuple[np.ndarray, float]:
    """High-pass -> gain -> expander into a new float32 array, then limit it in place; also its true peak."""
    out = np.empty(samples.size, dtype=np.float32)
    gain = 10.0 ** (gain_db / 20.0)
    for start, stop, block in _filtered_blocks(samples, sos):
        block *= gain
        if gate is not None and gate_depth_db > 0:
            block *= gate.gains(start, stop, gate_depth_db)
        out[start:stop] = block
    return out, _limit(out, rate, ceiling_dbfs, _ATTACK_S, _RELEASE_S)


def _trim_bounds(samples: np.ndarray, rate: int, pad_seconds: float) -> tuple[int, int]:
    """Where `audio.trim_silence` would cut (10 ms frames more than 45 dB under the loudest one are
    silence; `pad_seconds` kept each side), found block by block instead of on float64 copies of the clip."""
    frame = max(1, int(round(_TRIM_FRAME_S * rate)))
    powers = _frame_powers(samples, frame, partial=True)
    voiced = np.flatnonzero(powers >= powers.max() * 10.0 ** (_TRIM_THRESHOLD_DB / 10.0))
    pad = int(round(pad_seconds * rate))
    return max(0, int(voiced[0]) * frame - pad), min(samples.size, (int(voiced[-1]) + 1) * frame + pad)


def master(audio: Audio, target: str | DeliveryTarget, *, high_pass_hz: float | None = 80.0,
           trim: bool = True) -> MasteringResult:
    """Make speech meet a delivery target ("podcast", "broadcast", "audiobook" or a `DeliveryTarget`).

    Trims silence at the ends (keeping the target's room tone), high-passes at `high_pass_hz` (None: off),
    sets the level, pulls pauses down with a gentle expander only when the target has a noise-floor limit
    the clip misses, and limits the true peak. The level is re-measured after limiting and the gain
    corrected, so limiting doesn't leave the clip under its target. Whatever is still off target (a
    recording too quiet for 30 dB of gain, noise too loud to expand away) is listed in `problems`.
    Raises AudioError (a ValueError) for silent input and ValueError for an unknown target.
    """
    spec = _target(target)
    if not isinstance(audio, Audio):
        raise ValueError(f"audio must be an Audio value, got {type(audio).__name__}; use pipelines.audio.load().")
    rate = audio.sample_rate
    if rate < _MIN_RATE:
        raise AudioError(f"Mastering needs audio at {_MIN_RATE} Hz or more, got {rate} Hz.")
    before = measure(audio)
    if audio.num_samples == 0 or is_silent(audio) or not math.isfinite(before.integrated_lufs):
        peak = peak_dbfs(audio)
        detail = (f"peak {peak:.0f} dBFS, below {SILENCE_DBFS:.0f} dBFS" if is_silent(audio)
                  else f"nothing louder than {_ABSOLUTE_GATE_LUFS:.0f} LUFS")
        raise AudioError(f"Nothing to master: the audio is silent ({detail}).")
    samples = audio.samples[slice(*_trim_bounds(audio.samples, rate, spec.room_tone_s))] if trim else audio.samples
    sos = _high_pass_sos(high_pass_hz, rate) if high_pass_hz is not None else None

    # Pass 0: the level and noise floor of the high-passed clip set the first gain and expander depth.
    gate, floor_db = _plan_gate(samples, rate, sos) if spec.noise_floor_max_db is not None else (None, 0.0)
    pre = _unity_level(samples, rate, sos, spec)
    gain_db = min(_MAX_GAIN_DB, spec.level_db - pre)
    depth = 0.0
    if gate is not None and spec.noise_floor_max_db is not None:
        depth = float(np.clip(floor_db + gain_db - (spec.noise_floor_max_db - _FLOOR_MARGIN_DB), 0.0,
                              _GATE_MAX_DEPTH_DB))
    tried: list[tuple[float, float]] = []  # (gain, level reached) of each pass
    deepened: tuple[float, float] | None = None  # (depth, floor under the gain) before the last deepening
    floor_stuck = False
    for _ in range(_PASSES):
        out = None  # let the last pass's output go before the next is rendered
        out, peak = _render(samples, rate, sos, gain_db, gate, depth, spec.true_peak_max_dbfs)
        used_gain, used_depth = gain_db, depth
        after = _measure(out, rate, true_peak=peak)
        level = spec.level(after)
        error = spec.level_db - level
        floor_over, floor_met = -1.0, True
        if spec.noise_floor_max_db is not None and gate is not None:
            floor_over = after.noise_floor_db - (spec.noise_floor_max_db - _FLOOR_MARGIN_DB / 2)
            floor_met = after.noise_floor_db <= spec.noise_floor_max_db
        relative_floor = after.noise_floor_db - gain_db
        if (deepened is not None and not floor_stuck and not floor_met
                and deepened[1] - relative_floor < max(1.0, 0.25 * (depth - deepened[0]))):
            # Deeper expansion hardly lowered the floor: the quietest frames are quiet speech, not pauses
            # (a clip without room tone). Go back rather than squash them; `problems` will say so.
            floor_stuck, depth = True, deepened[0]
        level_ok = abs(error) <= _LEVEL_TOLERANCE_DB or (error > 0 and gain_db >= _MAX_GAIN_DB)
        floor_ok = (floor_over <= 0 or (floor_met and deepened is not None) or depth >= _GATE_MAX_DEPTH_DB
                    or floor_stuck)
        if level_ok and floor_ok and depth == used_depth:
            break
        # Limiting eats part of any added gain: step by the slope the last two passes showed (secant).
        tried.append((gain_db, level))
        slope = 1.0
        if len(tried) >= 2 and tried[-1][0] != tried[-2][0]:
            slope = float(np.clip((tried[-1][1] - tried[-2][1]) / (tried[-1][0] - tried[-2][0]), 0.2, 1.0))
        if not level_ok:
            gain_db = min(_MAX_GAIN_DB, gain_db + error / slope)
        if not floor_ok:
            deepened = (depth, relative_floor)
            depth = min(_GATE_MAX_DEPTH_DB, depth + 2.0 * floor_over + _FLOOR_MARGIN_DB)
    return MasteringResult(audio=Audio(out, rate), before=before, after=after, target=spec, gain_db=used_gain,
                           gate_depth_db=used_depth, problems=spec.check(after))


def _unity_level(samples: np.ndarray, rate: int, sos: np.ndarray | None, spec: DeliveryTarget) -> float:
    """The target's level measure of the high-passed clip at unity gain, without keeping a filtered copy."""
    if spec.level_kind == "rms":
        square_sum = sum(float(block @ block) for _, _, block in _filtered_blocks(samples, sos))
        return _db(square_sum / samples.size, power=True)
    if samples.size < int(math.ceil(_LOUDNESS_BLOCK_S * rate)) + 1:  # short: looped, so filter it whole
        return _integrated_lufs(np.concatenate([b for *_, b in _filtered_blocks(samples, sos)]), rate)
    meter = _LoudnessMeter(samples.size, rate)
    for _, _, block in _filtered_blocks(samples, sos):
        meter.feed(block)
    return meter.lufs()
