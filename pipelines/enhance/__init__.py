"""Enhancement: remove noise and room from speech. One module per engine."""
from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator

from ..audio import Audio
from ..base import Pipeline


class EnhancePipeline(Pipeline):
    task = "enhance"

    @abstractmethod
    def __call__(self, audio: Audio) -> Audio:
        """Cleaned audio at the input's own sample rate and length."""

    def stream(self, audio: Audio, block_seconds: float = 1.0) -> Iterator[Audio]:
        """Cleaned audio in blocks of about `block_seconds`, time-aligned with the input; concatenated they
        equal `self(audio)`. Engines that can work block by block override this to keep memory flat in the
        input's length; the default cleans the whole clip and yields it as one block."""
        yield self(audio)
