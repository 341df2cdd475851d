"""Text to speech: zero-shot cloners (speak in a voice given by reference clips) and fixed-voice engines."""
from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

from ..audio import Audio
from ..base import Pipeline, VoicePrompt


class SpeakPipeline(Pipeline):
    task = "speak"
    clones: ClassVar[bool] = False  # True only for engines that imitate a reference voice

    @abstractmethod
    def __call__(self, text: str, *, voice: VoicePrompt | None = None, seed: int | None = None,
                 **options: Any) -> Audio:
        """Speech for `text`. Cloners use `voice`; fixed-voice engines take `options["speaker"]`.
        The same seed and options give the same audio."""

    def speakers(self) -> list[str]:
        """Built-in voices of a fixed-voice engine (empty for cloners)."""
        return []
