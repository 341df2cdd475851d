"""Text to audio: sound effects and ambience from a description."""
from __future__ import annotations

from abc import abstractmethod

from ..audio import Audio
from ..base import Pipeline


class SoundPipeline(Pipeline):
    task = "sound"

    @abstractmethod
    def __call__(self, prompt: str, *, seconds: float = 5.0, seed: int | None = None) -> Audio:
        """About `seconds` of audio matching `prompt`; the same seed gives the same audio."""
