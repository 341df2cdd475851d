"""Audio on its way to a browser player: `gr.Audio(type="numpy")` takes a `(rate, samples)` pair. The
conversion lives here, in the UI layer, so `pipelines.audio` knows nothing of Gradio."""
from __future__ import annotations

import numpy as np

from pipelines.audio import Audio


def playable(audio: Audio) -> tuple[int, np.ndarray]:
    """`(rate, float32 samples)` for a numpy-typed player (Gradio converts to 16-bit WAV itself)."""
    return audio.sample_rate, audio.samples
