"""A gentle downward expander that pulls the pauses down when a target's noise floor is missed (ACX),
leaving speech, onsets and word tails untouched."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..audio.blocks import BLOCK
from ..audio.levels import NOISE_FLOOR_FRAME_S, frame_powers, noise_floor_of_powers
from .high_pass import filtered_blocks

__all__ = ["Gate", "plan_gate", "GATE_MAX_DEPTH_DB"]

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
GATE_MAX_DEPTH_DB = 30.0  # beyond this a gate sounds like drop-outs; denoise first instead


@dataclass(frozen=True)
class Gate:
    """A downward expander's gain curve: 0 dB over speech, -depth dB in pauses, per 10 ms frame."""

    frame: int  # samples per frame
    openness: np.ndarray  # 1 = speech (no change), 0 = pause (full depth), smooth in between

    def gains(self, start: int, stop: int, depth_db: float) -> np.ndarray:
        centres = (np.arange(self.openness.size) + 0.5) * self.frame
        shut = 1.0 - np.interp(np.arange(start, stop), centres, self.openness)
        return 10.0 ** (-depth_db * shut / 20.0)


def plan_gate(samples: np.ndarray, rate: int, sos: np.ndarray | None) -> tuple[Gate, float]:
    """Where the pauses are, judged on the high-passed clip, and its noise floor (dB, before any gain)."""
    frame = max(1, int(round(_GATE_FRAME_S * rate)))
    floor_frame = max(1, int(round(NOISE_FLOOR_FRAME_S * rate)))
    whole = math.lcm(frame, floor_frame)
    size = max(1, BLOCK // whole) * whole  # blocks of whole frames of both sizes: no ragged frame edges
    powers, floor_powers = [], []
    for _, stop, block in filtered_blocks(samples, sos, size):
        if block.size >= frame or stop == block.size:
            powers.append(frame_powers(block, frame))
        if block.size >= floor_frame or stop == block.size:
            floor_powers.append(frame_powers(block, floor_frame))
    floor = noise_floor_of_powers(np.concatenate(floor_powers))
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
    return Gate(frame, openness), floor
