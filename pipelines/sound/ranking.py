"""Ranking generated sounds by how well they match their prompt (text–audio similarity), so the best of
several candidates is offered first."""
from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

from ..audio import Audio
from ..base import Pipeline


class SoundRanker(Pipeline):
    task = "rank"

    @abstractmethod
    def __call__(self, prompt: str, sounds: Sequence[Audio]) -> list[float]:
        """One similarity per sound (cosine, -1..1; higher matches the prompt better), in the order given."""
