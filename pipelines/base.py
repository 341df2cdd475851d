"""What every engine wrapper has in common, so the model manager can load, cache and unload any of them.

A pipeline is built by `from_pretrained` (the only place that reads weights) and is then a plain callable.
`__init__` only stores already-built parts, so tests can assemble a pipeline from tiny components.
"""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .audio import Audio

TASKS = ("speak", "convert", "edit", "enhance", "sound", "transcribe", "speaker", "vad")


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


def pick_device(requested: str | None = None) -> str:
    """cuda if present, else Apple's mps, else cpu; an explicit request wins."""
    if requested and requested != "auto":
        return requested
    try:
        import torch
    except ImportError:
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(device: str, requested: str | None = None) -> str:
    """float32 on CPU (half precision is slow there); bfloat16 on GPUs that have it, else float16."""
    if requested and requested != "auto":
        return requested
    if device == "cuda":
        import torch

        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    if device == "mps":
        return "float16"
    return "float32"


@contextmanager
def seeded_rng(seed: int | None, device: str) -> Iterator[None]:
    """Seed torch's global generators for one call and restore them after, so a call is reproducible
    without disturbing anyone else's randomness. No seed draws a fresh one (restoring the state would
    otherwise make every unseeded call identical)."""
    import torch

    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"seed={seed!r} must be a non-negative whole number or None.")
    kind = torch.device(device).type
    devices = [] if kind == "cpu" else [torch.device(device).index or 0]
    with torch.random.fork_rng(devices=devices, device_type=kind if kind != "cpu" else "cuda"):
        torch.manual_seed(int(seed) if seed is not None else secrets.randbits(63))
        yield
