"""The embedded voice matcher: speech in one voice re-rendered towards another with the WORLD vocoder.

No weights and no download: WORLD (pyworld, MIT) splits speech into F0, a smooth spectral envelope and
aperiodicity, and resynthesises it. Between the two the matcher moves what makes a voice recognisable and
keeps what carries the words and their timing:
- F0: log-F0 mean and spread mapped to the target's (the contour's shape is kept), plus any pitch shift;
- vocal-tract length: the envelope's frequency axis warped by a factor tied to the pitch ratio (speakers with
  higher voices tend to have shorter vocal tracts, hence higher formants);
- timbre: the long-term envelope equalised to the target's voiced frames, then each voiced frame pulled part
  of the way towards the mean of its nearest target frames (kNN over mean-normalised cepstra, the idea of
  kNN-VC with WORLD envelopes instead of WavLM features);
- aperiodicity warped with the envelope; silences can be kept bit-exact from the source.
It matches a voice, it does not clone one: the result sits between the two speakers. Every frame is
independent, so long inputs are converted in blocks cut at quiet points with bounded memory.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal

from ..audio import Audio, resample
from ..audio.levels import cap_peak, frame_levels_db, loudness, match_loudness
from ..base import EngineError, VoicePrompt
from ..loading import reject_unknown
from ..seeds import check_seed
from ..mastering.high_pass import high_pass_sos
from . import ConvertPipeline

RATE = 24000  # WORLD works here: covers every engine's band (up to 12 kHz) and keeps analysis cheap
FRAME_MS = 5.0
F0_FLOOR, F0_CEIL = 60.0, 500.0
HIGH_PASS_HZ = 70.0
MAX_APERIODICITY = 0.5  # a voiced frame's mean aperiodicity below 3 kHz, at most
LIFTER = 40  # cepstral coefficients kept for the smooth envelope (vocal-tract shape, not harmonics)
KNN_COEFFS = 30  # cepstra compared to find a source frame's nearest target frames
MAX_TARGET_FRAMES = 3000  # 15 s of voiced target frames is plenty for kNN; more only costs time
MIN_VOICED_FRAMES = 100  # half a second of voiced speech: below this a voice's pitch and timbre are guesses
BLOCK_S = 20.0  # long inputs are converted in blocks of about this length, cut at quiet points
PEAK_CEILING = 0.99  # the result is stored as integer PCM: nothing may clip on the way
QUIET_DB = -50.0  # frames this far below full scale count as silence (kept from the source when asked)
_INSTALL = "pip install pyworld"


@dataclass(frozen=True, eq=False)
class VoiceProfile:
    """What the matcher knows of a voice: pitch statistics and the spectral envelopes of its voiced frames."""

    log_f0_mean: float
    log_f0_std: float
    envelope: np.ndarray  # mean smoothed log envelope of voiced frames, (bins,)
    frames: np.ndarray = field(repr=False)  # smoothed log envelopes of voiced frames, (n, bins), for kNN
    aperiodicity: np.ndarray = field(repr=False)  # mean aperiodicity of voiced frames, (bins,): breathiness
    voiced_s: float = 0.0

    @property
    def f0_hz(self) -> float:
        """The voice's typical pitch (geometric mean of voiced F0)."""
        return float(np.exp(self.log_f0_mean))


@dataclass(frozen=True)
class MatchSettings:
    """How far to move: `warp_per_octave` ties vocal-tract warping to the pitch ratio (0: no warp);
    `timbre`: share of each voiced frame's envelope taken from its nearest target frames (0..1); `neighbours`:
    how many target frames are averaged; `pitch_shift`: semitones added after mapping; `keep_loudness`: the
    result at the source's loudness (LUFS); `keep_silence`: quiet stretches copied from the source unchanged.
    Timbre 0.75 (tuning speakers, over 0.5): +0.007 similarity for Speak, +0.013 for Convert, words as clear;
    1.0, or two neighbours, blurred words (Whisper WER 0.09 -> 0.37)."""

    warp_per_octave: float = 0.3
    timbre: float = 0.75
    breath: float = 1.0
    neighbours: int = 4
    pitch_shift: float = 0.0
    keep_loudness: bool = True
    keep_silence: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.timbre <= 1.0:
            raise ValueError(f"timbre must be from 0 to 1, got {self.timbre}.")
        if not -12.0 <= self.pitch_shift <= 12.0:
            raise ValueError(f"pitch shift must be from -12 to 12 semitones, got {self.pitch_shift}.")
        if not 0.0 <= self.warp_per_octave <= 1.0:
            raise ValueError(f"warp_per_octave must be from 0 to 1, got {self.warp_per_octave}.")
        if not 1 <= self.neighbours <= 32:
            raise ValueError(f"neighbours must be from 1 to 32, got {self.neighbours}.")


def _world() -> Any:
    try:
        with warnings.catch_warnings():  # pyworld imports pkg_resources, which warns
            warnings.simplefilter("ignore")
            import pyworld
    except ImportError as exc:
        raise EngineError(f"pyworld is not installed or cannot be imported ({exc}); run `{_INSTALL}`.") from exc
    return pyworld


class WorldMatcher(ConvertPipeline):
    """WORLD analysis (DIO + StoneMask F0, CheapTrick envelope, D4C aperiodicity) and synthesis, with the
    mapping described in the module docstring. Licence: pyworld and WORLD MIT; nothing else is loaded."""

    def __init__(self, settings: MatchSettings | None = None) -> None:
        self.world = _world()
        self.settings = settings or MatchSettings()

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None, *, device: str = "cpu", dtype: str | None = None,
                        **options: Any) -> "WorldMatcher":
        """Embedded: there is nothing to load (`model_path` is None); `device` and `dtype` do not apply."""
        reject_unknown("WorldMatcher.from_pretrained", options)
        return cls()

    @property
    def sample_rate(self) -> int:
        return RATE

    def memory_bytes(self) -> int:
        """No weights: what one block's analysis holds while it runs (envelope, aperiodicity and their
        working copies, float64 per frame and bin), for the model manager's budget."""
        bins = self.world.get_cheaptrick_fft_size(RATE, F0_FLOOR) // 2 + 1
        return int(BLOCK_S * 1000 / FRAME_MS) * bins * 8 * 4

    def __call__(self, audio: Audio, *, voice: VoicePrompt, seed: int | None = None,
                 settings: MatchSettings | None = None, source: VoiceProfile | None = None) -> Audio:
        """`audio`'s words and timing in (towards) `voice`, at the engine's rate (24 kHz) like every convert
        engine; `convert` keeps the input's rate. `source`: the profile of the voice speaking in `audio` when
        known (a built-in speaker's), else it is measured on `audio` itself. Deterministic: `seed` is checked
        and otherwise ignored."""
        if not isinstance(audio, Audio):
            raise ValueError(f"audio must be an Audio, got {type(audio).__name__}; use pipelines.audio.load().")
        check_seed(seed)
        target = self.profile(voice.clips)
        return _at_rate(self.convert(audio, target, source=source, settings=settings))

    def profile(self, clips: tuple[Audio, ...] | list[Audio], *, name: str = "the voice") -> VoiceProfile:
        """Pitch and envelope statistics of the voiced frames of `clips` (ValueError when there are too few).
        Analysed block by block, keeping sums and an evenly thinned set of frames: a ten-minute recording
        costs no more memory than a block."""
        works = [_at_rate(clip) for clip in clips]
        analyses = (self.analyse(Audio(w.samples[a:b], RATE)) for w in works for a, b in quiet_cuts(w.samples))
        return _profile_of(analyses, sum(w.duration for w in works), name)

    def convert(self, audio: Audio, target: VoiceProfile, *, source: VoiceProfile | None = None,
                settings: MatchSettings | None = None) -> Audio:
        """`audio` matched to `target`, at `audio`'s rate and exact length. `source`: the profile of the voice
        speaking in `audio` when known (the Speak and Edit use cases keep a built-in speaker's), else it is
        measured on `audio` (a recording that fits in one block is analysed only once)."""
        settings = settings or self.settings
        work = _at_rate(audio)
        cuts = quiet_cuts(work.samples)
        analysis = None
        if source is None:
            if len(cuts) == 1:
                analysis = self.analyse(work)
                source = _profile_of([analysis], work.duration, "The recording")
            else:
                source = self.profile([work], name="The recording")
        pieces = [self._convert_block(work.samples[a:b], source, target, settings, analysis) for a, b in cuts]
        out = resample(Audio(np.concatenate(pieces), RATE), audio.sample_rate).samples
        out = _fit_length(out, len(audio.samples))
        if settings.keep_loudness:
            out = _keep_loudness(out, audio)
        out = cap_peak(out.astype(np.float32), PEAK_CEILING)
        if settings.keep_silence:
            out = _keep_silence(out, audio)
        return Audio(out.astype(np.float32), audio.sample_rate)

    def _convert_block(self, samples: np.ndarray, source: VoiceProfile, target: VoiceProfile,
                       settings: MatchSettings, analysis: tuple | None = None) -> np.ndarray:
        x = samples.astype(np.float64)
        f0, envelope, aperiodicity = analysis or self.analyse(Audio(samples, RATE))
        voiced = f0 > 0
        octaves = (target.log_f0_mean - source.log_f0_mean) / np.log(2.0)
        ratio = target.log_f0_std / source.log_f0_std
        log_f0 = np.log(np.where(voiced, f0, 1.0))
        shift = settings.pitch_shift / 12.0 * np.log(2.0)
        new_f0 = np.where(voiced, np.exp((log_f0 - source.log_f0_mean) * ratio + target.log_f0_mean + shift), 0.0)
        alpha = float(2.0 ** (settings.warp_per_octave * octaves))
        log_env = _warp(np.log(envelope), alpha)
        correction = np.clip(target.envelope - _smooth(_warp(source.envelope, alpha)), -20.0, 20.0)
        log_env += correction
        if settings.timbre > 0.0 and voiced.any():
            log_env[voiced] += settings.timbre * _nearest_shift(_smooth(log_env[voiced]), target, settings.neighbours)
        aperiodicity = _warp(aperiodicity, alpha)
        if settings.breath > 0.0:
            aperiodicity[voiced] += settings.breath * (target.aperiodicity - _warp(source.aperiodicity, alpha))
        aperiodicity = np.clip(aperiodicity, 0.0, 1.0)
        y = self.world.synthesize(new_f0, np.ascontiguousarray(np.exp(log_env)), np.ascontiguousarray(aperiodicity),
                                  RATE, FRAME_MS)
        return _fit_length(y, len(x))

    def analyse(self, audio: Audio) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """F0 (0 where unvoiced), envelope and aperiodicity per 5 ms frame of 24 kHz audio. Rumble below
        70 Hz goes first, zero-phase and steep (the analysis alone sees it, so phase does not matter): on
        real recordings rumble hides the fundamental from DIO (one LibriSpeech speaker: 1 % of frames voiced
        before, 42 % after; a causal 4th-order filter only reached 4 %)."""
        samples = audio.samples.astype(np.float64)
        x = np.ascontiguousarray(signal.sosfiltfilt(high_pass_sos(HIGH_PASS_HZ, RATE), samples))
        w = self.world
        f0, times = w.dio(x, RATE, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=FRAME_MS)
        f0 = w.stonemask(x, f0, times, RATE)
        return f0, w.cheaptrick(x, f0, times, RATE), w.d4c(x, f0, times, RATE)


def _profile_of(analyses: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]], seconds: float,
                name: str) -> VoiceProfile:
    """A profile from WORLD analyses (F0, envelope, aperiodicity per block), keeping sums and about
    MAX_TARGET_FRAMES evenly spread voiced frames."""
    stride = max(1, int(seconds * 1000 / FRAME_MS) // (2 * MAX_TARGET_FRAMES))  # about half the frames are voiced
    log_f0, kept = [], []
    envelope_sum, aperiodicity_sum, count = np.zeros(0), np.zeros(0), 0
    for f0, envelope, aperiodicity in analyses:
        voiced = _voiced(f0, envelope, aperiodicity)
        smooth = _smooth(np.log(envelope[voiced]))
        log_f0.append(np.log(f0[voiced]))
        envelope_sum = smooth.sum(axis=0) + (envelope_sum if count else 0.0)
        aperiodicity_sum = aperiodicity[voiced].sum(axis=0) + (aperiodicity_sum if count else 0.0)
        count += int(voiced.sum())
        kept.append(smooth[::stride])
    if count < MIN_VOICED_FRAMES:
        raise ValueError(f"{name} has too little voiced speech to match ({count * FRAME_MS / 1000:.1f} s;"
                         f" at least {MIN_VOICED_FRAMES * FRAME_MS / 1000:.1f} s needed).")
    pitches, frames = np.concatenate(log_f0), np.concatenate(kept)
    frames = frames[:: -(-len(frames) // MAX_TARGET_FRAMES)]  # ceiling division: at most MAX_TARGET_FRAMES
    return VoiceProfile(float(pitches.mean()), float(max(pitches.std(), 1e-3)), envelope_sum / count,
                        np.ascontiguousarray(frames), aperiodicity_sum / count, count * FRAME_MS / 1000)


def _at_rate(audio: Audio) -> Audio:
    return resample(audio, RATE) if audio.sample_rate != RATE else audio


def _voiced(f0: np.ndarray, envelope: np.ndarray, aperiodicity: np.ndarray) -> np.ndarray:
    """Voiced frames that are speech: DIO finds a pitch in breaths, hum and even white noise, so a frame
    must also be loud enough and mostly periodic below 3 kHz (speech: aperiodicity 0.03-0.12; hiss: 1.0)."""
    energy = envelope.sum(axis=1)
    low_band = aperiodicity[:, : aperiodicity.shape[1] // 4].mean(axis=1)
    return (f0 > 0) & (energy > np.percentile(energy, 20)) & (low_band < MAX_APERIODICITY)


def _smooth(log_envelope: np.ndarray, keep: int = LIFTER) -> np.ndarray:
    """The envelope with only its first `keep` cepstral coefficients: formants and tilt, no ripples."""
    cepstrum = np.fft.irfft(log_envelope, axis=-1)
    cepstrum[..., keep:cepstrum.shape[-1] - keep + 1] = 0.0
    return np.fft.rfft(cepstrum, axis=-1).real


def _warp(values: np.ndarray, alpha: float) -> np.ndarray:
    """Frequency axis stretched by `alpha` (>1 moves formants up), by linear interpolation over bins."""
    bins = values.shape[-1]
    position = np.clip(np.arange(bins) / alpha, 0, bins - 1)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, bins - 1)
    weight = position - low
    return values[..., low] * (1 - weight) + values[..., high] * weight


def _cepstra(log_envelopes: np.ndarray) -> np.ndarray:
    """Cepstral coefficients 1..KNN_COEFFS (level left out, so loudness does not pick the neighbours)."""
    return np.fft.irfft(log_envelopes, axis=-1)[:, 1:KNN_COEFFS]


def _nearest_shift(frames: np.ndarray, target: VoiceProfile, k: int) -> np.ndarray:
    """For each frame: the mean of its `k` nearest target frames minus the frame, both at the frame's level."""
    source_c, target_c = _cepstra(frames), _cepstra(target.frames)
    k = min(k, len(target_c))
    out = np.empty_like(frames)
    for start in range(0, len(frames), 2000):  # bounded distance matrices
        s = source_c[start:start + 2000]
        distance = (s ** 2).sum(1)[:, None] + (target_c ** 2).sum(1)[None, :] - 2.0 * s @ target_c.T
        nearest = np.argpartition(distance, k - 1, axis=1)[:, :k]
        mean = target.frames[nearest].mean(axis=1)
        chunk = frames[start:start + 2000]
        out[start:start + 2000] = mean - mean.mean(1, keepdims=True) - (chunk - chunk.mean(1, keepdims=True))
    return out


def quiet_cuts(samples: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) blocks of 24 kHz `samples`, cut about every BLOCK_S seconds at the quietest 10 ms
    within a second of the mark."""
    block, search, frame = int(BLOCK_S * RATE), RATE, RATE // 100
    cuts, start = [], 0
    while len(samples) - start > block + search:
        lo, hi = start + block - search, start + block + search
        levels = frame_levels_db(samples[lo:hi], frame)
        cut = lo + int(np.argmin(levels)) * frame
        cuts.append((start, cut))
        start = cut
    cuts.append((start, len(samples)))
    return cuts


def _fit_length(samples: np.ndarray, length: int) -> np.ndarray:
    if len(samples) >= length:
        return samples[:length]
    return np.pad(samples, (0, length - len(samples)))


def _keep_loudness(samples: np.ndarray, reference: Audio) -> np.ndarray:
    """`samples` at `reference`'s integrated loudness, its few peaks over -1 dBFS limited (WORLD's output is
    peakier than the recording: scaled down to fit, a loud source's result came out 1.6 LU quieter), or at its
    RMS where the reference is too quiet to measure."""
    wanted = loudness(reference)
    if np.isfinite(wanted):
        return match_loudness(Audio(samples.astype(np.float32), reference.sample_rate), wanted).samples
    return _match_rms(samples, reference.samples)


def _match_rms(samples: np.ndarray, reference: np.ndarray) -> np.ndarray:
    power = float(np.mean(samples.astype(np.float64) ** 2))
    wanted = float(np.mean(reference.astype(np.float64) ** 2))
    if power <= 1e-12:
        return samples
    return samples * np.sqrt(wanted / power)


def _keep_silence(samples: np.ndarray, source: Audio) -> np.ndarray:
    """Quiet 10 ms frames of the source copied over the result unchanged (no vocoder hiss in pauses)."""
    frame = max(1, source.sample_rate // 100)
    levels = frame_levels_db(source.samples, frame)
    quiet = np.repeat(levels < QUIET_DB, frame)[: len(samples)]
    quiet = np.pad(quiet, (0, len(samples) - len(quiet)))
    keep = _runs_at_least(quiet, 5 * frame)  # 50 ms or more: a plosive's closure inside a word stays converted
    out = samples.copy()
    out[keep] = source.samples[: len(samples)][keep]
    return out


def _runs_at_least(mask: np.ndarray, length: int) -> np.ndarray:
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    keep = np.zeros_like(mask)
    for start, stop in zip(edges[::2], edges[1::2]):
        if stop - start >= length:
            keep[start:stop] = True
    return keep
