"""An imperceptible watermark on every synthetic take, so a file that leaves the studio can still be told apart
from a real recording (issue #16).

PerthNet (resemble-perth 1.0.1, MIT; its wheel carries the trained weights, so it works offline) writes a
mark into the magnitude spectrogram below 2 kHz, shaped by a psychoacoustic loss so it stays under the
masking threshold, and a decoder reads it back from the audio alone (no key or side data). Measured on the 52
clips of the shared speech set (bench/watermark.py, 410 s, 8-48 kHz): every marked clip is found, also after an
MP3 round trip (confidence >= 0.92) and the resampling to and from the model's 32 kHz; no unmarked clip is
(<= 0.26); marking costs ~0.085 s per second of audio on the CPU and moves the gate's Whisper WER by 0 on clean
speech and Resemblyzer similarity by -0.011 on average (worst 0.025). Not measured: heavy added noise, time
stretching, or a denoiser run over a marked take (Enhance), which may weaken the mark.

Two undeclared imports of the package are dealt with here: `librosa` (ISC; already installed for resemblyzer)
is imported but never called, because audio is resampled with `pipelines.audio.resample` before it reaches
the model; `torchaudio` is only used for its STFT transforms, and PyPI's torchaudio is a CUDA build for an older
torch that does not load with the studio's CPU torch, so when it is missing a few lines of `torch.stft` stand
in for those transforms while the package is imported (and are removed again from `sys.modules` afterwards).
"""
from __future__ import annotations

import contextlib
import io
import sys
import threading
import types
import warnings
from typing import Any, Callable

import numpy as np
import torch

from pipelines import audio as au
from pipelines.audio import Audio

NAME = "perth"  # what a marked take's parameters say under "watermark"
# Detector output is the mean of PerthNet's per-frame watermark probabilities. Marked speech reads 0.93-1.0 (0.92-1.0
# after MP3), real recordings 0.0-0.26 (bench/watermark.py); 0.5 sits in the middle of that gap.
THRESHOLD = 0.5
MIN_SECONDS = 0.1  # below this the spectrogram has too few frames to carry or read a mark


class _Spectrogram(torch.nn.Module):
    """torchaudio.transforms.Spectrogram(power=None), the only way PerthNet calls it."""

    window: torch.Tensor

    def __init__(self, n_fft: int, win_length: int, hop_length: int, window_fn: Callable[..., torch.Tensor],
                 **_: Any) -> None:
        super().__init__()
        self.n_fft, self.win_length, self.hop_length = n_fft, win_length, hop_length
        self.register_buffer("window", window_fn(win_length))

    def forward(self, signal: torch.Tensor) -> torch.Tensor:
        return torch.stft(signal, self.n_fft, self.hop_length, self.win_length, self.window, center=True,
                          pad_mode="reflect", normalized=False, onesided=True, return_complex=True)


class _InverseSpectrogram(_Spectrogram):
    """torchaudio.transforms.InverseSpectrogram, as PerthNet calls it."""

    def forward(self, spec: torch.Tensor, length: int | None = None) -> torch.Tensor:  # type: ignore[override]
        return torch.istft(spec, self.n_fft, self.hop_length, self.win_length, self.window, center=True,
                           normalized=False, onesided=True, length=length)


class _TimeStretch(torch.nn.Module):
    """Built by PerthNet's audio processor but only used in training; its buffer is in the checkpoint."""

    def __init__(self, n_freq: int, hop_length: int, **_: Any) -> None:
        super().__init__()
        self.register_buffer("phase_advance", torch.linspace(0, torch.pi * hop_length, n_freq)[..., None])


def _import_perth() -> Any:
    """`perth.PerthImplicitWatermarker`, with stand-in STFT transforms when torchaudio cannot be imported."""
    try:
        import torchaudio.transforms  # noqa: F401
        shim = False
    except (ImportError, OSError):
        shim = True
    names = ("torchaudio", "torchaudio.transforms")
    saved: dict[str, types.ModuleType] = {k: sys.modules[k] for k in names if k in sys.modules}
    if shim:
        package = types.ModuleType("torchaudio")
        transforms = types.ModuleType("torchaudio.transforms")
        transforms.Spectrogram = _Spectrogram  # type: ignore[attr-defined]
        transforms.InverseSpectrogram = _InverseSpectrogram  # type: ignore[attr-defined]
        transforms.TimeStretch = _TimeStretch  # type: ignore[attr-defined]
        package.transforms = transforms  # type: ignore[attr-defined]
        sys.modules["torchaudio"], sys.modules["torchaudio.transforms"] = package, transforms
    # An earlier `import perth` without torchaudio leaves its model subpackage half-imported; start it afresh.
    if getattr(sys.modules.get("perth.perth_net"), "PerthImplicitWatermarker", None) is None:
        for name in [k for k in sys.modules if k.startswith("perth.perth_net")]:
            del sys.modules[name]
    try:
        from perth.perth_net import PerthImplicitWatermarker
    finally:
        if shim:
            for name in names:
                sys.modules.pop(name, None)
            sys.modules.update(saved)
    return PerthImplicitWatermarker


class Watermarker:
    """Marks and reads PerthNet watermarks; the model (~37 MB) loads on first use, once, on the CPU."""

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                # The package warns about pkg_resources and prints a line when it loads; neither is news here.
                with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                    warnings.simplefilter("ignore")
                    watermarker = _import_perth()(device="cpu")
                watermarker.perth_net.eval()
                self._model = watermarker
        return self._model

    @property
    def sample_rate(self) -> int:
        return int(self.model.perth_net.hp.sample_rate)

    def mark(self, audio: Audio) -> Audio:
        """`audio` with the watermark: same rate and length, mono float32. Audio too short to carry a mark, or
        silent, is returned unchanged."""
        if audio.duration < MIN_SECONDS or not np.any(audio.samples):
            return audio
        rate = self.sample_rate
        model = au.resample(audio, rate)
        with torch.inference_mode():
            marked = np.asarray(self.model.apply_watermark(model.samples, sample_rate=rate), dtype=np.float32)
        out = au.resample(Audio(marked, rate), audio.sample_rate).samples
        n = audio.num_samples
        out = out[:n] if out.size >= n else np.pad(out, (0, n - out.size))
        return Audio(np.clip(out, -1.0, 1.0), audio.sample_rate)

    def detect(self, audio: Audio) -> float:
        """Confidence 0..1 that `audio` carries the mark: the mean of the decoder's per-frame scores."""
        if audio.duration < MIN_SECONDS or not np.any(audio.samples):
            return 0.0
        rate = self.sample_rate
        model = au.resample(audio, rate)
        with torch.inference_mode():
            scores = self.model.get_watermark(model.samples, sample_rate=rate, round=False)
        return float(np.clip(np.mean(scores), 0.0, 1.0)) if np.size(scores) else 0.0

    def is_marked(self, audio: Audio) -> bool:
        return self.detect(audio) >= THRESHOLD


_shared: Watermarker | None = None
_shared_lock = threading.Lock()


def shared() -> Watermarker:
    """One Watermarker for the process: the model is small but loading it takes a second."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Watermarker()
        return _shared
