"""SpeechT5 text to speech: a small encoder-decoder that speaks in the voice of a 512-d x-vector.

Not a clip cloner: the voice is whatever a speaker-verification x-vector says it is, so it imitates
timbre only roughly, but it is small (~150M parameters + a 13M-parameter HiFi-GAN), fast on a CPU and
licensed MIT. The helpers at the bottom are shared with `pipelines.convert.speecht5`.
"""
from __future__ import annotations

import importlib.util
import re
import unicodedata
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..audio import Audio
from ..base import EngineError, VoicePrompt, seeded_rng
from ..loading import float32_part, load_model, load_part, pick_device, reject_unknown, require_folder, torch_dtype
from . import SpeakPipeline

EMBEDDING_KEY = "wavlm-base-plus-sv"  # id of the WavLM x-vector encoder in VoicePrompt.embeddings
SAMPLE_RATE = 16_000  # SpeechT5 mels and its HiFi-GAN are 16 kHz
_SPIECE_SPACE = "\u2581"


class SpeechT5Speak(SpeakPipeline):
    """SpeechT5ForTextToSpeech (microsoft/speecht5_tts) + SpeechT5HifiGan (microsoft/speecht5_hifigan).

    Components: a character tokenizer (`spm_char.model`), the text-to-mel transformer conditioned on a
    512-d speaker x-vector, and the HiFi-GAN vocoder from mels to 16 kHz audio.
    Licence: code Apache-2.0 (transformers), weights of both checkpoints MIT. English only.
    The voice comes from `voice.embeddings["wavlm-base-plus-sv"]` (the WavLM x-vector), or from the
    optional `speaker_encoder` run on the voice's clips when that embedding is missing.
    """

    clones: ClassVar[bool] = True
    call_options: ClassVar[tuple[str, ...]] = ("threshold",)

    def __init__(self, model: Any, vocoder: Any, tokenizer: "CharTokenizer | Any", *, device: str = "cpu",
                 speaker_encoder: Any = None, normalize_numbers: bool = True) -> None:
        self.model = model
        self.vocoder = vocoder
        self.tokenizer = tokenizer
        self.device = device
        self.speaker_encoder = speaker_encoder
        self.normalize_numbers = normalize_numbers
        self.max_chars = self.max_text_tokens  # one character, one token

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None, *, vocoder_path: str | Path | None = None,
                        device: str = "cpu", dtype: str | None = None, speaker_encoder: Any = None,
                        normalize_numbers: bool = True, **options: Any) -> "SpeechT5Speak":
        """`model_path`: the microsoft/speecht5_tts folder; `vocoder_path`: the microsoft/speecht5_hifigan
        folder (a separate Hub repo the manager resolves). `speaker_encoder`: an optional SpeakerEncoder
        with 512-d output used when a voice has no stored x-vector. `normalize_numbers`: spell digits out
        in English words, since the character vocabulary was trained on words."""
        reject_unknown("SpeechT5Speak.from_pretrained", options)
        from transformers import SpeechT5ForTextToSpeech

        folder = require_folder(model_path, "microsoft/speecht5_tts")
        device = pick_device(device)
        precision = torch_dtype(device, dtype)
        model = load_model(SpeechT5ForTextToSpeech, folder, device=device, dtype=precision)
        vocoder = load_vocoder(vocoder_path, device)
        tokenizer = load_char_tokenizer(folder)
        check_speaker_encoder(speaker_encoder, model.config.speaker_embedding_dim)
        return cls(model, vocoder, tokenizer, device=device, speaker_encoder=speaker_encoder,
                   normalize_numbers=normalize_numbers)

    @property
    def sample_rate(self) -> int:
        return int(getattr(self.vocoder.config, "sampling_rate", SAMPLE_RATE))

    @property
    def max_text_tokens(self) -> int:
        """Characters (plus end-of-sentence) the text encoder's position table covers."""
        return int(self.model.config.max_text_positions) - 1

    def __call__(self, text: str, *, voice: VoicePrompt | None = None, seed: int | None = None,
                 threshold: float = 0.5, **options: Any) -> Audio:
        """Speak `text` in `voice`'s x-vector. `threshold`: stop-token probability that ends the utterance
        (lower ends sooner). The decoder prenet keeps dropout on at inference (SpeechT5 needs it for
        natural prosody), so randomness is seeded: the same seed gives the same audio."""
        import torch

        reject_unknown("SpeechT5 speak", options)
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold={threshold!r} must be a probability strictly between 0 and 1.")
        ids = self._encode(text)
        speaker = speaker_embedding(voice, self.model.config.speaker_embedding_dim, self.speaker_encoder)
        input_ids = torch.tensor([ids], dtype=torch.long, device=self.device)
        speaker_t = torch.from_numpy(speaker)[None].to(self.device, self.model.dtype)
        # Never let the decoder run past its position table: steps * reduction_factor stays under it.
        max_ratio = (self.model.config.max_speech_positions - 1) * self.model.config.reduction_factor / len(ids)
        with seeded_rng(seed, self.device), torch.inference_mode():
            mels = self.model.generate_speech(
                input_ids, speaker_embeddings=speaker_t, threshold=threshold, maxlenratio=min(20.0, max_ratio),
            )
            waveform = vocode(self.vocoder, mels)
        return to_audio(waveform, self.sample_rate, "SpeechT5")

    def _encode(self, text: str) -> list[int]:
        if not isinstance(text, str):
            raise ValueError(f"text must be a string, got {type(text).__name__}.")
        if not text.strip():
            raise ValueError("text is empty: give at least one word to speak.")
        if self.normalize_numbers:
            text = _number_normalizer()(text)
        ids = self.tokenizer.encode(text)
        if len(ids) > self.max_text_tokens:
            raise ValueError(
                f"text is too long for SpeechT5: {len(ids)} characters, at most {self.max_text_tokens}. "
                "Split it into sentences and speak them one at a time."
            )
        return ids


# ------------------------------------------------------------------------------- shared with convert


def load_vocoder(vocoder_path: str | Path | None, device: str) -> Any:
    """The HiFi-GAN that turns SpeechT5's 80-bin log-mels into 16 kHz audio, in float32 whatever the model's
    precision (a half-precision vocoder is audibly worse)."""
    from transformers import SpeechT5HifiGan

    folder = require_folder(vocoder_path, "microsoft/speecht5_hifigan", "vocoder_path")
    return float32_part(SpeechT5HifiGan, folder, device=device)


def vocode(vocoder: Any, mels: Any) -> Any:
    """The vocoder run on the model's mels, cast to the vocoder's own precision."""
    return vocoder(mels.to(vocoder.dtype))


def check_speaker_encoder(encoder: Any, dim: int) -> None:
    """Refuse a speaker encoder whose vectors are not the x-vectors SpeechT5 conditions on."""
    if encoder is not None and getattr(encoder, "dim", dim) != dim:
        raise ValueError(f"speaker_encoder gives {encoder.dim}-d embeddings; SpeechT5 needs {dim}-d x-vectors "
                         f"({EMBEDDING_KEY}).")


def speaker_embedding(voice: VoicePrompt | None, dim: int, speaker_encoder: Any = None) -> np.ndarray:
    """The unit-length x-vector SpeechT5 conditions on (it was trained on L2-normalised x-vectors).

    Taken from `voice.embeddings[EMBEDDING_KEY]`; failing that, computed with `speaker_encoder` from the
    voice's clips (mean of the per-clip unit vectors, so long and short clips weigh the same).
    """
    if voice is None:
        raise ValueError(f"voice is required: SpeechT5 speaks in the voice of a {dim}-d '{EMBEDDING_KEY}' "
                         "speaker embedding.")
    vector = voice.embeddings.get(EMBEDDING_KEY)
    if vector is None and speaker_encoder is not None and voice.clips:
        vectors = [np.asarray(speaker_encoder(clip), dtype=np.float64).reshape(-1) for clip in voice.clips]
        vector = np.mean([v / max(float(np.linalg.norm(v)), 1e-12) for v in vectors], axis=0)
    if vector is None:
        have = ", ".join(sorted(voice.embeddings)) or "none"
        raise ValueError(
            f"This voice needs a '{EMBEDDING_KEY}' speaker embedding first (the WavLM x-vector SpeechT5 "
            f"conditions on); embeddings present: {have}. Compute it with the {EMBEDDING_KEY} speaker encoder."
        )
    vector = np.asarray(vector, dtype=np.float64).reshape(-1)
    if vector.size != dim:
        raise ValueError(f"voice embedding '{EMBEDDING_KEY}' has {vector.size} values; SpeechT5 needs {dim}.")
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm == 0.0:
        raise ValueError(f"voice embedding '{EMBEDDING_KEY}' is all zeros or not finite; recompute it.")
    return (vector / norm).astype(np.float32)


def to_audio(waveform: Any, sample_rate: int, engine: str) -> Audio:
    samples = waveform.detach().float().cpu().numpy().reshape(-1)
    if samples.size == 0 or not np.all(np.isfinite(samples)):
        raise EngineError(f"{engine} produced no usable audio (empty or not finite); try another seed.")
    return Audio(samples, sample_rate)


# ---------------------------------------------------------------------------------------- tokenizer


class CharTokenizer:
    """Encodes text with SpeechT5's character-level SentencePiece model (`spm_char.model`) without the
    `sentencepiece` package: the file is a protobuf, and a CHAR model maps one character to one piece,
    so normalise, mark spaces with U+2581 and look each character up. The end-of-sentence id is
    appended, as SpeechT5Tokenizer does.

    A model with a normalisation table (SentencePiece's default nmt_nfkc) gets NFKC with whitespace and
    control characters folded to spaces, an approximation of that table; one without gets none, as
    SentencePiece itself would do."""

    def __init__(self, pieces: dict[str, int], *, unk_id: int, eos_id: int, nfkc: bool = True,
                 add_dummy_prefix: bool = True, remove_extra_whitespaces: bool = True,
                 escape_whitespaces: bool = True) -> None:
        self.pieces = pieces
        self.unk_id = unk_id
        self.eos_id = eos_id
        self.nfkc = nfkc
        self.add_dummy_prefix = add_dummy_prefix
        self.remove_extra_whitespaces = remove_extra_whitespaces
        self.escape_whitespaces = escape_whitespaces

    @classmethod
    def from_file(cls, path: Path) -> "CharTokenizer":
        try:
            from transformers.convert_slow_tokenizer import import_protobuf

            proto = import_protobuf().ModelProto()
            proto.ParseFromString(path.read_bytes())
        except Exception as exc:  # ImportError without protobuf, DecodeError on a corrupt file
            raise EngineError(f"cannot read the SpeechT5 tokenizer {path.name}: {exc}. "
                              "pip install sentencepiece (or protobuf) to read it.") from exc
        if proto.trainer_spec.model_type != 4:  # CHAR
            raise EngineError(f"{path.name} is not a character-level SentencePiece model; pip install sentencepiece.")
        pieces = {p.piece: i for i, p in enumerate(proto.pieces)}
        unk = next((i for i, p in enumerate(proto.pieces) if p.type == 2), pieces.get("<unk>", 3))
        norm = proto.normalizer_spec
        return cls(pieces, unk_id=unk, eos_id=pieces.get("</s>", 2), nfkc=bool(norm.precompiled_charsmap),
                   add_dummy_prefix=norm.add_dummy_prefix,
                   remove_extra_whitespaces=norm.remove_extra_whitespaces,
                   escape_whitespaces=norm.escape_whitespaces)

    def encode(self, text: str) -> list[int]:
        if self.nfkc:
            text = unicodedata.normalize("NFKC", text)
            text = "".join(" " if ch.isspace() else ch for ch in text
                           if ch.isspace() or unicodedata.category(ch) != "Cc")
        if self.remove_extra_whitespaces:
            text = re.sub(" +", " ", text).strip(" ")
        if self.add_dummy_prefix:
            text = " " + text
        if self.escape_whitespaces:
            text = text.replace(" ", _SPIECE_SPACE)
        return [self.pieces.get(ch, self.unk_id) for ch in text] + [self.eos_id]


class _SentencePieceTokenizer:
    """SpeechT5Tokenizer when `sentencepiece` is installed: the reference implementation."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, normalize=False)["input_ids"])


def load_char_tokenizer(folder: Path) -> CharTokenizer | _SentencePieceTokenizer:
    vocab = folder / "spm_char.model"
    if not vocab.is_file():
        raise EngineError(f"{folder} has no spm_char.model; it is not a SpeechT5 text-to-speech checkpoint.")
    if importlib.util.find_spec("sentencepiece") is not None:
        from transformers import SpeechT5Tokenizer

        return _SentencePieceTokenizer(load_part(SpeechT5Tokenizer, folder))
    return CharTokenizer.from_file(vocab)


_NORMALIZER: Any = None


def _number_normalizer() -> Any:
    global _NORMALIZER
    if _NORMALIZER is None:
        from transformers.models.speecht5.number_normalizer import EnglishNumberNormalizer

        _NORMALIZER = EnglishNumberNormalizer()
    return _NORMALIZER
