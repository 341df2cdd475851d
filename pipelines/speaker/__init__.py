"""Speaker embeddings: who is speaking, as a unit vector, for voice similarity scores."""
from __future__ import annotations

from abc import abstractmethod

import numpy as np

from ..audio import Audio
from ..base import Pipeline


class SpeakerEncoder(Pipeline):
    task = "speaker"

    @property
    @abstractmethod
    def dim(self) -> int:
        """Length of the embedding vector."""

    @abstractmethod
    def __call__(self, audio: Audio) -> np.ndarray:
        """A float32 vector of length `dim` with unit L2 norm."""


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two speaker embeddings, in [-1, 1]."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    denominator = float(np.linalg.norm(a) * np.linalg.norm(b))
    if denominator == 0.0:
        raise ValueError("cannot compare an all-zero speaker embedding")
    return float(np.dot(a, b) / denominator)
