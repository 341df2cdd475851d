"""A fake speech engine for use-case tests: a real `SpeakPipeline`, loaded by the real model manager from a
catalog entry, that makes deterministic audio from text, seed, speaker and speed in microseconds. Use cases
tested against it exercise their own logic (checks, storage, lineage, re-joining) without a neural model."""
from __future__ import annotations

import re
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.audio import Audio
from pipelines.base import VoicePrompt
from pipelines.catalog import Catalog, Engine
from pipelines.speak import SpeakPipeline

FAKE_ENGINE = "fake-speak"
RATE = 16000


class FakeSpeak(SpeakPipeline):
    """A fixed-voice engine: one tone per word (pitch from the speaker and the word, length from the word and
    the speed), soft noise drawn from the seed, and short gaps. Same text, seed and options: same samples."""

    SPEAKERS = {"ann": 190.0, "bob": 120.0}
    speed_range = (0.5, 2.0)
    max_chars = 120

    def __init__(self) -> None:
        self.calls: list[tuple[str, int | None]] = []

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None, *, device: str = "cpu", dtype: str | None = None,
                        **options: Any) -> FakeSpeak:
        return cls()

    @property
    def sample_rate(self) -> int:
        return RATE

    def speakers(self) -> list[str]:
        return list(self.SPEAKERS)

    def __call__(self, text: str, *, voice: VoicePrompt | None = None, seed: int | None = None,
                 speaker: str | None = None, speed: float = 1.0, **options: Any) -> Audio:
        self.calls.append((text, seed))
        rng = np.random.default_rng([seed or 0, zlib.crc32(text.encode())])
        pitch = self.SPEAKERS[speaker or "ann"]
        layout = word_layout(text, speed)
        samples = np.zeros(int(round((layout[-1][2] + TAIL_S) * RATE)), np.float32)
        for word, start, end in layout:
            first, n = int(round(start * RATE)), int(round((end - start) * RATE))
            t = np.arange(n) / RATE
            frequency = pitch * (1.0 + (zlib.crc32(word.lower().encode()) % 40) / 100.0)
            tone = 0.3 * np.sin(2 * np.pi * frequency * t) * np.hanning(n) + 0.01 * rng.standard_normal(n)
            samples[first:first + n] = tone
        return Audio(samples, RATE)


LEAD_S, GAP_S, TAIL_S = 0.1, 0.05, 0.1


def word_layout(text: str, speed: float = 1.0) -> list[tuple[str, float, float]]:
    """Where FakeSpeak puts each word of `text`: (word, start, end) in seconds, exact to the sample. A test
    can use it as the word timings of a recording made by the fake engine, instead of an ASR's."""
    layout, at = [], LEAD_S
    for word in re.findall(r"\w+", text) or ["hm"]:
        length = round(RATE * (0.08 + 0.03 * len(word)) / speed) / RATE
        layout.append((word, at, at + length))
        at += length + GAP_S
    return layout


def fake_engine() -> Engine:
    return Engine(id=FAKE_ENGINE, task="speak", name="Fake speech", pipeline="tests.fakes:FakeSpeak", licence="MIT",
                  languages=("en",), sample_rate=RATE, download_mb=0, memory_mb=1,
                  hub_repo="retake-test/fake-speak", revision="fake-1")


def catalog_with_fake() -> Catalog:
    """The real catalog plus the fake engine (its weights: any existing folder, see `local_paths`)."""
    return Catalog([*Catalog.load(), fake_engine()])
