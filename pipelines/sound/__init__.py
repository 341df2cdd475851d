"""Text to audio: sound effects, ambience and music beds from a description.

Every engine takes the same request (prompt, length, seed, and for diffusion engines steps and guidance) and
answers with mono audio; the checks a person can trip over (empty prompt, a length the model cannot make) are
made here once, with messages that say what to do.
"""
from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import ClassVar

import numpy as np

from ..audio import Audio
from ..base import EngineError, Pipeline

Progress = Callable[[float], None]
"""Called with the fraction done (0..1) while an engine works; it may raise to stop the engine (cancel)."""


class SoundPipeline(Pipeline):
    task = "sound"
    name: ClassVar[str] = "This engine"  # for messages: "Stable Audio Open makes at most 47 s"
    min_seconds: ClassVar[float] = 0.2  # shorter requests are refused: a tick or a click is longer than this
    default_steps: ClassVar[int | None] = None  # denoising steps; None: not a diffusion engine (no steps option)
    max_steps: ClassVar[int] = 500
    default_guidance: ClassVar[float] = 3.0  # classifier-free guidance: higher follows the prompt more closely

    @property
    @abstractmethod
    def max_seconds(self) -> float:
        """The longest sound one call makes (the model's training or position limit)."""

    @abstractmethod
    def __call__(self, prompt: str, *, seconds: float = 5.0, seed: int | None = None, steps: int | None = None,
                 guidance: float | None = None, progress: Progress | None = None) -> Audio:
        """About `seconds` of audio matching `prompt`; the same seed (and options) gives the same audio.
        `steps`/`guidance` None: the engine's defaults. Stereo models are downmixed (the studio is mono)."""

    def check_request(self, prompt: str, seconds: float, steps: int | None, guidance: float | None
                      ) -> tuple[str, float, int | None, float]:
        """The request with defaults filled in, or ValueError saying what to change."""
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError("The prompt is empty: describe the sound, e.g. 'rain on a tin roof, distant thunder'.")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not np.isfinite(seconds):
            raise ValueError(f"The length {seconds!r} must be a number of seconds.")
        if not self.min_seconds <= seconds <= self.max_seconds:
            raise ValueError(f"{seconds:g} s is outside what {self.name} makes: {self.min_seconds:g} to "
                             f"{self.max_seconds:.3g} seconds per sound. Loop a shorter sound for a longer bed.")
        if steps is not None and self.default_steps is None:
            steps = None  # an autoregressive engine has no denoising steps: the option does not apply
        elif steps is not None and (isinstance(steps, bool) or int(steps) != steps
                                    or not 1 <= steps <= self.max_steps):
            raise ValueError(f"steps={steps!r} must be a whole number from 1 to {self.max_steps}.")
        steps = self.default_steps if steps is None else int(steps)
        guidance = self.default_guidance if guidance is None else guidance
        if isinstance(guidance, bool) or not isinstance(guidance, (int, float)) or not 1.0 <= guidance <= 20.0:
            raise ValueError(f"guidance={guidance!r} must be from 1 (off) to 20.")
        return prompt.strip(), float(seconds), steps, float(guidance)

    def finish(self, samples: np.ndarray, rate: int, seconds: float) -> Audio:
        """The engine's output as studio audio: downmixed to mono, cut to the length asked, checked usable."""
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim == 2:  # (channels, n)
            samples = samples.mean(axis=0)
        samples = samples.reshape(-1)[: int(round(seconds * rate))]
        if samples.size == 0 or not np.all(np.isfinite(samples)):
            raise EngineError(f"{self.name} produced no usable audio (empty or not finite); try another seed.")
        return Audio(samples, rate)
