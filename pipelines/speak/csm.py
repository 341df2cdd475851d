"""Sesame CSM-1B: a conversational speech model that clones a voice from reference turns (clip + transcript).

CSM continues a conversation: it reads earlier turns as `[speaker]text` followed by that turn's audio codes, and
then speaks the next turn's text in the voice those turns established. Cloning is therefore "the reference clips
were said by speaker 0, now speaker 0 says this", which is why every reference clip needs its transcript.
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

HUB_REPO = "sesame/csm-1b"
SPEAKER = "0"  # CSM's speaker ids only separate voices within one conversation; all turns here are one voice
MAX_TEXT_CHARS = 600  # about 40 s of speech: CSM was trained on conversational turns, not chapters
MAX_SECONDS = 60.0  # longest speech one call may generate
MIN_VOICE_SECONDS = 0.5
DEFAULT_TEMPERATURE = 0.9  # Sesame's default, for both the backbone and the depth decoder
DEFAULT_TOP_K = 50  # Sesame's default


class CsmSpeak(SpeakPipeline):
    """CsmForConditionalGeneration + CsmProcessor (transformers port of SesameAILabs/csm; Hub: sesame/csm-1b).

    Components, all in one Hub repo: the Llama-3 text tokenizer and a chat template that lays out the turns,
    the Mimi codec (Kyutai; 24 kHz audio <-> 32 codebooks at 12.5 frames/s, inside the model weights) with its
    feature extractor, a 1B Llama-style backbone that predicts each frame's first codebook, and a 100M depth
    decoder that predicts the other 31 codebooks of the frame.

    Licence: code Apache-2.0 (SesameAILabs/csm and transformers); weights Apache-2.0, with Sesame's usage rules
    (no impersonation without consent, no misinformation). The Hub repo is gated: users accept the terms once.
    English (other languages only incidentally).
    """

    clones: ClassVar[bool] = True
    needs_transcripts: ClassVar[bool] = True
    call_options: ClassVar[tuple[str, ...]] = ("temperature", "max_seconds")

    def __init__(self, model: Any, processor: Any, *, device: str = "cpu", max_voice_seconds: float = 30.0) -> None:
        self.model = model
        self.processor = processor
        self.device = device
        self.max_voice_seconds = max_voice_seconds

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None, *, device: str = "cpu", dtype: str | None = None,
                        max_voice_seconds: float = 30.0, **options: Any) -> "CsmSpeak":
        """`model_path`: the local sesame/csm-1b folder (model, codec, tokenizer, chat template, feature
        extractor: one repo). `max_voice_seconds`: how much reference audio (whole clips, in order) conditions
        the voice; more context costs positions and time on every call."""
        reject_unknown("CsmSpeak.from_pretrained", options)
        if not isinstance(max_voice_seconds, Real) or not max_voice_seconds >= MIN_VOICE_SECONDS:
            raise ValueError(f"max_voice_seconds={max_voice_seconds!r} must be at least {MIN_VOICE_SECONDS}.")
        folder = require_folder(model_path, HUB_REPO)
        from transformers import CsmForConditionalGeneration, CsmProcessor

        device = pick_device(device)
        model = load_model(CsmForConditionalGeneration, folder, device=device, dtype=torch_dtype(device, dtype),
                           keep_float32=("codec_model",))
        processor = load_part(CsmProcessor, folder)
        if not processor.chat_template:
            raise EngineError(f"{folder} has no chat template; it is not a transformers CSM checkpoint.")
        return cls(model, processor, device=device, max_voice_seconds=float(max_voice_seconds))

    @property
    def sample_rate(self) -> int:
        return int(self.model.config.codec_config.sampling_rate)

    @property
    def frame_rate(self) -> float:
        """Codec frames (generation steps) per second of audio."""
        return float(self.model.codec_model.config.frame_rate)

    def __call__(self, text: str, *, voice: VoicePrompt | None = None, seed: int | None = None,
                 temperature: float = DEFAULT_TEMPERATURE, max_seconds: float | None = None,
                 **options: Any) -> Audio:
        """Speak `text` in the voice of `voice.clips`, each given to CSM as an earlier turn of speaker 0 with its
        transcript. `temperature`: sampling temperature of both decoders (0 = greedy). `max_seconds`: the
        longest speech to generate; by default a bound estimated from the text. The same seed gives the same
        audio."""
        import torch

        reject_unknown("CSM speak", options)
        text = _check_text(text)
        temperature = _check_temperature(temperature)
        frames = self._frames(text, max_seconds)
        turns = self._reference_turns(voice)
        inputs = self._inputs(turns, text)
        positions = int(inputs["input_ids"].shape[1])
        limit = int(self.model.config.max_position_embeddings)
        if positions + frames > limit:
            raise ValueError(
                f"the reference clips, their transcripts and the text take {positions} of CSM's {limit} positions "
                f"and {frames / self.frame_rate:g} s of speech needs {frames} more: use shorter reference clips "
                f"(max_voice_seconds={self.max_voice_seconds:g}), a shorter text or a smaller max_seconds.")
        with seeded_rng(seed, self.device), torch.inference_mode():
            waveform = self._generate(inputs, frames, temperature)
        audio = Audio(waveform, self.sample_rate)
        if audio.num_samples == 0:
            raise EngineError("CSM ended the turn before saying anything (it produced no audio); try another seed.")
        return audio

    # ------------------------------------------------------------------------------------------- inputs

    def _frames(self, text: str, max_seconds: float | None) -> int:
        return max(1, math.ceil(speech_seconds(text, max_seconds, MAX_SECONDS) * self.frame_rate))

    def _reference_turns(self, voice: VoicePrompt | None) -> list[tuple[str, np.ndarray]]:
        """(transcript, 24 kHz samples) per reference clip, silence trimmed, whole clips in the order given,
        up to `max_voice_seconds` (a clip is never cut: its transcript would no longer match)."""
        fitted = whole_clips(voice, self.sample_rate, self.max_voice_seconds, engine="CSM",
                             min_seconds=MIN_VOICE_SECONDS, with_words=True)
        return [(words, clip.samples) for words, clip in zip(fitted.words, fitted.clips)]

    def _inputs(self, turns: list[tuple[str, np.ndarray]], text: str) -> dict[str, Any]:
        """Tokenised conversation: the reference turns (text then audio), then the turn to speak (text only)."""
        conversation = [{"role": SPEAKER, "content": [{"type": "text", "text": words}, {"type": "audio"}]}
                        for words, _ in turns]
        conversation.append({"role": SPEAKER, "content": [{"type": "text", "text": text}]})
        prompt = self.processor.apply_chat_template(conversation, tokenize=False)
        if prompt.count(self.processor.audio_token) != len(turns):
            raise EngineError(f"this CSM checkpoint's chat template wrote {prompt.count(self.processor.audio_token)} "
                              f"audio placeholders for {len(turns)} clips; it is not the template this wrapper knows.")
        inputs = self.processor(text=prompt, audio=[samples for _, samples in turns], return_tensors="pt",
                                sampling_rate=self.sample_rate)
        dtype = self.model.codec_model.dtype  # the reference audio goes to the codec, which stays float32
        return {key: value.to(self.device, dtype) if value.is_floating_point() else value.to(self.device)
                for key, value in inputs.items()}

    # ----------------------------------------------------------------------------------------- generation

    def _generate(self, inputs: dict[str, Any], frames: int, temperature: float) -> np.ndarray:
        sample = temperature > 0.0
        top_k = getattr(self.model.generation_config, "top_k", None) or DEFAULT_TOP_K
        settings: dict[str, Any] = {"do_sample": sample, "temperature": temperature if sample else 1.0,
                                    "top_k": top_k if sample else None}
        # The depth decoder's sampling settings are passed every call, so they always match the backbone's (a
        # checkpoint's generation_config.json may hold other `depth_decoder_*` values, or none).
        decoder = {f"depth_decoder_{key}": value for key, value in settings.items()}
        # The heads have a few more outputs than the codec has codes (2051 vs 2048); one sampled there would
        # index past the codebook (a crash on CPU, a device assert on CUDA), so those ids are never drawn.
        invalid = list(range(int(self.model.codec_model.config.codebook_size), int(self.model.config.vocab_size)))
        if invalid:
            settings["suppress_tokens"] = decoder["depth_decoder_suppress_tokens"] = invalid
        output = self.model.generate(**inputs, max_new_tokens=frames, output_audio=True, return_dict_in_generate=False,
                                     **settings, **decoder)
        waveform = output[0] if isinstance(output, list) else output.audio[0]
        return waveform.float().cpu().numpy().reshape(-1)


def _check_text(text: str) -> str:
    text = check_text(text)
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"text is too long for one CSM call: {len(text)} characters, at most {MAX_TEXT_CHARS} "
                         "(about 40 s of speech). Split it into sentences or paragraphs.")
    return text


def _check_temperature(temperature: float) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, Real) or not 0.0 <= temperature <= 2.0:
        raise ValueError(f"temperature={temperature!r} must be a number from 0 (greedy) to 2; Sesame uses "
                         f"{DEFAULT_TEMPERATURE}.")
    return float(temperature)
