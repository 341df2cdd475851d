"""Audio in and out of Retake: `load` turns whatever a user hands over (a path, file bytes, a `(rate, array)`
pair) into validated mono `Audio`, and `encode` turns it back into files (players in the browser get theirs
from `studio.ui.playback`). Format quirks (bit depths, channel layouts, containers, codecs) are dealt with here, once; what
libsndfile cannot read or write goes through the ffmpeg command line.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
import soundfile as sf

from .ops import resample
from .value import SILENCE_DBFS, Audio, AudioError, is_silent, peak_dbfs

__all__ = ["AudioSource", "DEFAULT_MAX_SECONDS", "SUPPORTED_INPUT", "SUPPORTED_OUTPUT", "FFMPEG_TIMEOUT_S", "load",
           "encode", "encode_with_ffmpeg"]

DEFAULT_MAX_SECONDS = 600.0
SUPPORTED_INPUT = ("wav", "flac", "ogg", "mp3", "m4a", "webm", "opus")
SUPPORTED_OUTPUT = ("wav", "flac", "mp3", "ogg")
FFMPEG_TIMEOUT_S = 300.0

_SOUNDFILE_OUTPUT = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_24"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "ogg": ("OGG", "VORBIS"),
}
# formats ffmpeg makes (mp3/ogg where this libsndfile cannot; Ogg Opus and ADTS AAC for the speech API only)
_FFMPEG_OUTPUT = {"mp3": ("-c:a", "libmp3lame", "-q:a", "2", "-f", "mp3"),
                  "ogg": ("-c:a", "libvorbis", "-q:a", "5", "-f", "ogg"),
                  "opus": ("-c:a", "libopus", "-b:a", "64k", "-f", "ogg"),
                  "aac": ("-c:a", "aac", "-b:a", "96k", "-f", "adts")}
_MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)

# Everything load() accepts: a path, encoded file bytes, Gradio's (rate, array) or an Audio.
AudioSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, tuple[int, np.ndarray], Audio]


# --------------------------------------------------------------------------------------------- loading


def load(
    source: AudioSource,
    *,
    max_seconds: float | None = DEFAULT_MAX_SECONDS,
    allow_silent: bool = False,
) -> Audio:
    """Turn anything a user or Gradio hands us into validated mono `Audio`.

    Accepts a file path, encoded file bytes, a Gradio `(rate, array)` tuple or an `Audio`.
    Raises `AudioError` for input that cannot be used, so the UI can show why.
    """
    audio = _decode(source, max_seconds)
    name = _describe(source)
    if audio.num_samples == 0:
        raise AudioError(f"{name} is empty: it contains no audio samples.")
    _check_duration(audio.duration, name, max_seconds)
    if not allow_silent and is_silent(audio):
        raise AudioError(
            f"{name} is silent (peak {peak_dbfs(audio):.0f} dBFS, below {SILENCE_DBFS:.0f} dBFS). "
            "Check that the microphone is connected and not muted."
        )
    return audio


def _decode(source: AudioSource, max_seconds: float | None) -> Audio:
    """Dispatch on the kind of source; every branch returns mono float32."""
    if isinstance(source, Audio):
        return source
    if isinstance(source, tuple):
        return _from_pair(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _decode_bytes(bytes(source), max_seconds)
    if isinstance(source, (str, os.PathLike)):
        return _decode_path(Path(source), max_seconds)
    raise AudioError(f"Cannot read audio from a {type(source).__name__}; give a file path, file bytes or (rate, array).")


def _describe(source: AudioSource) -> str:
    """How to name the input in an error message."""
    if isinstance(source, (str, os.PathLike)):
        return f"The file '{Path(source).name}'"
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "The uploaded audio"
    return "The audio"


def _check_duration(seconds: float, name: str, max_seconds: float | None, *, at_least: bool = False) -> None:
    """Reject over-long input; `at_least` when decoding stopped early, so the true length is unknown."""
    if max_seconds is not None and seconds > max_seconds:
        length = f"at least {seconds:.1f} s" if at_least else f"{seconds:.1f} s"
        raise AudioError(f"{name} is longer than the {max_seconds:g} s limit ({length}); trim it or split it.")


def _from_pair(value: tuple) -> Audio:
    """A `(rate, array)` pair as numpy audio code hands it over (scipy, soundfile, browser players): integer
    PCM of any width or float, shaped (n,) or (n, channels)."""
    if len(value) != 2:
        raise AudioError("Expected audio as a (sample_rate, samples) pair.")
    rate, data = value
    data = np.asarray(data)
    if data.ndim == 2 and data.shape[0] < data.shape[1] and data.shape[0] <= 8:
        data = data.T  # (channels, n) as torch/librosa lay it out
    if data.ndim not in (1, 2):
        raise AudioError(f"Audio array must be (samples,) or (samples, channels), got shape {data.shape}.")
    return Audio(_downmix(_to_float(data)), rate)


def _to_float(data: np.ndarray) -> np.ndarray:
    """Scale PCM integers to [-1, 1): signed by 2**(bits-1); unsigned (8-bit WAV style) around its midpoint."""
    if np.issubdtype(data.dtype, np.floating):
        return data.astype(np.float32, copy=False)
    if np.issubdtype(data.dtype, np.signedinteger):
        return (data.astype(np.float64) / -float(np.iinfo(data.dtype).min)).astype(np.float32)
    if np.issubdtype(data.dtype, np.unsignedinteger):
        half = float(np.iinfo(data.dtype).max // 2 + 1)
        return ((data.astype(np.float64) - half) / half).astype(np.float32)
    raise AudioError(f"Unsupported audio sample type {data.dtype}; use integer PCM or float samples.")


def _downmix(data: np.ndarray) -> np.ndarray:
    """Average the channels: keeps the level of correlated (centred) speech and never clips."""
    if data.ndim == 1:
        return data
    if data.shape[1] == 1:
        return data[:, 0]
    return data.mean(axis=1, dtype=np.float32)


def _decode_path(path: Path, max_seconds: float | None) -> Audio:
    name = f"The file '{path.name}'"
    if not path.exists():
        raise AudioError(f"Audio file not found: {path}")
    if not path.is_file():
        raise AudioError(f"{name} is not a regular file.")
    if path.stat().st_size == 0:
        raise AudioError(f"{name} is empty (0 bytes).")
    audio = _read_soundfile(path, name, max_seconds)
    return audio if audio is not None else _read_ffmpeg(path, name, max_seconds)


def _decode_bytes(data: bytes, max_seconds: float | None) -> Audio:
    name = "The uploaded audio"
    if not data:
        raise AudioError(f"{name} is empty (0 bytes).")
    audio = _read_soundfile(io.BytesIO(data), name, max_seconds)
    if audio is not None:
        return audio
    # ffmpeg needs a seekable input for mp4/m4a (index at the end); a private temp dir is removed on exit.
    with tempfile.TemporaryDirectory(prefix="retake-audio-") as tmp:
        path = Path(tmp) / "input"
        path.write_bytes(data)
        return _read_ffmpeg(path, name, max_seconds)


def _read_soundfile(source: Path | BinaryIO, name: str, max_seconds: float | None) -> Audio | None:
    """Fast in-process decode; None when libsndfile cannot read it so ffmpeg gets a turn."""
    try:
        with sf.SoundFile(source) as f:
            if f.samplerate > 0:
                _check_duration(f.frames / f.samplerate, name, max_seconds)  # before decoding anything
            data = f.read(dtype="float32", always_2d=True)
            rate = f.samplerate
    except (sf.SoundFileError, RuntimeError):
        return None
    return Audio(_downmix(data), rate)


# ---------------------------------------------------------------------------------------------- ffmpeg


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise AudioError(f"This audio format needs {name}, which is not installed.")
    return exe


def _run(cmd: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(cmd, input=stdin, capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise AudioError(f"Audio conversion took longer than {FFMPEG_TIMEOUT_S:g} s and was stopped.") from exc


def _unreadable(name: str) -> AudioError:
    kinds = ", ".join(SUPPORTED_INPUT)
    return AudioError(f"{name} could not be read as audio: it is corrupt or not an audio file (supported: {kinds}).")


def _probe(path: Path, name: str) -> tuple[int, int, float | None]:
    """Native rate, channel count and (if the container knows it) duration of the first audio stream."""
    cmd = [
        _tool("ffprobe"), "-v", "error", "-select_streams", "a:0",
        "-show_entries", "stream=sample_rate,channels,duration:format=duration", "-of", "json", f"file:{path}",
    ]
    proc = _run(cmd)
    try:
        info = json.loads(proc.stdout or b"{}")
        stream = info["streams"][0]
        rate, channels = int(stream["sample_rate"]), int(stream["channels"])
    except (ValueError, KeyError, IndexError, TypeError):
        raise _unreadable(name) from None
    if proc.returncode != 0 or rate <= 0 or channels <= 0:
        raise _unreadable(name)
    duration = stream.get("duration") or info.get("format", {}).get("duration")
    try:
        return rate, channels, float(duration) if duration not in (None, "N/A") else None
    except ValueError:
        return rate, channels, None


def _read_ffmpeg(path: Path, name: str, max_seconds: float | None) -> Audio:
    """Decode what libsndfile cannot (m4a, webm/opus, odd mp3s) at the native rate, as raw float32."""
    rate, channels, duration = _probe(path, name)
    if duration is not None:
        _check_duration(duration, name, max_seconds)
    cmd = [_tool("ffmpeg"), "-nostdin", "-v", "error", "-i", f"file:{path}", "-map", "0:a:0", "-vn",
           "-f", "f32le", "-ac", str(channels), "-ar", str(rate)]
    if max_seconds is not None:
        cmd += ["-t", f"{max_seconds + 1:g}"]  # streams without a duration (browser webm): cap memory, then reject
    proc = _run(cmd + ["pipe:1"])
    if proc.returncode != 0:
        raise _unreadable(name)
    usable = len(proc.stdout) // (4 * channels) * 4 * channels
    data = np.frombuffer(proc.stdout[:usable], dtype="<f4").reshape(-1, channels)
    _check_duration(data.shape[0] / rate, name, max_seconds, at_least=duration is None)
    return Audio(_downmix(data), rate)


# ------------------------------------------------------------------------------------------- encoding


def encode(audio: Audio, fmt: str = "wav") -> bytes:
    """Encode to file bytes for download or storage: wav (16-bit), flac (24-bit), mp3 or ogg (Vorbis).

    Samples are clipped to [-1, 1] first: PCM formats clip anyway, but lossy codecs would carry the
    overs into the file and distort on playback.
    mp3/ogg go through ffmpeg when this libsndfile build cannot write them.
    """
    fmt = fmt.lower().lstrip(".")
    if fmt not in _SOUNDFILE_OUTPUT:
        raise AudioError(f"Cannot encode to '{fmt}'; choose one of: {', '.join(SUPPORTED_OUTPUT)}.")
    if fmt == "mp3" and audio.sample_rate not in _MP3_RATES:
        audio = resample(audio, _mp3_rate(audio.sample_rate))
    samples = np.clip(audio.samples, -1.0, 1.0)
    container, subtype = _SOUNDFILE_OUTPUT[fmt]
    buffer = io.BytesIO()
    try:
        sf.write(buffer, samples, audio.sample_rate, format=container, subtype=subtype)
    except (sf.SoundFileError, RuntimeError, ValueError, TypeError):
        if fmt not in _FFMPEG_OUTPUT:
            raise
        return encode_with_ffmpeg(samples, audio.sample_rate, fmt)
    return buffer.getvalue()


def _mp3_rate(rate: int) -> int:
    """The nearest rate MPEG audio can carry, preferring not to lose bandwidth."""
    higher = [r for r in _MP3_RATES if r >= rate]
    return higher[0] if higher else _MP3_RATES[-1]


def encode_with_ffmpeg(samples: np.ndarray, rate: int, fmt: str) -> bytes:
    """Encode via the ffmpeg CLI (mp3, ogg, opus or aac) into a private temp dir: a seekable output lets
    ffmpeg finish the mp3 Xing/LAME header (frame count, encoder delay), which decoders need to get the
    length right. AudioError when ffmpeg is missing or fails."""
    if fmt not in _FFMPEG_OUTPUT:
        raise AudioError(f"ffmpeg does not make '{fmt}' here; choose one of: {', '.join(_FFMPEG_OUTPUT)}.")
    with tempfile.TemporaryDirectory(prefix="retake-audio-") as tmp:
        out = Path(tmp) / f"out.{fmt}"
        cmd = [_tool("ffmpeg"), "-nostdin", "-v", "error", "-f", "f32le", "-ar", str(rate), "-ac", "1",
               "-i", "pipe:0", *_FFMPEG_OUTPUT[fmt], f"file:{out}"]
        proc = _run(cmd, stdin=np.clip(samples, -1.0, 1.0).astype("<f4").tobytes())
        if proc.returncode != 0:
            raise AudioError(f"Encoding to {fmt} failed: {proc.stderr.decode(errors='replace').strip()[:200]}")
        return out.read_bytes()
