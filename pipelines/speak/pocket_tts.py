"""Kyutai Pocket TTS: a ~100M-parameter zero-shot cloner that runs faster than real time on a laptop CPU,
which is why the studio uses it as its default voice."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..audio import Audio, join
from ..base import EngineError, VoicePrompt, seeded_rng
from ..loading import float32_part, load_model, load_part, pick_device, reject_unknown, require_folder, torch_dtype
from . import SpeakPipeline, check_text
from .reference import whole_clips

MAX_TEXT_CHARS = 5000  # long texts are split into sentence chunks; this bounds one call's run time
CHUNK_TOKENS = 50  # the original runtime's chunk size: the model was trained on sentence-sized texts
MIN_VOICE_SECONDS = 0.5


class PocketTTSSpeak(SpeakPipeline):
    """PocketTTSForConditionalGeneration + PocketTTSProcessor (transformers port of kyutai/pocket-tts;
    Hub: eustlb/pocket-tts with its codec eustlb/pocket-tts-audio-tokenizer).

    Components: a text tokenizer and chat template that lay out `voice + text + first audio position`,
    the feature extractor that ends the reference clip on a short pause, the audio tokenizer (a Mimi-style
    codec with continuous 32-d latents at 12.5 Hz, 24 kHz audio) that encodes the voice and decodes the
    speech, and the causal transformer whose flow head samples one latent per step.

    Licence: code MIT (kyutai-labs/pocket-tts) and Apache-2.0 (transformers); weights CC-BY-4.0 (the Hub
    repo is gated: users accept Kyutai's terms once). English only.
    """

    clones: ClassVar[bool] = True

    def __init__(self, model: Any, processor: Any, *, device: str = "cpu", temperature: float = 0.7,
                 max_voice_seconds: float = 15.0) -> None:
        self.model = model
        self.processor = processor
        self.device = device
        self.temperature = temperature
        self.max_voice_seconds = max_voice_seconds

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None, *, audio_tokenizer_path: str | Path | None = None,
                        device: str = "cpu", dtype: str | None = None, temperature: float = 0.7,
                        max_voice_seconds: float = 15.0, **options: Any) -> "PocketTTSSpeak":
        """`model_path`: the eustlb/pocket-tts folder. `audio_tokenizer_path`: the codec's folder
        (eustlb/pocket-tts-audio-tokenizer, a separate repo the manager resolves); when omitted, the path
        the checkpoint's processor_config.json names is used if it is a local folder.
        `temperature`: variance of the flow sampler's noise (0 = deterministic, Kyutai's default 0.7).
        `max_voice_seconds`: how much of the reference clips conditions the voice."""
        reject_unknown("PocketTTSSpeak.from_pretrained", options)
        if temperature < 0.0:
            raise ValueError(f"temperature={temperature} must be zero or positive.")
        if max_voice_seconds < MIN_VOICE_SECONDS:
            raise ValueError(f"max_voice_seconds={max_voice_seconds} must be at least {MIN_VOICE_SECONDS}.")
        from transformers import (
            AutoTokenizer,
            PocketTTSAudioTokenizerModel,
            PocketTTSFeatureExtractor,
            PocketTTSForConditionalGeneration,
            PocketTTSProcessor,
        )

        folder = require_folder(model_path, "eustlb/pocket-tts")
        codec_folder = _codec_folder(folder, audio_tokenizer_path)
        device = pick_device(device)
        precision = torch_dtype(device, dtype)
        model = load_model(PocketTTSForConditionalGeneration, folder, device=device, dtype=precision)
        codec = float32_part(PocketTTSAudioTokenizerModel, codec_folder, device=device)
        if codec.encoder is None:
            raise EngineError(f"The Pocket TTS codec in {codec_folder} has no encoder (a decode-only checkpoint): "
                              "it cannot turn a voice's clips into the latents cloning needs. Use "
                              "eustlb/pocket-tts-audio-tokenizer, which ships the encoder.")
        # Assembled by hand: PocketTTSProcessor.from_pretrained would load the codec from the Hub id
        # written in processor_config.json, which is neither local nor allowed to download here.
        tokenizer = load_part(AutoTokenizer, folder)
        features = load_part(PocketTTSFeatureExtractor, folder)
        settings = _processor_settings(folder)
        template = settings.pop("chat_template", None) or tokenizer.chat_template
        if not template:
            raise EngineError(f"{folder} has no chat template; it is not a transformers Pocket TTS checkpoint.")
        processor = PocketTTSProcessor(features, tokenizer, audio_tokenizer=codec, chat_template=template,
                                       **settings)
        return cls(model, processor, device=device, temperature=temperature,
                   max_voice_seconds=max_voice_seconds)

    @property
    def sample_rate(self) -> int:
        return int(self.processor.feature_extractor.sampling_rate)

    def memory_bytes(self) -> int:
        """The model plus the codec, which lives inside the processor."""
        codec = self.processor.audio_tokenizer
        return super().memory_bytes() + sum(t.numel() * t.element_size()
                                            for t in (*codec.parameters(), *codec.buffers()))

    def __call__(self, text: str, *, voice: VoicePrompt | None = None, seed: int | None = None,
                 **options: Any) -> Audio:
        """Speak `text` in the voice of `voice.clips`. Long texts are split at sentence ends into chunks
        the model handles well, generated in turn and joined. The same seed gives the same audio."""
        import torch

        reject_unknown("Pocket TTS speak", options)
        chunks = self._chunks(text)
        reference = self._reference(voice)
        with seeded_rng(seed, self.device), torch.inference_mode():
            latents = self._encode_voice(reference)
            parts = [self._speak_chunk(chunk, latents) for chunk in chunks]
        audio = join(parts) if len(parts) > 1 else parts[0]
        if audio.num_samples == 0 or not np.all(np.isfinite(audio.samples)):
            raise EngineError("Pocket TTS produced no usable audio (empty or not finite); try another seed.")
        return audio

    def _chunks(self, text: str) -> list[str]:
        text = check_text(text)
        if len(text) > MAX_TEXT_CHARS:
            raise ValueError(f"text is too long for one Pocket TTS call: {len(text)} characters, at most "
                             f"{MAX_TEXT_CHARS}. Split it into paragraphs.")
        chunks = [chunk for chunk in self.processor.split_text(text, max_tokens=CHUNK_TOKENS) if chunk.strip()]
        return chunks or [text]

    def _reference(self, voice: VoicePrompt | None) -> Audio:
        """The reference clips as one 24 kHz clip of at most `max_voice_seconds`, silence trimmed, whole
        clips only (after the first) so the prompt never ends mid-word."""
        fitted = whole_clips(voice, self.sample_rate, self.max_voice_seconds, engine="Pocket TTS",
                             min_seconds=MIN_VOICE_SECONDS)
        return fitted.joined(self.max_voice_seconds)

    def _encode_voice(self, reference: Audio) -> Any:
        """Codec latents of the reference, (frames, latent_dim): computed once per call, reused per chunk."""
        codec = self.processor.audio_tokenizer
        features = self.processor.feature_extractor(reference.samples, sampling_rate=self.sample_rate)
        encoded = codec.encode(features["input_values"].to(codec.device, codec.dtype),
                               features["padding_mask"].to(codec.device))
        latents = encoded.latents[0].float()
        if encoded.latents_mask is not None:
            latents = latents[encoded.latents_mask[0].bool()]
        return latents.cpu()

    def _speak_chunk(self, chunk: str, voice_latents: Any) -> Audio:
        conversation = [{"role": "user", "content": [{"type": "audio", "audio": "voice"},
                                                     {"type": "text", "text": chunk}]}]
        prompt = self.processor.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
        audio_token = self.processor.audio_token
        if prompt.count(audio_token) != 1:
            raise EngineError(f"this Pocket TTS checkpoint's chat template wrote {prompt.count(audio_token)} voice "
                              "placeholders for one voice clip; the template is not the one this wrapper knows.")
        inputs = self.processor(text=prompt, audio_prompt_latents=[voice_latents], return_tensors="pt")
        inputs = {key: value.to(self.device) for key, value in inputs.items()}
        generated = self.model.generate(**inputs, do_sample=self.temperature > 0,
                                        temperature=self.temperature if self.temperature > 0 else None,
                                        return_dict_in_generate=True)
        latents = generated.audio_latents.to(self.processor.audio_tokenizer.dtype)  # the codec stays float32
        waveform = self.processor.decode(latents, generated.audio_latents_mask)[0]
        return Audio(waveform.float().numpy().reshape(-1), self.sample_rate)


def _codec_folder(folder: Path, audio_tokenizer_path: str | Path | None) -> Path:
    if audio_tokenizer_path is not None:
        return require_folder(audio_tokenizer_path, "eustlb/pocket-tts-audio-tokenizer", "audio_tokenizer_path")
    named = _read_json(folder / "processor_config.json").get("audio_tokenizer", {})
    candidate = named.get("audio_tokenizer_name_or_path") if isinstance(named, dict) else None
    if candidate and Path(candidate).is_dir():
        return Path(candidate)
    raise EngineError("audio_tokenizer_path is required: the local folder of the Pocket TTS codec "
                      f"({candidate or 'eustlb/pocket-tts-audio-tokenizer'}), a separate Hub repo.")


# Documented PocketTTSProcessor settings a checkpoint may store in processor_config.json.
_PROCESSOR_SETTINGS = ("short_text_max_words", "frames_after_eos_short_text", "frames_after_eos",
                       "fade_in_duration", "chat_template")


def _processor_settings(folder: Path) -> dict[str, Any]:
    config = _read_json(folder / "processor_config.json")
    settings = {key: config[key] for key in _PROCESSOR_SETTINGS if key in config}
    template = folder / "chat_template.jinja"
    if "chat_template" not in settings and template.is_file():
        settings["chat_template"] = template.read_text(encoding="utf-8")
    return settings


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EngineError(f"{path} is unreadable: {exc}") from exc
    return value if isinstance(value, dict) else {}


