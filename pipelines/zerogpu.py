"""ZeroGPU on Hugging Face Spaces: hold a GPU only while an engine runs on it, for as long as the work needs.

On a ZeroGPU Space (the `spaces` package installed and SPACES_ZERO_GPU set, as the Space runtime does) the
process has no GPU of its own: each call wrapped in `spaces.GPU` is given one for a duration it asks for up
front, and runs in a forked worker (its arguments and result are pickled; the engine itself is inherited).
`on_gpu(engine)` wraps an engine on a CUDA device that way, asking for a duration from the text it is given;
everywhere else (no `spaces`, another host, an engine on the CPU) it returns the engine itself, unchanged.
Engines called outside `on_gpu` (the quality gate's, the voice's embeddings) cannot reach a GPU on ZeroGPU, so
there `placement` keeps those the catalog does not mark `gpu` on the CPU.
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any, Callable, TypeVar

from .loading import pick_dtype

__all__ = ["ENV", "zero_gpu", "gpu_seconds", "on_gpu", "placement", "MIN_SECONDS", "MAX_SECONDS"]

ENV = "SPACES_ZERO_GPU"  # set to "true" by the Space runtime on ZeroGPU hardware (spaces/config.py reads it)
BASE_SECONDS = 10.0  # getting the GPU ready: the engine's weights are moved onto it in the worker
SECONDS_PER_CHAR = 0.15  # autoregressive cloners speak about 15 characters a second, at about real time
MIN_SECONDS = 15
MAX_SECONDS = 120  # a narration chunk is at most a few hundred characters; more is a runaway generation

F = TypeVar("F", bound=Callable[..., Any])


def zero_gpu() -> ModuleType | None:
    """The `spaces` package when this process runs on a ZeroGPU Space, else None."""
    if os.environ.get(ENV, "").strip().lower() not in ("1", "t", "true"):
        return None
    try:
        spaces = importlib.import_module("spaces")
    except ImportError:
        return None
    return spaces if callable(getattr(spaces, "GPU", None)) else None  # not a folder named spaces/


def gpu_seconds(text: Any = "", *args: Any, **kwargs: Any) -> int:
    """Seconds of GPU to ask for to speak `text` (an engine call's arguments), within MIN and MAX_SECONDS."""
    length = len(text) if isinstance(text, str) else 0
    return int(min(MAX_SECONDS, max(MIN_SECONDS, round(BASE_SECONDS + SECONDS_PER_CHAR * length))))


def on_gpu(engine: F) -> F:
    """`engine` (an engine's call) wrapped in `spaces.GPU` when on ZeroGPU and on a CUDA device, else itself."""
    spaces = zero_gpu()
    if spaces is None or not str(getattr(engine, "device", "cpu")).startswith("cuda"):
        return engine
    # The bound method, not the engine: spaces caches one wrapper (and GPU worker) per equal bound method,
    # that is per engine, without needing the engine itself to be hashable.
    return spaces.GPU(getattr(engine, "__call__"), duration=gpu_seconds)


def placement(gpu: bool, device: str, dtype: str) -> tuple[str, str]:
    """The (device, dtype) an engine loads with: on ZeroGPU, an engine the catalog does not mark `gpu` stays on
    the CPU; otherwise the manager's own."""
    if not gpu and device.startswith("cuda") and zero_gpu() is not None:
        return "cpu", pick_dtype("cpu")
    return device, dtype


def _ready() -> None:
    """Registered at import: spaces reports a Space's GPU functions at launch, before any engine is loaded."""


if (_spaces := zero_gpu()) is not None:  # importing spaces early also lets it patch torch before CUDA starts
    _spaces.GPU(_ready)
