"""A real, minimal enhancement pipeline whose weight size and load time a test can choose, so the model
manager's caching, eviction and single-flight loading can be exercised quickly and exactly."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from pipelines.audio import Audio
from pipelines.enhance import EnhancePipeline

LOADS: dict[str, int] = {}
_LOCK = threading.Lock()


class TinyGain(EnhancePipeline):
    """Multiplies by a learned gain held in a tensor of `size` floats (the size sets memory_bytes)."""

    def __init__(self, weights: torch.Tensor, rate: int) -> None:
        self.weights = torch.nn.Parameter(weights, requires_grad=False)
        self._rate = rate

    @classmethod
    def from_pretrained(cls, model_path, *, device="cpu", dtype=None, **options):
        folder = Path(model_path)
        config = json.loads((folder / "config.json").read_text())
        time.sleep(config.get("load_seconds", 0.0))
        with _LOCK:
            LOADS[config["name"]] = LOADS.get(config["name"], 0) + 1
        return cls(load_file(folder / "model.safetensors")["gain"], config["sample_rate"])

    @property
    def sample_rate(self) -> int:
        return self._rate

    def __call__(self, audio: Audio) -> Audio:
        return Audio(audio.samples * float(self.weights[0]), audio.sample_rate)


def build(folder: Path, name: str, *, megabytes: float = 1.0, load_seconds: float = 0.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    size = int(megabytes * 2**20 / 4)
    save_file({"gain": torch.full((size,), 0.5, dtype=torch.float32)}, folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps({"name": name, "sample_rate": 16000,
                                                    "load_seconds": load_seconds}))
    return folder


def samples() -> Audio:
    return Audio(np.full(1600, 0.2, dtype=np.float32), 16000)
