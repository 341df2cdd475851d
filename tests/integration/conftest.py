"""The embedded real engines that several integration modules hear and denoise with, loaded once per run."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipelines.enhance.deepfilternet import DeepFilterNet3Enhance
from pipelines.transcribe import TranscribePipeline


@pytest.fixture(scope="session")
def dfn() -> Iterator[DeepFilterNet3Enhance]:
    """DeepFilterNet3 with its packaged weights."""
    engine = DeepFilterNet3Enhance.from_pretrained(None)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def asr() -> TranscribePipeline:
    """Whisper base (faster-whisper) with its packaged weights."""
    pytest.importorskip("faster_whisper")
    from pipelines.transcribe.faster_whisper import FasterWhisperTranscribe

    return FasterWhisperTranscribe.from_pretrained(None)
