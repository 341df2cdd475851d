"""Microsoft VibeVoice 1.5B: long-form speech whose voice comes from a voice sample, no transcript needed.

A Qwen2.5 language model reads the script and, per speaker, a voice sample encoded by the acoustic and semantic
tokenizers; a diffusion head then predicts the speech's continuous acoustic latents, 7.5 per second, which the
acoustic tokenizer decodes to 24 kHz audio. Cloning is "speaker 0's voice is this sample; speaker 0 says this".
"""
from __future__ import annotations

import math
from numbers import Real
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..audio import Audio
from ..base import EngineError, VoicePrompt, seeded_rng
from ..loading import load_model, load_part, pick_device, reject_unknown, require_folder, torch_dtype
from . import SpeakPipeline, check_text, speech_seconds
from .reference import whole_clips

HUB_REPO = "bezzam/VibeVoice-1.5B-hf"
SPEAKER = "0"
MIN_VOICE_SECONDS = 1.0
MAX_TEXT_CHARS = 5000  # a few minutes of speech in one call; the narration chunks far smaller
# The settings transformers' docs give for VibeVoice (classifier-free guidance 1.3, 10 diffusion steps).
GUIDANCE_SCALE, DIFFUSION_STEPS = 1.3, 10


class VibeVoiceSpeak(SpeakPipeline):
    """VibeVoiceForConditionalGeneration + VibeVoiceProcessor (transformers port of microsoft/VibeVoice-1.5B; Hub:
    bezzam/VibeVoice-1.5B-hf, the repo transformers documents), all in one repo. Generation needs `diffusers`
    for the noise scheduler the checkpoint names.

    Licence: weights MIT (Microsoft, who advise against commercial use without further testing), code
    Apache-2.0 (transformers), diffusers Apache-2.0. English and Chinese.
    """

    clones: ClassVar[bool] = True
    call_options: ClassVar[tuple[str, ...]] = ("max_seconds",)

    def __init__(self, model: Any, processor: Any, *, device: str = "cpu", max_voice_seconds: float = 30.0) -> None:
        self.model = model
        self.processor = processor
        self.device = device
        self.max_voice_seconds = max_voice_seconds
        self.max_chars = MAX_TEXT_CHARS

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None, *, device: str = "cpu", dtype: str | None = None,
                        max_voice_seconds: float = 30.0, **options: Any) -> "VibeVoiceSpeak":
        """`model_path`: the local VibeVoice-1.5B-hf folder. `max_voice_seconds`: how much of the voice's clips
        (whole clips, in order) make the voice sample."""
        reject_unknown("VibeVoiceSpeak.from_pretrained", options)
        if isinstance(max_voice_seconds, bool) or not isinstance(max_voice_seconds, Real) \
                or not max_voice_seconds >= MIN_VOICE_SECONDS:
            raise ValueError(f"max_voice_seconds={max_voice_seconds!r} must be at least {MIN_VOICE_SECONDS:g}.")
        import importlib.util

        if importlib.util.find_spec("diffusers") is None:
            raise EngineError("VibeVoice samples its speech with a diffusers noise scheduler: pip install diffusers.")
        from transformers import VibeVoiceForConditionalGeneration, VibeVoiceProcessor

        folder = require_folder(model_path, HUB_REPO)
        device = pick_device(device)
        # Unlike the other engines' codecs, VibeVoice's tokenizers run in the model's precision: Microsoft's own
        # inference loads the whole model in bfloat16, and transformers' port passes their outputs to the language
        # model's layers without casting, so a float32 tokenizer beside a bfloat16 model cannot run.
        model = load_model(VibeVoiceForConditionalGeneration, folder, device=device, dtype=torch_dtype(device, dtype))
        processor = load_part(VibeVoiceProcessor, folder)
        if not processor.chat_template:
            raise EngineError(f"{folder} has no chat template; it is not a transformers VibeVoice checkpoint.")
        return cls(model, processor, device=device, max_voice_seconds=float(max_voice_seconds))

    @property
    def sample_rate(self) -> int:
        return int(self.processor.feature_extractor.sampling_rate)

    @property
    def frame_rate(self) -> float:
        """Acoustic latents (generation steps) per second of audio."""
        return self.sample_rate / math.prod(self.model.config.audio_config.downsampling_ratios)

    def __call__(self, text: str, *, voice: VoicePrompt | None = None, seed: int | None = None,
                 max_seconds: float | None = None, **options: Any) -> Audio:
        """Speak `text` in the voice of `voice.clips` (no transcript needed). `max_seconds`: the longest speech
        to generate (by default a bound from the text). The same seed gives the same audio."""
        import torch

        reject_unknown("VibeVoice speak", options)
        text = check_text(text)
        if len(text) > MAX_TEXT_CHARS:
            raise ValueError(f"text is too long for one VibeVoice call: {len(text)} characters, at most "
                             f"{MAX_TEXT_CHARS}. Split it into paragraphs.")
        sample = self._voice_sample(voice)
        conversation = [{"role": SPEAKER, "content": [{"type": "text", "text": text},
                                                      {"type": "audio", "path": sample.samples}]}]
        inputs = self.processor.apply_chat_template(conversation, tokenize=True, return_dict=True, return_tensors="pt")
        inputs = {key: value.to(self.device, self.model.dtype) if value.is_floating_point() else value.to(self.device)
                  for key, value in inputs.items()}  # as the docs do: the model's device and precision
        with seeded_rng(seed, self.device), torch.inference_mode():
            audio = self.model.generate(**inputs, max_new_tokens=self._steps(text, max_seconds),
                                        guidance_scale=GUIDANCE_SCALE, num_diffusion_steps=DIFFUSION_STEPS)
        waveform = audio[0] if isinstance(audio, list) else None
        if waveform is None:
            raise EngineError("VibeVoice ended before saying anything (it produced no audio); try another seed.")
        samples = waveform.detach().float().cpu().numpy().reshape(-1)
        if samples.size == 0 or not np.all(np.isfinite(samples)):
            raise EngineError("VibeVoice produced no usable audio (empty or not finite); try another seed.")
        return Audio(samples, self.sample_rate)

    def _voice_sample(self, voice: VoicePrompt | None) -> Audio:
        """The clips at 24 kHz, silence trimmed, whole clips in order up to `max_voice_seconds`, joined."""
        fitted = whole_clips(voice, self.sample_rate, self.max_voice_seconds, engine="VibeVoice",
                             min_seconds=MIN_VOICE_SECONDS)
        return fitted.joined(self.max_voice_seconds)

    def _steps(self, text: str, max_seconds: float | None) -> int:
        seconds = speech_seconds(text, max_seconds)
        return max(1, math.ceil(seconds * self.frame_rate)) + 1  # + the closing audio-end token
