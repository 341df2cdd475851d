"""A real, minimal enhancement pipeline whose weight size a test can choose, and whose loading a test can hold
open (`LOADING` / `RELEASE`), so the model manager's caching, eviction and single-flight loading can be
exercised quickly and exactly, without sleeping."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from pipelines.audio import Audio
from pipelines.enhance import EnhancePipeline

LOADS: dict[str, int] = {}
_LOCK = threading.Lock()
LOADING = threading.Event()  # set when a held load has started
RELEASE = threading.Event()  # a held load finishes once this is set


class TinyGain(EnhancePipeline):
    """Multiplies by a learned gain held in a tensor of `size` floats (the size sets memory_bytes)."""

    def __init__(self, weights: torch.Tensor, rate: int) -> None:
        self.weights = torch.nn.Parameter(weights, requires_grad=False)
        self._rate = rate

    @classmethod
    def from_pretrained(cls, model_path, *, device="cpu", dtype=None, **options):
        folder = Path(model_path)
        config = json.loads((folder / "config.json").read_text())
        if config.get("hold"):
            LOADING.set()
            if not RELEASE.wait(timeout=60):
                raise TimeoutError("the test never released the held load")
        with _LOCK:
            LOADS[config["name"]] = LOADS.get(config["name"], 0) + 1
        return cls(load_file(folder / "model.safetensors")["gain"], config["sample_rate"])

    @property
    def sample_rate(self) -> int:
        return self._rate

    def __call__(self, audio: Audio) -> Audio:
        return Audio(audio.samples * float(self.weights[0]), audio.sample_rate)


def build(folder: Path, name: str, *, megabytes: float = 1.0, hold: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    size = int(megabytes * 2**20 / 4)
    save_file({"gain": torch.full((size,), 0.5, dtype=torch.float32)}, folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps({"name": name, "sample_rate": 16000,
                                                    "hold": hold}))
    return folder


def samples() -> Audio:
    return Audio(np.full(1600, 0.2, dtype=np.float32), 16000)
