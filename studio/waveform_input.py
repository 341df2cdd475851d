"""Plain waveform edits' input, checked before any audio is touched: times in seconds, and a cut region that
leaves something of the take."""
from __future__ import annotations

from typing import Any

import numpy as np

from pipelines import audio as au
from pipelines.editing import Splice, apply_splices

__all__ = ["cut_region", "seconds_value"]


def cut_region(audio: au.Audio, start: float, end: float) -> au.Audio:
    """`audio` with [start, end] taken out; a ValueError for a region outside it or covering all of it."""
    if not 0 <= start < end <= audio.duration:
        raise ValueError(f"Choose a region inside the take (0 to {audio.duration:.2f} s) with start before end.")
    if start == 0 and end >= audio.duration:
        raise ValueError("That cut would remove the whole take.")
    return apply_splices(audio, [Splice(start, end)]).audio


def seconds_value(value: Any, name: str) -> float:
    """`value` as a number of seconds, zero or more; a ValueError naming the field (`name`) otherwise."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name.capitalize()} must be a number of seconds, got {value!r}.") from None
    if not np.isfinite(number) or number < 0:
        raise ValueError(f"{name.capitalize()} must be zero or more seconds, got {value!r}.")
    return number
