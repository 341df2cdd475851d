"""CLAP: scores how well each generated sound matches its prompt, so the best of several candidates comes first."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..audio import Audio, resample
from ..base import EngineError
from ..loading import load_model, load_part, pick_device, reject_unknown, require_folder, torch_dtype
from .ranking import SoundRanker

REPO = "laion/clap-htsat-unfused"


class ClapRanker(SoundRanker):
    """ClapModel (laion/clap-htsat-unfused) + ClapProcessor: cosine similarity of text and audio embeddings.

    Components: a RoBERTa text encoder and an HTSAT (Swin transformer on log-mel spectrograms) audio encoder,
    each with a projection into one shared 512-d space, trained contrastively on LAION-Audio-630K.
    The audio side sees 10 s windows at 48 kHz: sounds are resampled to 48 kHz, shorter ones are repeated to fill
    the window (the checkpoint's "repeatpad"), longer ones are cut into 10 s windows whose embeddings are averaged.
    The extractor's own answer for long clips is a random crop ("rand_trunc"); windows make every score
    deterministic and cover the whole sound. Scores are only comparable for the same prompt: rank, don't threshold.

    Licence: Apache-2.0 (weights and code, laion/clap-htsat-unfused and transformers); prompts in English.
    """

    def __init__(self, model: Any, processor: Any, *, device: str = "cpu", batch_size: int = 8) -> None:
        self.model = model
        self.processor = processor
        self.device = device
        self.batch_size = batch_size

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None, *, device: str = "cpu", dtype: str | None = None,
                        batch_size: int = 8, **options: Any) -> "ClapRanker":
        """`model_path`: the laion/clap-htsat-unfused folder. `batch_size`: 10 s windows embedded at once
        (memory grows with it; scores do not depend on it)."""
        reject_unknown("ClapRanker.from_pretrained", options)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r} must be a whole number, at least 1.")
        folder = require_folder(model_path, REPO)
        from transformers import ClapModel, ClapProcessor

        device = pick_device(device)
        model = load_model(ClapModel, folder, device=device, dtype=torch_dtype(device, dtype))
        if model.config.audio_config.enable_fusion:
            raise EngineError(f"{folder} is a fused CLAP checkpoint; this ranker needs the unfused one ({REPO}).")
        processor = load_part(ClapProcessor, folder)
        return cls(model, processor, device=device, batch_size=batch_size)

    @property
    def sample_rate(self) -> int:
        return int(self.processor.feature_extractor.sampling_rate)

    @property
    def window_samples(self) -> int:
        """One audio window (10 s for the real model), in samples at `sample_rate`."""
        return int(self.processor.feature_extractor.nb_max_samples)

    def __call__(self, prompt: str, sounds: Sequence[Audio]) -> list[float]:
        """Cosine similarity of `prompt` with each sound, in order; sounds may differ in rate and length."""
        import torch

        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError("The prompt is empty: describe the sound the candidates should match.")
        sounds = list(sounds)
        if not sounds:
            raise ValueError("No sounds to rank: give at least one candidate.")
        windows: list[np.ndarray] = []
        owners: list[int] = []
        for index, sound in enumerate(sounds):
            if not isinstance(sound, Audio):
                raise ValueError(f"Sound {index + 1} is a {type(sound).__name__}, not Audio.")
            if sound.num_samples == 0:
                raise ValueError(f"Sound {index + 1} is empty (no samples); it cannot be scored.")
            pieces = self._windows(resample(sound, self.sample_rate).samples)
            windows.extend(pieces)
            owners.extend([index] * len(pieces))
        with torch.inference_mode():
            text = self._text_embedding(prompt.strip())
            audio = torch.cat([self._audio_embeddings(windows[start:start + self.batch_size])
                               for start in range(0, len(windows), self.batch_size)])
            means = torch.zeros(len(sounds), audio.shape[1]).index_add_(0, torch.tensor(owners), audio)
            means = torch.nn.functional.normalize(means, dim=-1)  # the mean of unit vectors is shorter than 1
            scores = (means @ text).clamp(-1.0, 1.0)
        return [float(score) for score in scores]

    def _windows(self, samples: np.ndarray) -> list[np.ndarray]:
        """Whole 10 s windows, the last one flush with the end (so no window is mostly padding); one if shorter."""
        size = self.window_samples
        if samples.size <= size:
            return [samples]
        starts = list(range(0, samples.size - size, size)) + [samples.size - size]
        return [samples[start:start + size] for start in starts]

    def _text_embedding(self, prompt: str) -> Any:
        """The unit-length prompt embedding (float32, on the CPU); prompts past the tokenizer's limit are cut."""
        tokens = self.processor.tokenizer([prompt], padding=True, truncation=True, return_tensors="pt")
        tokens = {key: value.to(self.device) for key, value in tokens.items()}
        features = self.model.get_text_features(**tokens).pooler_output
        return _unit(features.float().cpu())[0]

    def _audio_embeddings(self, windows: list[np.ndarray]) -> Any:
        """Unit-length embeddings of windows no longer than `window_samples`, so the extractor never crops."""
        extractor = self.processor.feature_extractor
        inputs = extractor(windows, sampling_rate=self.sample_rate, truncation="rand_trunc", padding="repeatpad",
                           return_tensors="pt")
        features = inputs["input_features"].to(self.device, dtype=self.model.dtype)
        embeddings = self.model.get_audio_features(input_features=features).pooler_output
        return _unit(embeddings.float().cpu())


def _unit(vectors: Any) -> Any:
    """L2-normalised rows: cosine similarity is then a dot product."""
    import torch

    return torch.nn.functional.normalize(vectors, dim=-1)
