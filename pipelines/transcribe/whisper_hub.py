"""Whisper checkpoints from the Hugging Face Hub (large-v3-turbo, small, fine-tunes) through transformers."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..audio import Audio, resample
from ..base import EngineError, Transcript, Word
from ..loading import load_model, load_part, pick_device, reject_unknown, require_folder, torch_dtype
from . import TranscribePipeline
from .timing import snap_to_speech, speech_regions, tidy_words

HUB_REPOS = {
    "whisper-large-v3-turbo": "openai/whisper-large-v3-turbo",
    "whisper-small": "openai/whisper-small",
}
_WINDOW_SECONDS = 30.0  # Whisper's fixed input window; longer audio goes through sequential long-form decoding
# Languages written without spaces: a "word" there is each run of tokens that decodes to whole characters.
_UNSPACED = {"zh", "ja", "th", "lo", "my", "yue"}
_SPACE_MARK = "\u0120"  # how byte-level BPE spells a leading space inside a token ("Ġ")


class WhisperHubTranscribe(TranscribePipeline):
    """OpenAI Whisper (encoder-decoder ASR, 99+ languages) from a transformers checkpoint folder.

    Components: `WhisperForConditionalGeneration` and `WhisperProcessor` (log-mel feature extractor +
    byte-level BPE tokenizer). Code: transformers, Apache-2.0; OpenAI Whisper weights: MIT.
    Word timings: transformers' token timestamps (dynamic time warping over the cross-attention of the
    generation config's `alignment_heads`), grouped into words here, edges in silence snapped to the
    speech and clamped to the audio.
    """

    def __init__(self, model: Any, processor: Any, *, num_beams: int = 1, max_new_tokens: int | None = None,
                 snap_words: bool = True, skip_silent: bool = True) -> None:
        self.model = model
        self.processor = processor
        self.num_beams = num_beams
        self.max_new_tokens = max_new_tokens
        self.snap_words = snap_words
        self.skip_silent = skip_silent

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None, *, device: str = "cpu",
                        dtype: str | None = None, **options: Any) -> "WhisperHubTranscribe":
        """Load from a local checkpoint folder (config, weights, processor files, generation config).

        Options: num_beams (1: greedy, the fast choice on CPU), max_new_tokens (per 30 s window;
        default the checkpoint's limit), snap_words (True) and skip_silent (True): as in FasterWhisper,
        word edges in silence move to the speech and audio without speech is not decoded (both use
        the Silero VAD bundled with faster-whisper and are skipped if it is not installed).
        """
        reject_unknown("WhisperHubTranscribe", options, ("num_beams", "max_new_tokens", "snap_words", "skip_silent"))
        folder = require_folder(model_path, "a Whisper repo (e.g. openai/whisper-large-v3-turbo)")
        num_beams = int(options.get("num_beams", 1))
        if num_beams < 1:
            raise ValueError(f"num_beams must be at least 1, got {num_beams}.")
        max_new_tokens = options.get("max_new_tokens")
        device = pick_device(device)
        precision = torch_dtype(device, dtype)
        from transformers import WhisperForConditionalGeneration, WhisperProcessor

        processor = load_part(WhisperProcessor, folder)
        # Token timestamps read cross-attention weights, which only the eager implementation returns.
        model = load_model(WhisperForConditionalGeneration, folder, device=device, dtype=precision,
                           attn_implementation="eager")
        generation = model.generation_config
        if getattr(generation, "alignment_heads", None) is None:
            # Fine-tunes often drop them; openai-whisper's fallback: every head of the decoder's upper half.
            layers, heads = model.config.decoder_layers, model.config.decoder_attention_heads
            generation.alignment_heads = [[layer, head] for layer in range(layers // 2, layers)
                                          for head in range(heads)]
        if getattr(generation, "no_timestamps_token_id", None) is None:
            raise EngineError(f"The checkpoint in {folder} has no Whisper generation config "
                              "(no_timestamps_token_id missing), so it cannot give timings.")
        return cls(model, processor, num_beams=num_beams,
                   max_new_tokens=int(max_new_tokens) if max_new_tokens is not None else None,
                   snap_words=bool(options.get("snap_words", True)),
                   skip_silent=bool(options.get("skip_silent", True)))

    @property
    def sample_rate(self) -> int:
        return int(self.processor.feature_extractor.sampling_rate)

    @property
    def languages(self) -> list[str]:
        """ISO codes this checkpoint can be told to transcribe in."""
        generation = self.model.generation_config
        if not getattr(generation, "is_multilingual", False):
            return ["en"]
        return [token[2:-2] for token in getattr(generation, "lang_to_id", {})]

    def __call__(self, audio: Audio, *, language: str | None = None) -> Transcript:
        """Transcribe `audio` (any rate; resampled to 16 kHz); `language` is an ISO code or None to detect."""
        import torch

        if not isinstance(audio, Audio):
            raise ValueError(f"audio must be an Audio value, got {type(audio).__name__}.")
        if audio.num_samples == 0:
            raise ValueError("audio is empty (0 samples); give at least a fraction of a second of speech.")
        if language is not None:
            language = language.strip().lower()
            if language not in self.languages:
                known = self.languages
                raise ValueError(f"language={language!r} is not one this Whisper checkpoint knows; use None to "
                                 f"detect it or one of {', '.join(known[:12])}{', ...' if len(known) > 12 else ''}.")
        samples = resample(audio, self.sample_rate).samples
        regions = speech_regions(samples, self.sample_rate) if (self.snap_words or self.skip_silent) else None
        if self.skip_silent and regions == []:
            return Transcript(text="", words=(), language=language)  # Whisper would invent words here
        long_form = samples.size > _WINDOW_SECONDS * self.sample_rate
        features = self.processor.feature_extractor(
            samples, sampling_rate=self.sample_rate, return_tensors="pt", return_attention_mask=True,
            **({"truncation": False, "padding": "longest"} if long_form else {}),
        )
        generate_kwargs: dict[str, Any] = {
            "attention_mask": features.attention_mask.to(self.model.device),
            "return_timestamps": True,  # segments (and long-form seeking) come from timestamp tokens
            "return_token_timestamps": True,
            "return_segments": True,
            "num_beams": self.num_beams,
        }
        if self.max_new_tokens is not None:
            generate_kwargs["max_new_tokens"] = self.max_new_tokens
        if getattr(self.model.generation_config, "is_multilingual", False):
            generate_kwargs.update(task="transcribe", language=language)
        inputs = features.input_features.to(self.model.device, self.model.dtype)
        with torch.inference_mode():
            output = self.model.generate(inputs, **generate_kwargs)
        return self._transcript(output["segments"][0], language, audio.duration,
                                regions if self.snap_words else None)

    # -------------------------------------------------------------------------------------- decoding

    def _transcript(self, segments: list[dict], language: str | None, duration: float,
                    regions: list[tuple[float, float]] | None = None) -> Transcript:
        """Turn generate()'s segments into text, detected language and word timings.

        Each segment carries the whole window's output (`result`: sequence, per-step scores and
        window-relative token timestamps) and its own slice of it (`idxs`). transformers gives each
        token the DTW time at which the *next* token begins (the cross-attention row of an input
        token is where the model looks to predict the following one), so a token spans from the
        previous token's time to its own: checked against faster-whisper on the same Whisper base
        weights, where reading it the other way put every word one token late.
        """
        import torch

        tokenizer = self.processor.tokenizer
        generation = self.model.generation_config
        first_special = int(generation.eos_token_id if isinstance(generation.eos_token_id, int)
                            else generation.eos_token_id[0])  # every id from <|endoftext|> on is not text
        id_to_language = {v: k[2:-2] for k, v in getattr(generation, "lang_to_id", {}).items()}
        detected = language
        text_ids: list[int] = []
        pieces: list[tuple[int, float, float, float]] = []  # (token id, start, end, probability)
        for segment in segments:
            result = segment["result"]
            sequence = result["sequences"].tolist()
            window_times = result["token_timestamps"].float().cpu()
            scores = result.get("scores") or ()
            prompt_length = len(sequence) - len(scores)
            if detected is None:
                detected = next((id_to_language[t] for t in sequence[:prompt_length] if t in id_to_language), None)
            first, stop = segment["idxs"]
            if stop <= first:
                continue
            offset = float(segment["token_timestamps"][0]) - float(window_times[first])
            for k in range(first, stop):
                token = sequence[k]
                if token >= first_special:
                    continue
                start = float(window_times[k - 1]) + offset if k > 0 else offset
                end = float(window_times[k]) + offset
                step = k - prompt_length
                probability = 1.0
                if 0 <= step < len(scores):
                    text_logits = scores[step][..., :first_special].float().reshape(-1)
                    probability = float(torch.softmax(text_logits, dim=-1)[token])
                    if not np.isfinite(probability):
                        probability = 0.0
                text_ids.append(token)
                pieces.append((token, start, end, probability))
        text = tokenizer.decode(text_ids, skip_special_tokens=True).strip()
        words = self._group_words(pieces, detected)
        if regions:
            words = snap_to_speech(words, regions)
        return Transcript(text=text, words=tidy_words(words, duration), language=detected)

    def _group_words(self, pieces: list[tuple[int, float, float, float]], language: str | None) -> list[Word]:
        """Byte-level BPE tokens -> words: a token starting with a space opens a word; for languages
        written without spaces every token run that decodes to whole characters is a word.
        Trailing punctuation has no leading space, so it stays on its word, as editors expect."""
        tokenizer = self.processor.tokenizer
        unspaced = language in _UNSPACED
        words: list[Word] = []
        current: list[tuple[int, float, float, float]] = []

        def close() -> None:
            if current:
                text = tokenizer.decode([p[0] for p in current], skip_special_tokens=True)
                confidence = float(np.mean([p[3] for p in current]))
                words.append(Word(text=text, start=current[0][1], end=current[-1][2], confidence=confidence))
                current.clear()

        for piece in pieces:
            token_text = tokenizer.convert_ids_to_tokens(piece[0])
            if current:
                complete = "\ufffd" not in tokenizer.decode([p[0] for p in current])
                if (unspaced and complete) or (not unspaced and token_text.startswith(_SPACE_MARK) and complete):
                    close()
            current.append(piece)
        close()
        return words
