"""Voice conversion: say the same words in another voice."""
from __future__ import annotations

from abc import abstractmethod

from ..audio import Audio
from ..base import Pipeline, VoicePrompt


class ConvertPipeline(Pipeline):
    task = "convert"

    @abstractmethod
    def __call__(self, audio: Audio, *, voice: VoicePrompt, seed: int | None = None) -> Audio:
        """`audio`'s words in `voice`."""
