"""What every engine wrapper has in common, so the model manager can load, cache and unload any of them.

A pipeline is built by `from_pretrained` (the only place that reads weights, through `pipelines.loading`)
and is then a plain callable. `__init__` only stores already-built parts, so tests can assemble a pipeline
from tiny components. What an engine of a task can do beyond the call is declared on the task's base class.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .audio import Audio
from .seeds import check_seed, random_seed

TASKS = ("speak", "convert", "edit", "enhance", "sound", "rank", "transcribe", "speaker", "vad")


class EngineError(RuntimeError):
    """An engine cannot be used right now; the message says why and what to do instead."""


class Pipeline(ABC):
    """One engine for one task. Subclasses set `task` and implement `from_pretrained` and `__call__`."""

    task: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_pretrained(cls, model_path: str | Path | None, *, device: str = "cpu",
                        dtype: str | None = None, **options: Any) -> "Pipeline":
        """Build from a local folder (a Hub snapshot already on disk) or, for embedded engines whose
        weights ship inside a Python package, from `None`. Never downloads anything itself."""

    @abstractmethod
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the engine; the task's base class declares on what and what comes back."""

    @property
    @abstractmethod
    def sample_rate(self) -> int:
        """The rate the engine works at; inputs are resampled to it and outputs come at it."""

    def memory_bytes(self) -> int:
        """Approximate memory the loaded engine holds, for the manager's budget. Torch modules, tensors and
        numpy arrays held as attributes are counted; wrappers around native runtimes override this."""
        return sum(_nbytes(value) for value in vars(self).values())


def _nbytes(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if hasattr(value, "element_size") and hasattr(value, "numel"):  # a torch tensor
        return value.numel() * value.element_size()
    if callable(getattr(value, "parameters", None)) and callable(getattr(value, "buffers", None)):
        try:  # a torch module
            return sum(t.numel() * t.element_size() for t in (*value.parameters(), *value.buffers()))
        except TypeError:
            return 0
    return 0


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    confidence: float = 1.0


@dataclass(frozen=True)
class Transcript:
    """What an ASR engine heard, with word timings for editing by text."""

    text: str
    words: tuple[Word, ...]
    language: str | None = None


@dataclass(frozen=True)
class VoicePrompt:
    """The voice to speak or convert into: reference clips (with transcripts where known) and any
    speaker embeddings already computed, keyed by encoder id."""

    clips: tuple[Audio, ...]
    transcripts: tuple[str | None, ...] = ()
    embeddings: dict[str, np.ndarray] = field(default_factory=dict)


@contextmanager
def seeded_rng(seed: int | None, device: str) -> Iterator[None]:
    """Seed torch's global generators for one call and restore them after, so a call is reproducible
    without disturbing anyone else's randomness. No seed draws a fresh one (restoring the state would
    otherwise make every unseeded call identical)."""
    import torch

    seed = check_seed(seed)
    kind = torch.device(device).type
    devices = [] if kind == "cpu" else [torch.device(device).index or 0]
    with torch.random.fork_rng(devices=devices, device_type=kind if kind != "cpu" else "cuda"):
        torch.manual_seed(seed if seed is not None else random_seed())
        yield
