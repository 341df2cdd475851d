"""Enhancement: remove noise and room from speech. One module per engine."""
from __future__ import annotations

from abc import abstractmethod

from ..audio import Audio
from ..base import Pipeline


class EnhancePipeline(Pipeline):
    task = "enhance"

    @abstractmethod
    def __call__(self, audio: Audio) -> Audio:
        """Cleaned audio at the input's own sample rate and length."""
