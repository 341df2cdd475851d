"""Nari Labs Dia 1.6B: dialogue text to speech that clones a voice from a short clip and its words.

Dia continues audio: the prompt's text is the reference clip's transcript followed by the new text, both under
the speaker tag `[S1]`, and the decoder starts from the clip's DAC codes, so the new words come out in the
clip's voice. Only the audio after the prompt is kept. Its text encoder reads UTF-8 bytes (1024 at most,
transcript included) and its decoder holds 3072 codec frames (about 35 s at 44.1 kHz, reference included).
"""
from __future__ import annotations

import math
from numbers import Real
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..audio import Audio
from ..base import EngineError, VoicePrompt, seeded_rng
from ..loading import float32_part, load_model, load_part, pick_device, reject_unknown, require_folder, torch_dtype
from . import SpeakPipeline, check_text, speech_seconds
from .reference import whole_clips

HUB_REPO = "nari-labs/Dia-1.6B-0626"
CODEC_REPO = "descript/dac_44khz"
SPEAKER_TAG = "[S1]"
MIN_VOICE_SECONDS = 1.0
# The model card's sampling settings (classifier-free guidance 3, temperature 1.8, top-p 0.90, top-k 45).
GUIDANCE_SCALE, TEMPERATURE, TOP_P, TOP_K = 3.0, 1.8, 0.90, 45


class DiaSpeak(SpeakPipeline):
    """DiaForConditionalGeneration + DiaProcessor (transformers port of nari-labs/dia; Hub:
    nari-labs/Dia-1.6B-0626, with the DAC codec descript/dac_44khz as a separate repo).

    Components: a byte-level text encoder, a decoder predicting 9 DAC codebooks with a delay pattern, and the
    44.1 kHz DAC codec that encodes the reference and decodes the speech.
    Licence: weights and code Apache-2.0 (Nari Labs), DAC MIT, transformers Apache-2.0. English only.
    """

    clones: ClassVar[bool] = True
    needs_transcripts: ClassVar[bool] = True
    call_options: ClassVar[tuple[str, ...]] = ("temperature", "max_seconds")

    def __init__(self, model: Any, processor: Any, *, device: str = "cpu", max_voice_seconds: float = 10.0) -> None:
        self.model = model
        self.processor = processor
        self.device = device
        self.max_voice_seconds = max_voice_seconds

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None, *, audio_tokenizer_path: str | Path | None = None,
                        device: str = "cpu", dtype: str | None = None, max_voice_seconds: float = 10.0,
                        **options: Any) -> "DiaSpeak":
        """`model_path`: the nari-labs/Dia-1.6B-0626 folder; `audio_tokenizer_path`: the descript/dac_44khz folder
        (the codec, kept in float32). `max_voice_seconds`: how much of the reference (whole clips, in order)
        conditions the voice; Nari Labs recommend 5-10 s, and every second costs 86 of the decoder's 3072
        frames."""
        reject_unknown("DiaSpeak.from_pretrained", options)
        if isinstance(max_voice_seconds, bool) or not isinstance(max_voice_seconds, Real) \
                or not max_voice_seconds >= MIN_VOICE_SECONDS:
            raise ValueError(f"max_voice_seconds={max_voice_seconds!r} must be at least {MIN_VOICE_SECONDS:g}.")
        from transformers import DacModel, DiaFeatureExtractor, DiaForConditionalGeneration, DiaProcessor, DiaTokenizer

        folder = require_folder(model_path, HUB_REPO)
        codec_folder = require_folder(audio_tokenizer_path, CODEC_REPO, "audio_tokenizer_path")
        device = pick_device(device)
        model = load_model(DiaForConditionalGeneration, folder, device=device, dtype=torch_dtype(device, dtype))
        codec = float32_part(DacModel, codec_folder, device=device)
        processor = DiaProcessor(load_part(DiaFeatureExtractor, folder), load_part(DiaTokenizer, folder), codec)
        if processor.feature_extractor.sampling_rate != codec.config.sampling_rate:
            raise EngineError(f"{codec_folder} is a {codec.config.sampling_rate} Hz codec; Dia needs "
                              f"{processor.feature_extractor.sampling_rate} Hz ({CODEC_REPO}).")
        return cls(model, processor, device=device, max_voice_seconds=float(max_voice_seconds))

    @property
    def sample_rate(self) -> int:
        return int(self.processor.feature_extractor.sampling_rate)

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / math.prod(self.processor.audio_tokenizer.config.downsampling_ratios)

    def memory_bytes(self) -> int:
        codec = self.processor.audio_tokenizer
        return super().memory_bytes() + sum(t.numel() * t.element_size() for t in codec.parameters())

    def __call__(self, text: str, *, voice: VoicePrompt | None = None, seed: int | None = None,
                 temperature: float = TEMPERATURE, max_seconds: float | None = None, **options: Any) -> Audio:
        """Speak `text` in the voice of `voice`'s clips and their words. `temperature`: sampling temperature
        (1.0 to 2.5; the card's 1.8). `max_seconds`: the longest speech to generate (by default a bound from the
        text). The same seed gives the same audio."""
        import torch

        reject_unknown("Dia speak", options)
        text = check_text(text).replace(SPEAKER_TAG, " ").replace("[S2]", " ")
        if isinstance(temperature, bool) or not isinstance(temperature, Real) or not 1.0 <= temperature <= 2.5:
            raise ValueError(f"temperature={temperature!r} must be from 1.0 to 2.5; Nari Labs use {TEMPERATURE}.")
        words, reference = self._reference(voice)
        prompt = f"{SPEAKER_TAG} {words} {SPEAKER_TAG} {' '.join(text.split())}"
        limit = int(self.model.config.encoder_config.max_position_embeddings)
        if len(prompt.encode("utf-8")) > limit:
            raise ValueError(f"the reference's words and the text take {len(prompt.encode('utf-8'))} bytes; Dia reads "
                             f"at most {limit}. Use a shorter text or shorter reference clips.")
        inputs = self.processor(text=[prompt], audio=[reference.samples], padding=True, return_tensors="pt",
                                sampling_rate=self.sample_rate)
        prompt_frames = int(self.processor.get_audio_prompt_len(inputs["decoder_attention_mask"]))
        frames = self._frames(text, max_seconds, prompt_frames) + max(self.model.config.delay_pattern)
        inputs = {key: value.to(self.device) for key, value in inputs.items()}
        with seeded_rng(seed, self.device), torch.inference_mode():
            codes = self.model.generate(**inputs, max_new_tokens=frames, do_sample=True,
                                        guidance_scale=GUIDANCE_SCALE, temperature=float(temperature), top_p=TOP_P,
                                        top_k=TOP_K)
        waveform = self.processor.batch_decode(codes, audio_prompt_len=prompt_frames)[0]
        samples = waveform.detach().float().cpu().numpy().reshape(-1)
        if samples.size == 0 or not np.all(np.isfinite(samples)):
            raise EngineError("Dia ended before saying anything (it produced no audio); try another seed.")
        return Audio(samples, self.sample_rate)

    def _reference(self, voice: VoicePrompt | None) -> tuple[str, Audio]:
        """The reference clips (44.1 kHz, silence trimmed, whole clips in order up to `max_voice_seconds`)
        joined into one, and their words joined the same way."""
        fitted = whole_clips(voice, self.sample_rate, self.max_voice_seconds, engine="Dia",
                             min_seconds=MIN_VOICE_SECONDS, with_words=True)
        words = " ".join(w.replace(SPEAKER_TAG, " ").replace("[S2]", " ") for w in fitted.words)
        return " ".join(words.split()), fitted.joined()

    def _frames(self, text: str, max_seconds: float | None, prompt_frames: int) -> int:
        """New codec frames to allow (before the delay pattern's tail): the text's bound (or `max_seconds`),
        within what the decoder holds after the reference and that tail."""
        room = int(self.model.config.decoder_config.max_position_embeddings) - prompt_frames \
            - max(self.model.config.delay_pattern) - 1
        seconds = speech_seconds(text, max_seconds)
        frames = math.ceil(seconds * self.frame_rate)
        if frames > room:
            raise ValueError(f"{seconds:.1f} s of speech needs {frames} frames and Dia has {max(room, 0)} left after "
                             "the reference: use a shorter text, shorter reference clips or a smaller max_seconds.")
        return frames
