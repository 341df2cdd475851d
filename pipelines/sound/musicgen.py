"""MusicGen: music and ambience beds from a text description, for under-scoring a voice track."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..audio import Audio
from ..base import seeded_rng
from ..loading import load_model, load_part, pick_device, reject_unknown, require_folder, torch_dtype
from . import Progress, SoundPipeline

MAX_TRAINED_SECONDS = 30.0  # MusicGen was trained on 30 s excerpts; past that it loses the thread


class MusicGenSound(SoundPipeline):
    """MusicgenForConditionalGeneration (facebook/musicgen-small) + MusicgenProcessor.

    Components: a T5 text encoder with its tokenizer, a 300M-parameter decoder that samples four
    EnCodec codebooks in a delay pattern, and the 32 kHz EnCodec decoder that turns codes into audio.
    Classifier-free guidance (`guidance_scale`) trades variety for adherence to the prompt.

    Licence: code MIT (audiocraft) / Apache-2.0 (transformers); the WEIGHTS are CC-BY-NC-4.0, i.e. no
    commercial use, so the studio must say so wherever it offers this engine. Prompts in English;
    mono 32 kHz output, at most 30 s per call.
    """

    name = "MusicGen"

    def __init__(self, model: Any, processor: Any, *, device: str = "cpu", guidance_scale: float = 3.0,
                 temperature: float = 1.0, top_k: int = 250) -> None:
        self.model = model
        self.processor = processor
        self.device = device
        self.guidance_scale = guidance_scale
        self.temperature = temperature
        self.top_k = top_k

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None, *, device: str = "cpu", dtype: str | None = None,
                        guidance_scale: float = 3.0, temperature: float = 1.0, top_k: int = 250,
                        **options: Any) -> "MusicGenSound":
        """`model_path`: the facebook/musicgen-small folder. `guidance_scale` (>= 1; 1 turns guidance off),
        `temperature` (> 0) and `top_k` (>= 1) set the sampling; the defaults are Meta's."""
        reject_unknown("MusicGenSound.from_pretrained", options)
        if guidance_scale < 1.0:
            raise ValueError(f"guidance_scale={guidance_scale} must be at least 1 (1 disables guidance).")
        if temperature <= 0.0:
            raise ValueError(f"temperature={temperature} must be positive.")
        if top_k < 1:
            raise ValueError(f"top_k={top_k} must be at least 1.")
        folder = require_folder(model_path, "facebook/musicgen-small")
        from transformers import MusicgenForConditionalGeneration, MusicgenProcessor

        device = pick_device(device)
        model = load_model(MusicgenForConditionalGeneration, folder, device=device, dtype=torch_dtype(device, dtype),
                           keep_float32=("audio_encoder",))  # EnCodec stays float32
        processor = load_part(MusicgenProcessor, folder)
        return cls(model, processor, device=device, guidance_scale=guidance_scale,
                   temperature=temperature, top_k=top_k)

    @property
    def sample_rate(self) -> int:
        return int(self.model.config.audio_encoder.sampling_rate)

    @property
    def frame_rate(self) -> float:
        """Codec frames per second: each decoding step adds one frame to every codebook."""
        return float(self.model.config.audio_encoder.frame_rate)

    @property
    def max_seconds(self) -> float:
        """The training length, or less if the decoder's position table (plus the delay pattern) is shorter."""
        decoder = self.model.config.decoder
        fits = (decoder.max_position_embeddings - decoder.num_codebooks) / self.frame_rate
        return min(MAX_TRAINED_SECONDS, fits)

    @property
    def max_prompt_tokens(self) -> int:
        return int(min(self.processor.tokenizer.model_max_length, 512))

    def __call__(self, prompt: str, *, seconds: float = 5.0, seed: int | None = None, steps: int | None = None,
                 guidance: float | None = None, progress: Progress | None = None) -> Audio:
        """About `seconds` of audio for `prompt`; the same seed gives the same audio. `steps` does not apply
        (one decoding step per codec frame); `guidance` overrides the engine's guidance scale."""
        import torch

        guidance = self.guidance_scale if guidance is None else guidance
        prompt, seconds, _, guidance = self.check_request(prompt, seconds, steps, guidance)
        inputs = self.processor(text=[prompt], padding=True, return_tensors="pt")
        if inputs["input_ids"].shape[-1] > self.max_prompt_tokens:
            raise ValueError(f"The prompt is too long: {inputs['input_ids'].shape[-1]} tokens, at most "
                             f"{self.max_prompt_tokens}. Describe the sound in fewer words.")
        inputs = {key: value.to(self.device) for key, value in inputs.items()}
        # The delay pattern offsets codebook k by k steps: those steps make no frame of their own.
        frames = int(np.ceil(seconds * self.frame_rate)) + self.model.config.decoder.num_codebooks - 1
        watch = _StepWatch(frames, progress)
        with seeded_rng(seed, self.device), torch.inference_mode():
            values = self.model.generate(
                **inputs, do_sample=True, guidance_scale=guidance, temperature=self.temperature,
                top_k=self.top_k, max_new_tokens=frames, stopping_criteria=[watch],
            )
        if progress is not None:
            progress(1.0)
        return self.finish(values[0].float().cpu().numpy(), self.sample_rate, seconds)


class _StepWatch:
    """A stopping criterion that never stops: it reports each decoding step as progress, and lets a progress
    callback that raises (a cancelled job) end the generation between steps."""

    def __init__(self, steps: int, progress: Progress | None) -> None:
        self.steps, self.progress, self.done = steps, progress, 0

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        self.done += 1
        if self.progress is not None:
            self.progress(min(self.done / self.steps, 0.99))
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
