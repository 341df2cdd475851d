"""Resemblyzer's GE2E speaker encoder, weights inside its PyPI package: the offline voice-similarity score."""
from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..audio import Audio, is_silent, resample
from ..base import EngineError
from ..loading import pick_device, reject_unknown
from . import SpeakerEncoder

ENGINE_ID = "resemblyzer"
_INSTALL = "pip install resemblyzer 'setuptools<81'"
_MIN_SECONDS = 0.5  # below this there is not enough voice for a stable GE2E d-vector
# GE2E front end (resemblyzer.hparams): 25 ms Hann windows every 10 ms, 40 mel bands, 16 kHz.
_N_FFT, _HOP, _N_MELS, _RATE = 400, 160, 40, 16000
_PARTIALS_PER_SECOND, _MIN_COVERAGE = 1.3, 0.75  # resemblyzer's defaults for embed_utterance


@functools.lru_cache(maxsize=1)
def _mel_filterbank() -> np.ndarray:
    """Slaney-style mel filters (area-normalised triangles on the Slaney mel scale), as librosa builds
    them by default; shape (40, 201)."""
    def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
        hz = np.asarray(hz, dtype=np.float64)
        linear = hz / (200.0 / 3)
        log = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
        return np.where(hz >= 1000.0, log, linear)

    def mel_to_hz(mel: np.ndarray) -> np.ndarray:
        linear = mel * (200.0 / 3)
        log = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
        return np.where(mel >= 15.0, log, linear)

    fft_freqs = np.linspace(0.0, _RATE / 2, 1 + _N_FFT // 2)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(_RATE / 2), _N_MELS + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


def mel_frames(samples: np.ndarray) -> np.ndarray:
    """Mel power spectrogram (frames, 40) exactly as resemblyzer computes it with librosa, in numpy.

    Why not call librosa: its first use JIT-compiles numba kernels, which took 40+ s on a cold
    2-core machine (and 3-9 s even with numba's cache warm) before the first embedding.
    """
    padded = np.pad(np.asarray(samples, dtype=np.float32), _N_FFT // 2)  # centred frames, zero padding
    count = 1 + (padded.size - _N_FFT) // _HOP
    frames = np.lib.stride_tricks.sliding_window_view(padded, _N_FFT)[::_HOP][:count]
    window = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(_N_FFT) / _N_FFT)).astype(np.float32)  # periodic Hann
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    return (power.astype(np.float32) @ _mel_filterbank().T).astype(np.float32)


def _import_resemblyzer():
    """Import quietly: webrtcvad (a resemblyzer dependency) imports pkg_resources and warns about it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import resemblyzer
    except ImportError as exc:
        raise EngineError(f"resemblyzer is not installed or cannot be imported ({exc}); run `{_INSTALL}`.") from exc
    return resemblyzer


class ResemblyzerSpeaker(SpeakerEncoder):
    """GE2E d-vector (Wan et al. 2018): 3-layer LSTM over 40-band mel frames, 256-d unit vector.

    Components: `resemblyzer.VoiceEncoder` (a torch module, 1.4 M parameters, weights `pretrained.pt`
    inside the package). Code and weights: Apache-2.0 (Resemble AI).
    The clip is level-normalised and long pauses are cut (webrtcvad) before embedding, as the model
    was trained; the embedding is the normalised mean over 1.6 s windows.
    Note the vectors are non-negative (ReLU output), so cosine similarity lies in [0, 1] and even
    different speakers score around 0.5-0.8: compare scores with each other, not with zero.
    """

    def __init__(self, encoder: Any, *, trim_pauses: bool = True) -> None:
        self.encoder = encoder
        self.trim_pauses = trim_pauses

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None = None, *, device: str = "cpu",
                        dtype: str | None = None, **options: Any) -> "ResemblyzerSpeaker":
        """Load the weights shipped in the package (model_path None) or a compatible `.pt` file.

        Options: trim_pauses (True; shorten silences with webrtcvad before embedding).
        float32 only: the model is tiny and fast on CPU, so `dtype` is ignored.
        """
        reject_unknown("ResemblyzerSpeaker", options, ("trim_pauses",))
        resemblyzer = _import_resemblyzer()
        weights = None
        if model_path is not None:
            weights = Path(model_path)
            if weights.is_dir():
                weights = weights / "pretrained.pt"
            if not weights.is_file():
                raise EngineError(f"No Resemblyzer weights at {weights}.")
        encoder = resemblyzer.VoiceEncoder(device=pick_device(device), verbose=False, weights_fpath=weights)
        encoder.eval()
        return cls(encoder, trim_pauses=bool(options.get("trim_pauses", True)))

    @property
    def sample_rate(self) -> int:
        return 16000

    @property
    def dim(self) -> int:
        return int(self.encoder.linear.out_features)

    def __call__(self, audio: Audio) -> np.ndarray:
        """A float32 unit vector of length 256 describing the voice in `audio` (any rate)."""
        if not isinstance(audio, Audio):
            raise ValueError(f"audio must be an Audio value, got {type(audio).__name__}.")
        if audio.duration < _MIN_SECONDS:
            raise ValueError(f"audio is too short for a speaker embedding ({audio.duration:.2f} s); "
                             f"give at least {_MIN_SECONDS} s of speech.")
        if is_silent(audio):
            raise ValueError("audio is silent; a speaker embedding needs someone speaking.")
        resemblyzer = _import_resemblyzer()
        samples = resample(audio, self.sample_rate).samples.astype(np.float32)
        samples = resemblyzer.normalize_volume(samples, -30, increase_only=True).astype(np.float32)
        samples = np.clip(samples, -1.0, 1.0)  # the VAD converts to int16, where an over would wrap around
        if self.trim_pauses:
            trimmed = resemblyzer.trim_long_silences(samples)
            if trimmed.size >= _MIN_SECONDS * self.sample_rate:  # webrtcvad found enough voice to keep
                samples = trimmed
        return self._embed(samples)

    def _embed(self, samples: np.ndarray) -> np.ndarray:
        """resemblyzer's embed_utterance with the numpy front end: d-vectors of overlapping 1.6 s
        windows (the clip zero-padded to cover the last one), averaged and normalised."""
        import torch

        wav_slices, mel_slices = self.encoder.compute_partial_slices(samples.size, _PARTIALS_PER_SECOND, _MIN_COVERAGE)
        needed = wav_slices[-1].stop
        if needed >= samples.size:
            samples = np.pad(samples, (0, needed - samples.size))
        mel = mel_frames(samples)
        batch = torch.from_numpy(np.stack([mel[s] for s in mel_slices])).to(self.encoder.device)
        with torch.inference_mode():
            partials = self.encoder(batch).float().cpu().numpy()
        embedding = partials.mean(axis=0)
        return (embedding / np.linalg.norm(embedding)).astype(np.float32)
