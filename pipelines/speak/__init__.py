"""Text to speech: zero-shot cloners (speak in a voice given by reference clips) and fixed-voice engines."""
from __future__ import annotations

import math
from numbers import Real
from abc import abstractmethod
from typing import Any, ClassVar

from ..audio import Audio
from ..base import Pipeline, VoicePrompt


class SpeakPipeline(Pipeline):
    """Capabilities are declared here with their defaults and overridden by the engines that have them, so
    callers read them as attributes instead of probing."""

    task = "speak"
    # Imitates a reference voice (`voice=`) rather than speaking with built-in ones. The catalog's `clones`
    # must agree (tests/unit/test_catalog.py checks).
    clones: ClassVar[bool] = False
    # Cloners that read the words of each reference clip (CSM): the studio transcribes clips stored without.
    needs_transcripts: ClassVar[bool] = False
    # Whether the same text and options give different audio for different seeds. The quality gate retries a
    # failing chunk with a new seed only where this is True; a deterministic engine is retried by varying what
    # does change its output (speed), or not at all. The catalog repeats it (tests/unit/test_catalog.py).
    seed_dependent: ClassVar[bool] = True
    # Keyword options `__call__` accepts besides `voice` and `seed` (e.g. "speaker", "speed").
    call_options: ClassVar[tuple[str, ...]] = ()
    # (slowest, fastest) value of the `speed` option; None: no speed control, only natural speed.
    speed_range: ClassVar[tuple[float, float] | None] = None
    # Longest text one call takes, in characters; None: no limit of its own (narration chunks to 250).
    max_chars: int | None = None

    @abstractmethod
    def __call__(self, text: str, *, voice: VoicePrompt | None = None, seed: int | None = None,
                 **options: Any) -> Audio:
        """Speech for `text`. Cloners use `voice`; fixed-voice engines take `options["speaker"]`.
        The same seed and options give the same audio."""

    def speakers(self) -> list[str]:
        """Built-in voices of a fixed-voice engine (empty for cloners)."""
        return []

    def check_speed(self, speed: Any) -> float:
        """`speed` as a float within `speed_range` (1.0 = natural), or ValueError saying the range."""
        low, high = self.speed_range or (1.0, 1.0)
        try:
            value = float(speed)
        except (TypeError, ValueError):
            value = math.nan
        if isinstance(speed, bool) or not low <= value <= high:
            raise ValueError(f"speed must be a number from {low} to {high} (1.0 = natural), got {speed!r}.")
        return value


SLOW_CHARS_PER_SECOND = 8.0  # slow speech: a bound from the text's length leaves room for it...
SPARE_SECONDS = 2.0  # ...plus this, so an autoregressive cloner that never ends its turn stops soon after


def speech_seconds(text: str, max_seconds: Any, ceiling: float = math.inf) -> float:
    """How many seconds of speech an autoregressive engine may generate for `text`: `max_seconds` when given
    (a number above 0 and at most `ceiling`, else ValueError), else a bound from the text's length."""
    if max_seconds is None:
        return min(ceiling, len(text) / SLOW_CHARS_PER_SECOND + SPARE_SECONDS)
    if isinstance(max_seconds, bool) or not isinstance(max_seconds, Real) or not 0.0 < float(max_seconds) <= ceiling:
        limit = f" and at most {ceiling:g}" if math.isfinite(ceiling) else ""
        raise ValueError(f"max_seconds={max_seconds!r} must be a number of seconds above 0{limit}.")
    return float(max_seconds)


def check_text(text: Any) -> str:
    """The text to speak with its whitespace collapsed, or ValueError when it is not a string or has no words."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}.")
    text = " ".join(text.split())
    if not text:
        raise ValueError("text is empty: give at least one word to speak.")
    return text
