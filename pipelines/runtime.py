"""Settings shared by the engines that run on native runtimes (onnxruntime, ctranslate2) rather than torch:
where prepared weights are kept, how many threads to use, which onnxruntime providers to ask for."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def models_cache_dir() -> Path:
    """Where weights that ship in parts are joined once: $RETAKE_MODELS_DIR, else ~/.cache/retake/models."""
    configured = os.environ.get("RETAKE_MODELS_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "retake" / "models"


def available_threads() -> int:
    """CPU cores this process may run on (respects affinity / cgroup cpusets, unlike os.cpu_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def check_threads(threads: Any) -> int:
    if threads is None:
        return available_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive whole number, got {threads!r}.")
    return threads


def onnx_providers(ort: Any, device: str | None) -> list[str]:
    """CUDA when asked for ('cuda' or 'auto') and this onnxruntime build has it, else the CPU.

    Any other device (mps, a CPU-only onnxruntime on a CUDA machine) falls back to the CPU instead of failing:
    the graph is small and runs faster than real time there, and the manager passes its torch device here.
    """
    device = str(device or "cpu").lower()
    if (device == "auto" or device.startswith("cuda")) and "CUDAExecutionProvider" in ort.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]
