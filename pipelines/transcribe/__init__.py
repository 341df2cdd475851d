"""Transcription with word timings (for editing by text and for scoring takes). One module per engine."""
from __future__ import annotations

from abc import abstractmethod

from ..audio import Audio
from ..base import Pipeline, Transcript


class TranscribePipeline(Pipeline):
    task = "transcribe"

    @abstractmethod
    def __call__(self, audio: Audio, *, language: str | None = None) -> Transcript:
        """Words with start/end seconds relative to the start of `audio`."""

    def hear(self, audio: Audio, *, language: str | None = None) -> list[str]:
        """Just the words heard in a short piece, for checking an edit (no timings needed: engines may
        decode faster here)."""
        return [word.text for word in self(audio, language=language).words]
