"""Levels of a clip and the gains that set them: frame by frame levels, the noise floor, loudness, and
bringing a clip to a loudness without letting its peaks clip.

Public so that every pipeline measures the same way: mastering reports, editing's room tone and narration's
chunk levels all read these, instead of each keeping its own twin.
"""
from __future__ import annotations

import numpy as np

from .blocks import BLOCK
from .limiter import ATTACK_S, limit_in_place
from .meter import integrated_lufs
from .value import Audio, db, peak_dbfs

__all__ = ["frame_powers", "frame_levels_db", "noise_floor_db", "noise_floor_of_powers", "NOISE_FLOOR_FRAME_S", "loudness",
           "normalize_loudness", "match_loudness", "cap_peak", "PEAK_CEILING_DBFS", "MAX_LIMITING_DB"]

NOISE_FLOOR_FRAME_S = 0.05  # noise floor: power mean of the quietest 10 % of 50 ms frames
_FLOOR_FRACTION = 0.10
PEAK_CEILING_DBFS = -1.0  # where a loudness-matched clip's peaks are held
MAX_LIMITING_DB = 6.0  # gain reduction match_loudness lets the limiter apply; beyond it the clip is turned down
# match_loudness only shaves isolated plosive peaks, so its gain recovers as fast as it falls: a mastering-length
# release (80 ms) would hold the gain down through the syllable after each peak and leave short chunks ~1 LU quiet.
_MATCH_RELEASE_S = ATTACK_S


def frame_powers(samples: np.ndarray, frame: int, *, partial: bool = False) -> np.ndarray:
    """Mean power of each whole frame, block by block. A ragged end is dropped, or with `partial` counted
    as a frame padded with zeros; a clip shorter than one frame is one frame either way."""
    count = samples.size // frame
    if count == 0:
        return np.array([float(np.mean(samples.astype(np.float64) ** 2)) if samples.size else 0.0])
    powers = np.empty(count)
    step = max(1, BLOCK // frame) * frame
    for start in range(0, count * frame, step):
        part = samples[start: min(count * frame, start + step)].astype(np.float64)
        powers[start // frame: start // frame + part.size // frame] = (part * part).reshape(-1, frame).mean(axis=1)
    rest = samples[count * frame:].astype(np.float64)
    if partial and rest.size:
        powers = np.append(powers, float(rest @ rest) / frame)
    return powers


def frame_levels_db(samples: np.ndarray, frame: int) -> np.ndarray:
    """Level of consecutive frames of `frame` samples in dBFS (a ragged end counts as a frame padded with
    zeros, a clip shorter than one frame as one frame); -inf for digital silence."""
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(frame_powers(samples, frame, partial=True))


def noise_floor_db(samples: np.ndarray, rate: int, frame_s: float = NOISE_FLOOR_FRAME_S) -> float:
    """The level of the room in the pauses, in dB: the power mean of the quietest 10 % of `frame_s` frames
    (-inf for digital silence). The one noise-floor measure: mastering reports it (ACX asks for it) and
    editing matches room tone with it."""
    return noise_floor_of_powers(frame_powers(samples, max(1, int(round(frame_s * rate)))))


def noise_floor_of_powers(powers: np.ndarray) -> float:
    """`noise_floor_db` from frame powers already measured (e.g. of a filtered clip, block by block)."""
    quietest = np.sort(powers)[: max(1, int(round(_FLOOR_FRACTION * powers.size)))]
    return db(float(quietest.mean()), power=True)


def loudness(audio: Audio) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770, see `meter`); -inf for silence. A clip shorter than one
    400 ms block is looped to that length: looping keeps a steady sound's loudness, padding would not."""
    return integrated_lufs(audio.samples, audio.sample_rate)


def normalize_loudness(audio: Audio, target_lufs: float = -20.0, peak_dbfs: float = -1.0) -> Audio:
    """Bring a clip to a target loudness so takes sit at the same level, without letting peaks clip.

    If reaching the target would push the sample peak over `peak_dbfs`, the gain is lowered to
    the ceiling instead: a slightly quiet take is better than a distorted one. Silence is returned as is.
    """
    current = loudness(audio)
    if not np.isfinite(current):
        return audio
    peak = db(float(np.max(np.abs(audio.samples))), power=False)
    gain_db = min(target_lufs - current, peak_dbfs - peak)
    return Audio(audio.samples * np.float32(10.0 ** (gain_db / 20.0)), audio.sample_rate)


def match_loudness(audio: Audio, target_lufs: float) -> Audio:
    """Bring speech to `target_lufs` with its peaks at most -1 dBFS.

    TTS output often has a few isolated peaks 20+ dB above its loudness (plosives), so a plain gain with a
    peak ceiling (`normalize_loudness`) leaves such clips several LU quiet and a narration uneven. Here the
    gain may push peaks up to `MAX_LIMITING_DB` over the ceiling, and the look-ahead limiter takes those few
    peaks back down; a clip that would need more limiting than that is turned down instead.
    """
    loud = normalize_loudness(audio, target_lufs, peak_dbfs=PEAK_CEILING_DBFS + MAX_LIMITING_DB)
    if peak_dbfs(loud) <= PEAK_CEILING_DBFS:  # no sample over: nothing to limit (and no limiter's cost)
        return loud
    samples = loud.samples.copy()
    limit_in_place(samples, loud.sample_rate, PEAK_CEILING_DBFS, ATTACK_S, _MATCH_RELEASE_S)
    return Audio(samples, loud.sample_rate)


def cap_peak(samples: np.ndarray, ceiling: float) -> np.ndarray:
    """Scale the whole clip down if its sample peak overshoots `ceiling` (linear): one gain, so nothing is
    distorted, for engines whose raw output may exceed full scale."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak > ceiling:
        samples = samples * np.float32(ceiling / peak)
    return samples.astype(np.float32, copy=False)
