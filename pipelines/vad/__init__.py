"""Voice activity detection: where in a recording someone is speaking."""
from __future__ import annotations

from abc import abstractmethod

from ..audio import Audio
from ..base import Pipeline


class VoiceActivityDetector(Pipeline):
    task = "vad"

    @abstractmethod
    def __call__(self, audio: Audio) -> list[tuple[float, float]]:
        """Speech segments as (start, end) seconds, sorted and non-overlapping."""
