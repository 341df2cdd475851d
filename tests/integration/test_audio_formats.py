"""Real codec round trips through soundfile and the ffmpeg CLI (what browsers and users actually upload)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from pipelines import audio as A
from pipelines.audio import Audio, AudioError
from pipelines.audio.files import encode_with_ffmpeg
from pipelines.base import EngineError
from studio.openai_api import encode as speech_encode
from tests.conftest import speech_clip

FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is not installed")

CLIP = "coqui_lj_LJ001-0008"  # 22.05 kHz, 1.78 s
DURATION_TOLERANCE_S = 0.06  # codec priming/padding


@pytest.fixture(scope="module")
def original() -> Audio:
    return A.load(speech_clip(CLIP))


@pytest.fixture(scope="module")
def made_by_ffmpeg(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Files in the formats browsers and phones produce, made by the real ffmpeg CLI."""
    src = speech_clip(CLIP)
    out = tmp_path_factory.mktemp("ffmpeg")
    recipes = {
        "m4a": ["-c:a", "aac", "-b:a", "96k", str(out / "clip.m4a")],
        "webm": ["-c:a", "libopus", "-b:a", "48k", str(out / "clip.webm")],
        # MediaRecorder-style: streamed to a pipe, so the container carries no duration
        "webm-stream": ["-c:a", "libopus", "-f", "webm", "pipe:1"],
        "opus": ["-c:a", "libopus", str(out / "clip.opus")],
        "mp3-ffmpeg": ["-c:a", "libmp3lame", "-q:a", "4", str(out / "clip-ffmpeg.mp3")],
    }
    paths = {}
    for name, args in recipes.items():
        proc = subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-y", "-i", str(src), *args],
                              capture_output=True, check=True)
        if name == "webm-stream":
            (out / "stream.webm").write_bytes(proc.stdout)
            paths[name] = out / "stream.webm"
        else:
            paths[name] = Path(args[-1])
    return paths


def envelope(audio: Audio, rate: int = 16000, frame_s: float = 0.01) -> np.ndarray:
    samples = A.resample(audio, rate).samples.astype(np.float64)
    frame = int(rate * frame_s)
    count = samples.size // frame
    return np.sqrt(np.mean(samples[: count * frame].reshape(count, frame) ** 2, axis=1))


def similarity(a: Audio, b: Audio, max_lag_frames: int = 10) -> float:
    """Best envelope correlation over small lags (codecs add a few ms of delay)."""
    ea, eb = envelope(a), envelope(b)
    best = -1.0
    for lag in range(-max_lag_frames, max_lag_frames + 1):
        x, y = (ea[lag:], eb) if lag >= 0 else (ea, eb[-lag:])
        n = min(x.size, y.size)
        best = max(best, float(np.corrcoef(x[:n], y[:n])[0, 1]))
    return best


def assert_like(decoded: Audio, original: Audio, rate: int) -> None:
    assert decoded.sample_rate == rate
    assert abs(decoded.duration - original.duration) <= DURATION_TOLERANCE_S
    assert similarity(decoded, original) > 0.9


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "ogg"])
def test_encode_then_load_from_path_and_bytes(fmt: str, original: Audio, tmp_path: Path) -> None:
    data = A.encode(original, fmt)
    path = tmp_path / f"take.{fmt}"
    path.write_bytes(data)
    for source in (path, data):
        assert_like(A.load(source), original, original.sample_rate)


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_lossless_formats_keep_the_waveform(fmt: str, original: Audio) -> None:
    back = A.load(A.encode(original, fmt))
    assert back.num_samples == original.num_samples
    assert np.corrcoef(back.samples, original.samples)[0, 1] > 0.9999


@pytest.mark.parametrize(
    ("name", "rate"),
    [
        ("m4a", 22050),  # AAC keeps the source rate
        ("webm", 48000),  # Opus always decodes at 48 kHz in webm
        ("webm-stream", 48000),
        ("opus", 24000),  # Ogg Opus header records the encoder's input rate (22.05 kHz -> 24 kHz)
        ("mp3-ffmpeg", 22050),
    ],
)
def test_load_browser_and_phone_formats(name: str, rate: int, original: Audio, made_by_ffmpeg: dict[str, Path]) -> None:
    path = made_by_ffmpeg[name]
    assert_like(A.load(path), original, rate)
    assert_like(A.load(path.read_bytes()), original, rate)


def test_ffmpeg_fallback_leaves_no_temp_files(made_by_ffmpeg: dict[str, Path], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    A.load(made_by_ffmpeg["m4a"].read_bytes())
    with pytest.raises(AudioError):
        A.load(b"this is not audio at all" * 10)
    assert list(tmp_path.iterdir()) == []


def test_duration_limit_on_ffmpeg_formats(made_by_ffmpeg: dict[str, Path]) -> None:
    with pytest.raises(AudioError, match="longer than the 1 s limit"):
        A.load(made_by_ffmpeg["m4a"], max_seconds=1.0)  # known from the container
    with pytest.raises(AudioError, match="longer than the 1 s limit"):
        A.load(made_by_ffmpeg["webm-stream"].read_bytes(), max_seconds=1.0)  # no duration: caught after capped decode
    assert A.load(made_by_ffmpeg["webm-stream"], max_seconds=2.0).duration < 2.0


def test_stream_without_duration_is_decoded_only_up_to_the_limit() -> None:
    """A 20 s MediaRecorder-style stream must not be decoded whole just to be rejected."""
    proc = subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=300:duration=20",
                           "-c:a", "libopus", "-f", "webm", "pipe:1"], capture_output=True, check=True)
    with pytest.raises(AudioError, match=r"longer than the 2 s limit \(at least 3\.0 s\)"):
        A.load(proc.stdout, max_seconds=2.0)


def test_truncated_mp3_is_rejected(original: Audio, tmp_path: Path) -> None:
    head = A.encode(original, "mp3")[:300]
    path = tmp_path / "broken.mp3"
    path.write_bytes(head)
    with pytest.raises(AudioError, match="corrupt"):
        A.load(path)
    with pytest.raises(AudioError, match="corrupt"):
        A.load(head)


def test_mp3_with_garbage_frames_is_rejected(original: Audio) -> None:
    data = bytearray(A.encode(original, "mp3"))
    rng = np.random.default_rng(0)
    data[200:] = rng.integers(0, 256, len(data) - 200, dtype=np.uint8).tobytes()
    with pytest.raises(AudioError, match="corrupt"):
        A.load(bytes(data))


def test_text_file_renamed_wav_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("Remember to record the intro again tomorrow.\n" * 20)
    with pytest.raises(AudioError, match="'notes.wav' could not be read as audio"):
        A.load(path)


def test_without_ffmpeg_the_error_says_what_is_missing(made_by_ffmpeg: dict[str, Path],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(AudioError, match="needs ffprobe, which is not installed"):
        A.load(made_by_ffmpeg["webm"])


@pytest.mark.parametrize("fmt", ["mp3", "ogg"])
def test_ffmpeg_encoder_fallback(fmt: str, original: Audio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The path taken when libsndfile was built without mp3/vorbis writing."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    data = encode_with_ffmpeg(original.samples, original.sample_rate, fmt)
    assert_like(A.load(data), original, original.sample_rate)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["opus", "aac"])
def test_ffmpeg_makes_the_speech_apis_stream_formats(fmt: str, original: Audio) -> None:
    """Ogg Opus and ADTS AAC (the OpenAI-style endpoint's): ADTS carries no encoder delay, so the decoded audio
    is up to about two AAC frames (2 x 1024 samples) longer than what went in."""
    decoded = A.load(encode_with_ffmpeg(original.samples, original.sample_rate, fmt))
    assert 0.0 <= decoded.duration - original.duration <= 2 * 1024 / original.sample_rate + 0.01
    assert similarity(decoded, original) > 0.9


def test_ffmpeg_encoder_refuses_a_format_it_does_not_make(original: Audio) -> None:
    with pytest.raises(AudioError, match="does not make 'm4b'"):
        encode_with_ffmpeg(original.samples, original.sample_rate, "m4b")


def test_speech_api_without_ffmpeg_is_the_servers_state(original: Audio, monkeypatch: pytest.MonkeyPatch) -> None:
    """The OpenAI-style endpoint's opus and aac need ffmpeg: without it the refusal names it and the formats that
    work, as an EngineError (a 503, not the caller's mistake)."""
    monkeypatch.setenv("PATH", "")
    with pytest.raises(EngineError, match="needs ffmpeg, which is not installed. Ask for mp3, flac, wav or pcm"):
        speech_encode(original, "opus")
    assert A.load(speech_encode(original, "wav")).sample_rate == original.sample_rate
