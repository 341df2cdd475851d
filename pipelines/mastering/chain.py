"""`master`: the chain that makes (denoised) speech meet a delivery target, with the gain corrected until
the measured level lands (see the package doc for the steps)."""
from __future__ import annotations

import math

import numpy as np

from ..audio import SILENCE_DBFS, Audio, AudioError, is_silent, peak_dbfs
from ..audio.limiter import ATTACK_S, RELEASE_S, limit_in_place
from ..audio.meter import ABSOLUTE_GATE_LUFS, LOUDNESS_BLOCK_S, LoudnessMeter, integrated_lufs
from ..audio.ops import speech_bounds
from ..audio.value import db
from .expander import GATE_MAX_DEPTH_DB, Gate, plan_gate
from .high_pass import filtered_blocks, high_pass_sos
from .measure import measure, measure_samples
from .targets import DeliveryTarget, MasteringResult, delivery_target

__all__ = ["master"]

_MIN_RATE = 8000  # the K-weighting shelf (1.5 kHz) and the 80 Hz high-pass need at least telephone rate
_MAX_GAIN_DB = 30.0  # more than this would mostly amplify residual noise (e.g. a denoised noise-only clip)
_LEVEL_TOLERANCE_DB = 0.1  # how close the level correction loop aims
_PASSES = 5  # render/measure passes: the first almost always lands; later ones correct for limiting
_FLOOR_MARGIN_DB = 2.0  # aim the floor this far under the target's ceiling


def _render(samples: np.ndarray, rate: int, sos: np.ndarray | None, gain_db: float,
            gate: Gate | None, gate_depth_db: float, ceiling_dbfs: float) -> tuple[np.ndarray, float]:
    """High-pass -> gain -> expander into a new float32 array, then limit it in place; also its true peak."""
    out = np.empty(samples.size, dtype=np.float32)
    gain = 10.0 ** (gain_db / 20.0)
    for start, stop, block in filtered_blocks(samples, sos):
        block *= gain
        if gate is not None and gate_depth_db > 0:
            block *= gate.gains(start, stop, gate_depth_db)
        out[start:stop] = block
    return out, limit_in_place(out, rate, ceiling_dbfs, ATTACK_S, RELEASE_S)


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
    spec = delivery_target(target)
    if not isinstance(audio, Audio):
        raise ValueError(f"audio must be an Audio value, got {type(audio).__name__}; use pipelines.audio.load().")
    rate = audio.sample_rate
    if rate < _MIN_RATE:
        raise AudioError(f"Mastering needs audio at {_MIN_RATE} Hz or more, got {rate} Hz.")
    before = measure(audio)
    if audio.num_samples == 0 or is_silent(audio) or not math.isfinite(before.integrated_lufs):
        peak = peak_dbfs(audio)
        detail = (f"peak {peak:.0f} dBFS, below {SILENCE_DBFS:.0f} dBFS" if is_silent(audio)
                  else f"nothing louder than {ABSOLUTE_GATE_LUFS:.0f} LUFS")
        raise AudioError(f"Nothing to master: the audio is silent ({detail}).")
    bounds = speech_bounds(audio.samples, rate, pad_seconds=spec.room_tone_s) if trim else None
    samples = audio.samples[bounds[0]:bounds[1]] if bounds is not None else audio.samples
    sos = high_pass_sos(high_pass_hz, rate) if high_pass_hz is not None else None

    # Pass 0: the level and noise floor of the high-passed clip set the first gain and expander depth.
    gate, floor_db = plan_gate(samples, rate, sos) if spec.noise_floor_max_db is not None else (None, 0.0)
    pre = _unity_level(samples, rate, sos, spec)
    gain_db = min(_MAX_GAIN_DB, spec.level_db - pre)
    depth = 0.0
    if gate is not None and spec.noise_floor_max_db is not None:
        depth = float(np.clip(floor_db + gain_db - (spec.noise_floor_max_db - _FLOOR_MARGIN_DB), 0.0,
                              GATE_MAX_DEPTH_DB))
    tried: list[tuple[float, float]] = []  # (gain, level reached) of each pass
    deepened: tuple[float, float] | None = None  # (depth, floor under the gain) before the last deepening
    floor_stuck = False
    for _ in range(_PASSES):
        out = None  # let the last pass's output go before the next is rendered
        out, peak = _render(samples, rate, sos, gain_db, gate, depth, spec.true_peak_max_dbfs)
        used_gain, used_depth = gain_db, depth
        after = measure_samples(out, rate, true_peak=peak)
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
        floor_ok = (floor_over <= 0 or (floor_met and deepened is not None) or depth >= GATE_MAX_DEPTH_DB
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
            depth = min(GATE_MAX_DEPTH_DB, depth + 2.0 * floor_over + _FLOOR_MARGIN_DB)
    assert out is not None  # every pass renders
    return MasteringResult(audio=Audio(out, rate), before=before, after=after, target=spec, gain_db=used_gain,
                           gate_depth_db=used_depth, problems=spec.check(after))


def _unity_level(samples: np.ndarray, rate: int, sos: np.ndarray | None, spec: DeliveryTarget) -> float:
    """The target's level measure of the high-passed clip at unity gain, without keeping a filtered copy."""
    if spec.level_kind == "rms":
        square_sum = sum(float(block @ block) for _, _, block in filtered_blocks(samples, sos))
        return db(square_sum / samples.size, power=True)
    if samples.size < int(math.ceil(LOUDNESS_BLOCK_S * rate)) + 1:  # short: looped, so filter it whole
        return integrated_lufs(np.concatenate([b for *_, b in filtered_blocks(samples, sos)]), rate)
    meter = LoudnessMeter(samples.size, rate)
    for _, _, block in filtered_blocks(samples, sos):
        meter.feed(block)
    return meter.lufs()
