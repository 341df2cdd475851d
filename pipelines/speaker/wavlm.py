"""WavLM x-vector speaker verification model from the Hub (microsoft/wavlm-base-plus-sv) through transformers."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..audio import Audio, resample
from ..base import EngineError
from ..loading import load_model, load_part, pick_device, reject_unknown, require_folder, torch_dtype
from . import SpeakerEncoder

HUB_REPO = "microsoft/wavlm-base-plus-sv"


class WavLMSpeaker(SpeakerEncoder):
    """WavLM Base+ fine-tuned for speaker verification: WavLM encoder -> TDNN x-vector head, 512-d.

    Components: `WavLMForXVector` and its feature extractor (`Wav2Vec2FeatureExtractor`: raw 16 kHz
    waveform, optional per-utterance normalisation). Code: transformers, Apache-2.0; weights:
    microsoft/wavlm-base-plus-sv (see its model card; the WavLM weights are MIT-licensed by Microsoft).
    The embedding is the head's x-vector, L2-normalised. Long clips are embedded in windows of
    `chunk_seconds` (self-attention cost grows with the square of the length) and the window vectors
    averaged by duration.
    """

    def __init__(self, model: Any, feature_extractor: Any, *, chunk_seconds: float = 20.0) -> None:
        self.model = model
        self.feature_extractor = feature_extractor
        self.chunk_seconds = chunk_seconds

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None, *, device: str = "cpu",
                        dtype: str | None = None, **options: Any) -> "WavLMSpeaker":
        """Load from a local checkpoint folder. Options: chunk_seconds (20)."""
        reject_unknown("WavLMSpeaker", options, ("chunk_seconds",))
        chunk_seconds = float(options.get("chunk_seconds", 20.0))
        if chunk_seconds < 1.0:
            raise ValueError(f"chunk_seconds must be at least 1 s, got {chunk_seconds}.")
        folder = require_folder(model_path, HUB_REPO)
        device = pick_device(device)
        precision = torch_dtype(device, dtype)
        from transformers import AutoFeatureExtractor, WavLMForXVector

        feature_extractor = load_part(AutoFeatureExtractor, folder)
        model = load_model(WavLMForXVector, folder, device=device, dtype=precision)
        return cls(model, feature_extractor, chunk_seconds=chunk_seconds)

    @property
    def sample_rate(self) -> int:
        return int(self.feature_extractor.sampling_rate)

    @property
    def dim(self) -> int:
        return int(self.model.config.xvector_output_dim)

    @property
    def min_samples(self) -> int:
        """Shortest input the conv front end and the dilated TDNN layers can turn into an x-vector:
        statistics pooling takes a standard deviation, so the TDNN must put out at least 2 frames."""
        config = self.model.config
        frames = 2 + sum((k - 1) * d for k, d in zip(config.tdnn_kernel, config.tdnn_dilation))
        samples = frames
        for kernel, stride in reversed(list(zip(config.conv_kernel, config.conv_stride))):
            samples = (samples - 1) * stride + kernel
        return int(samples)

    def __call__(self, audio: Audio) -> np.ndarray:
        """A float32 unit vector of length `dim` describing the voice in `audio` (any rate)."""
        import torch

        if not isinstance(audio, Audio):
            raise ValueError(f"audio must be an Audio value, got {type(audio).__name__}.")
        samples = resample(audio, self.sample_rate).samples
        if samples.size < self.min_samples:
            raise ValueError(f"audio is too short for a speaker embedding ({audio.duration:.2f} s); give at "
                             f"least {self.min_samples / self.sample_rate:.2f} s of speech.")
        if not np.any(samples):
            raise ValueError("audio is silent (all zeros); a speaker embedding needs someone speaking.")
        count = max(1, int(np.ceil(samples.size / (self.chunk_seconds * self.sample_rate))))
        total = np.zeros(self.dim, dtype=np.float64)
        for chunk in np.array_split(samples, count):  # equal parts: none is a too-short leftover
            inputs = self.feature_extractor(chunk, sampling_rate=self.sample_rate, return_tensors="pt")
            values = inputs.input_values.to(self.model.device, self.model.dtype)
            with torch.inference_mode():
                vector = self.model(input_values=values).embeddings[0].float()
            vector = torch.nn.functional.normalize(vector, dim=-1).cpu().numpy()
            total += vector * chunk.size
        norm = float(np.linalg.norm(total))
        if not np.isfinite(norm) or norm == 0.0:
            raise EngineError("WavLM produced an invalid embedding (NaN or zero) for this audio.")
        return (total / norm).astype(np.float32)
