"""pipelines.audio on real speech clips and synthetic edge cases (no ffmpeg needed except where noted)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipelines import audio as A
from pipelines.audio import Audio, AudioError
from tests.conftest import speech_clip, speech_manifest

LJ = "coqui_lj_LJ001-0008"  # 22.05 kHz
IVR = "deb_asterisk_en_vm-prev"  # 8 kHz
ALSA = "deb_alsa_Front_Center"  # 48 kHz


def sine(freq: float = 440.0, seconds: float = 1.0, rate: int = 48000, amp: float = 0.5, phase: float = 0.0) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return (amp * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


def dominant_hz(audio: Audio) -> float:
    spectrum = np.abs(np.fft.rfft(audio.samples * np.hanning(audio.num_samples)))
    return float(np.fft.rfftfreq(audio.num_samples, 1 / audio.sample_rate)[np.argmax(spectrum)])


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


# ------------------------------------------------------------------------------------------- value type


def test_audio_coerces_float64_to_float32() -> None:
    audio = Audio(np.array([0.0, 0.5, -0.25]), 16000)
    assert audio.samples.dtype == np.float32
    assert audio.samples.tolist() == [0.0, 0.5, -0.25]
    assert audio.num_samples == 3
    assert audio.duration == pytest.approx(3 / 16000)


@pytest.mark.parametrize(
    ("samples", "rate", "word"),
    [
        (np.zeros((10, 2), np.float32), 16000, "mono"),
        (np.zeros(10, np.int16), 16000, "floating point"),
        (np.array([0.1, np.nan], np.float32), 16000, "NaN"),
        (np.array([0.1, np.inf], np.float32), 16000, "infinite"),
        (np.zeros(10, np.float32), 0, "positive"),
        (np.zeros(10, np.float32), 44.1, "whole number"),
    ],
)
def test_audio_rejects_invalid_values(samples: np.ndarray, rate: object, word: str) -> None:
    with pytest.raises(AudioError, match=word):
        Audio(samples, rate)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------- loading real


@pytest.mark.parametrize("clip_id", [LJ, IVR, ALSA])
def test_load_real_clip_matches_manifest_and_soundfile(clip_id: str) -> None:
    path = speech_clip(clip_id)
    row = speech_manifest()[clip_id]
    audio = A.load(path)
    expected, rate = sf.read(path, dtype="float32", always_2d=True)
    assert audio.sample_rate == int(row["sample_rate"]) == rate
    assert audio.duration == pytest.approx(float(row["seconds"]), abs=0.01)
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    np.testing.assert_allclose(audio.samples, expected.mean(axis=1), atol=1e-7)


def test_load_path_str_bytes_and_audio_agree() -> None:
    path = speech_clip(LJ)
    from_path = A.load(path)
    from_str = A.load(str(path))
    from_bytes = A.load(path.read_bytes())
    assert from_path.sample_rate == from_str.sample_rate == from_bytes.sample_rate == 22050
    np.testing.assert_array_equal(from_path.samples, from_str.samples)
    np.testing.assert_array_equal(from_path.samples, from_bytes.samples)
    assert A.load(from_path) is from_path


def test_load_ten_second_wav_needs_no_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """WAV is decoded in-process by libsndfile (fast: no subprocess); its speed is bench material, not a test's."""
    path = tmp_path / "ten.wav"
    sf.write(path, sine(seconds=10.0, rate=48000), 48000, subtype="PCM_16")
    monkeypatch.setenv("PATH", "")  # ffmpeg/ffprobe unreachable: wav must go through soundfile alone
    audio = A.load(path)
    assert audio.duration == pytest.approx(10.0)


# ------------------------------------------------------------------------------------ bit depths / files


@pytest.mark.parametrize(
    ("fmt", "subtype", "tolerance"),
    [
        ("WAV", "PCM_U8", 1 / 128),
        ("WAV", "PCM_16", 1 / 32768),
        ("WAV", "PCM_24", 1 / 2**23),
        ("WAV", "PCM_32", 1 / 2**31),
        ("WAV", "FLOAT", 1e-7),
        ("WAV", "DOUBLE", 1e-7),
        ("FLAC", "PCM_16", 1 / 32768),
        ("FLAC", "PCM_24", 1 / 2**23),
    ],
)
def test_load_every_bit_depth(tmp_path: Path, fmt: str, subtype: str, tolerance: float) -> None:
    original = sine(seconds=0.5, rate=16000, amp=0.5)
    path = tmp_path / f"tone.{fmt.lower()}"
    sf.write(path, original, 16000, format=fmt, subtype=subtype)
    audio = A.load(path)
    assert audio.sample_rate == 16000
    assert audio.num_samples == original.size
    assert np.max(np.abs(audio.samples - original)) <= tolerance * 1.01
    assert A.peak_dbfs(audio) == pytest.approx(20 * np.log10(0.5), abs=0.1)


def test_load_stereo_file_downmixes_by_averaging(tmp_path: Path) -> None:
    left, right = sine(440, 0.5, 16000, 0.6), sine(660, 0.5, 16000, 0.2)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    audio = A.load(path)
    np.testing.assert_allclose(audio.samples, (left + right) / 2, atol=1e-6)


# --------------------------------------------------------------------------------------- gradio tuples


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.array([16384, -16384, 0, -32768], np.int16), [0.5, -0.5, 0.0, -1.0]),
        (np.array([2**30, -(2**30), 0, -(2**31)], np.int32), [0.5, -0.5, 0.0, -1.0]),
        (np.array([192, 64, 128, 0], np.uint8), [0.5, -0.5, 0.0, -1.0]),
        (np.array([64, -64, 0, -128], np.int8), [0.5, -0.5, 0.0, -1.0]),
        (np.array([0.5, -0.5, 0.0, -1.0], np.float64), [0.5, -0.5, 0.0, -1.0]),
        (np.array([0.5, -0.5, 0.0, -1.0], np.float32), [0.5, -0.5, 0.0, -1.0]),
    ],
)
def test_load_gradio_tuple_scales_each_dtype(values: np.ndarray, expected: list[float]) -> None:
    audio = A.load((8000, values), allow_silent=True)
    assert audio.sample_rate == 8000
    assert audio.samples.dtype == np.float32
    np.testing.assert_allclose(audio.samples, expected, atol=1e-7)


def test_load_gradio_stereo_tuple_downmixes() -> None:
    left = (sine(300, 0.2, 16000, 0.5) * 32767).astype(np.int16)
    stereo = np.stack([left, np.zeros_like(left)], axis=1)  # (n, 2) as Gradio gives it
    audio = A.load((16000, stereo))
    np.testing.assert_allclose(audio.samples, left / 32768 / 2, atol=1e-6)
    channels_first = A.load((16000, stereo.T.copy()))  # (2, n), as torch lays it out
    np.testing.assert_array_equal(channels_first.samples, audio.samples)


def test_a_rate_and_array_pair_loads() -> None:
    audio = A.load(speech_clip(IVR))
    np.testing.assert_array_equal(A.load((audio.sample_rate, audio.samples)).samples, audio.samples)


# -------------------------------------------------------------------------------------------- errors


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="not found"):
        A.load(tmp_path / "nope.wav")


def test_directory_is_not_audio(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="not a regular file"):
        A.load(tmp_path)


def test_empty_bytes_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="empty"):
        A.load(b"")
    (tmp_path / "blank.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        A.load(tmp_path / "blank.wav")


def test_zero_length_audio(tmp_path: Path) -> None:
    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros(0, np.float32), 16000)
    assert path.stat().st_size > 0  # a valid header, just no frames
    with pytest.raises(AudioError, match="no audio samples"):
        A.load(path)
    with pytest.raises(AudioError, match="empty"):
        A.load((16000, np.zeros(0, np.int16)))


def test_corrupt_bytes_are_rejected() -> None:
    noise = np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    with pytest.raises(AudioError, match="corrupt or not an audio file"):
        A.load(noise)


def test_unknown_source_type() -> None:
    with pytest.raises(AudioError, match="Cannot read audio from a int"):
        A.load(42)  # type: ignore[arg-type]


def test_all_silent_is_rejected_unless_allowed() -> None:
    quiet = (16000, sine(seconds=0.5, rate=16000, amp=10 ** (-70 / 20)))
    with pytest.raises(AudioError, match="silent"):
        A.load(quiet)
    with pytest.raises(AudioError, match="silent"):
        A.load((16000, np.zeros(1600, np.int16)))
    assert A.load(quiet, allow_silent=True).num_samples == 8000
    assert A.load((16000, sine(seconds=0.5, rate=16000, amp=10 ** (-50 / 20)))).num_samples == 8000


def test_nan_and_inf_samples_are_rejected(tmp_path: Path) -> None:
    bad = sine(seconds=0.1, rate=16000)
    bad[10] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        A.load((16000, bad))
    bad[10] = np.inf
    path = tmp_path / "inf.wav"
    sf.write(path, bad, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="infinite"):
        A.load(path)


def test_longer_than_max_seconds(tmp_path: Path) -> None:
    three_seconds = sine(seconds=3.0, rate=8000)
    with pytest.raises(AudioError, match=r"longer than the 2 s limit"):
        A.load((8000, three_seconds), max_seconds=2)
    path = tmp_path / "long.flac"
    sf.write(path, three_seconds, 8000)
    with pytest.raises(AudioError, match="longer than"):
        A.load(path, max_seconds=2.5)
    with pytest.raises(AudioError, match="longer than"):
        A.load(path.read_bytes(), max_seconds=2.5)
    assert A.load(path, max_seconds=None).duration == pytest.approx(3.0)
    assert A.load(path, max_seconds=3.0).duration == pytest.approx(3.0)


def test_duration_limit_is_checked_before_decoding(tmp_path: Path) -> None:
    import tracemalloc

    path = tmp_path / "long.wav"
    sf.write(path, np.zeros(int((A.DEFAULT_MAX_SECONDS + 100) * 8000), np.int16), 8000)  # 11 MB on disk
    tracemalloc.start()
    try:
        with pytest.raises(AudioError, match=r"longer than the 600 s limit \(700\.0 s\)"):
            A.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000  # decoding it would allocate 22 MB of float32


def test_default_limit_applies() -> None:
    too_long = np.full(int((A.DEFAULT_MAX_SECONDS + 1) * 100), 0.1, np.float32)
    with pytest.raises(AudioError, match="longer than"):
        A.load((100, too_long))


# -------------------------------------------------------------------------------------------- resample


@pytest.mark.parametrize(("clip_id", "target"), [(LJ, 16000), (IVR, 24000), (ALSA, 22050)])
def test_resample_real_clip_keeps_duration(clip_id: str, target: int) -> None:
    audio = A.load(speech_clip(clip_id))
    out = A.resample(audio, target)
    assert out.sample_rate == target
    assert abs(out.duration - audio.duration) < 0.001
    assert rms(out.samples) == pytest.approx(rms(audio.samples), rel=0.05)


@pytest.mark.parametrize(("src", "dst"), [(44100, 16000), (8000, 48000), (22050, 24000)])
def test_resample_preserves_sine_frequency_and_level(src: int, dst: int) -> None:
    tone = Audio(sine(1000.0, 1.0, src, 0.5), src)
    out = A.resample(tone, dst)
    assert dominant_hz(out) == pytest.approx(1000.0, abs=2.0)
    steady = out.samples[dst // 10 : -dst // 10]  # skip filter edges
    assert rms(steady) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_resample_same_rate_is_identity_and_bad_rate_fails() -> None:
    tone = Audio(sine(seconds=0.1), 48000)
    assert A.resample(tone, 48000) is tone
    with pytest.raises(AudioError, match="positive"):
        A.resample(tone, 0)


# -------------------------------------------------------------------------------------------- loudness


def test_loudness_of_calibrated_sine() -> None:
    # BS.1770: a full-scale 997 Hz sine in one channel reads -3.01 LKFS, so a -20 dBFS one reads -23.01.
    tone = Audio(sine(997.0, 5.0, 48000, amp=0.1), 48000)
    assert A.loudness(tone) == pytest.approx(-23.01, abs=0.1)


def test_loudness_tracks_gain_and_handles_short_and_silent_clips() -> None:
    speech = A.load(speech_clip(LJ))
    level = A.loudness(speech)
    assert -35.0 < level < -10.0
    louder = Audio(speech.samples * np.float32(10 ** (6 / 20)), speech.sample_rate)
    assert A.loudness(louder) - level == pytest.approx(6.0, abs=0.05)
    long_tone = Audio(sine(997.0, 2.0, 16000, 0.1), 16000)
    short_tone = Audio(long_tone.samples[: int(0.15 * 16000)], 16000)
    assert A.loudness(short_tone) == pytest.approx(A.loudness(long_tone), abs=0.3)
    assert A.loudness(A.silence(1.0, 16000)) == float("-inf")
    assert A.loudness(A.silence(0.0, 16000)) == float("-inf")


@pytest.mark.parametrize("clip_id", [LJ, IVR, ALSA])
def test_normalize_hits_target_within_half_lu(clip_id: str) -> None:
    audio = A.load(speech_clip(clip_id))
    out = A.normalize_loudness(audio, target_lufs=-26.0, peak_dbfs=-1.0)
    assert A.loudness(out) == pytest.approx(-26.0, abs=0.5)
    assert A.peak_dbfs(out) <= -1.0 + 1e-4
    assert out.sample_rate == audio.sample_rate and out.num_samples == audio.num_samples


def test_normalize_respects_peak_ceiling() -> None:
    audio = A.load(speech_clip(LJ))
    out = A.normalize_loudness(audio, target_lufs=-5.0, peak_dbfs=-3.0)
    assert A.peak_dbfs(out) == pytest.approx(-3.0, abs=0.01)
    assert A.loudness(out) < -5.0
    quieter_than_before = A.normalize_loudness(audio, target_lufs=-40.0)
    assert A.loudness(quieter_than_before) == pytest.approx(-40.0, abs=0.5)


def test_normalize_leaves_silence_alone() -> None:
    quiet = A.silence(0.5, 16000)
    assert A.normalize_loudness(quiet) is quiet


# ---------------------------------------------------------------------------------------------- trim


def test_trim_removes_padding_and_keeps_speech() -> None:
    speech = A.load(speech_clip(LJ))
    rate = speech.sample_rate
    floor = np.random.default_rng(0).normal(0, 10 ** (-75 / 20), rate).astype(np.float32)  # quiet room tone
    padded = Audio(np.concatenate([floor, speech.samples, floor]), rate)
    trimmed = A.trim_silence(padded, pad_seconds=0.1)
    assert trimmed.duration <= speech.duration + 0.2 + 0.02
    assert trimmed.duration >= A.trim_silence(speech, pad_seconds=0.0).duration
    assert np.sum(np.square(trimmed.samples, dtype=np.float64)) >= 0.999 * np.sum(np.square(speech.samples, dtype=np.float64))


def test_trim_keeps_pad_and_inner_pauses() -> None:
    rate = 16000
    gap = np.zeros(rate, np.float32)
    tone = sine(440, 0.5, rate, 0.3)
    padded = Audio(np.concatenate([gap, tone, gap[: rate // 2], tone, gap]), rate)
    trimmed = A.trim_silence(padded, pad_seconds=0.1)
    assert trimmed.duration == pytest.approx(0.1 + 1.5 + 0.1, abs=0.02)
    assert A.trim_silence(padded, pad_seconds=0.0).duration == pytest.approx(1.5, abs=0.02)


def test_trim_of_silence_is_empty() -> None:
    assert A.trim_silence(A.silence(1.0, 16000)).num_samples == 0
    assert A.trim_silence(A.silence(0.0, 16000)).num_samples == 0


# ---------------------------------------------------------------------------------------------- join


def test_join_length_is_sum_minus_overlaps() -> None:
    parts = [A.load(speech_clip(LJ)), Audio(sine(seconds=0.3, rate=22050), 22050), A.load(speech_clip(LJ))]
    fade = int(round(0.01 * 22050))
    joined = A.join(parts, crossfade_seconds=0.01)
    assert joined.sample_rate == 22050
    assert joined.num_samples == sum(p.num_samples for p in parts) - 2 * fade
    hard = A.join(parts, crossfade_seconds=0.0)
    np.testing.assert_array_equal(hard.samples, np.concatenate([p.samples for p in parts]))


def test_join_resamples_to_first_rate() -> None:
    first, second = A.load(speech_clip(LJ)), A.load(speech_clip(IVR))
    joined = A.join([first, second], crossfade_seconds=0.02)
    assert joined.sample_rate == 22050
    expected = first.duration + second.duration - 0.02
    assert joined.duration == pytest.approx(expected, abs=0.001)


def test_join_has_no_click_at_the_seam() -> None:
    rate = 48000
    a = Audio(sine(440, 0.25, rate, 0.8), rate)
    b = Audio(sine(440, 0.25, rate, 0.8, phase=np.pi / 2 + np.pi), rate)  # starts at -0.8
    smooth = np.abs(np.diff(A.join([a, b], crossfade_seconds=0.01).samples))
    cut = np.abs(np.diff(A.join([a, b], crossfade_seconds=0.0).samples))
    within_tone = np.abs(np.diff(a.samples)).max()
    assert cut.max() > 10 * within_tone  # the test can see a click when there is one
    assert smooth.max() < 1.5 * within_tone


def test_join_never_peaks_above_the_parts_and_handles_short_parts() -> None:
    rate = 16000
    a, b = Audio(sine(440, 0.2, rate, 0.7), rate), Audio(sine(440, 0.2, rate, 0.7), rate)
    assert A.peak_dbfs(A.join([a, b], crossfade_seconds=0.05)) <= A.peak_dbfs(a) + 1e-6
    tiny = Audio(np.full(5, 0.1, np.float32), rate)
    joined = A.join([a, tiny, b], crossfade_seconds=0.01)
    # a part shorter than the fade is overlapped whole; the next seam then uses the full fade
    assert joined.num_samples == a.num_samples + 5 + b.num_samples - 5 - 160


def _join_one_seam_at_a_time(parts: list[Audio], crossfade: float) -> np.ndarray:
    """The plain definition of a crossfaded join, seam after seam over everything joined so far."""
    rate = parts[0].sample_rate
    fade = int(round(crossfade * rate))
    out = parts[0].samples.copy()
    for part in parts[1:]:
        nxt = A.resample(part, rate).samples
        overlap = min(fade, out.size, nxt.size)
        if overlap:
            ramp = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
            out = np.concatenate([out[:-overlap], out[-overlap:] * (1 - ramp) + nxt[:overlap] * ramp, nxt[overlap:]])
        else:
            out = np.concatenate([out, nxt])
    return out


def test_join_is_the_seam_by_seam_definition_sample_for_sample() -> None:
    rng = np.random.default_rng(0)
    sizes = [4000, 30, 5, 0, 200, 160, 1, 3000]  # parts shorter than the 160-sample crossfade, and an empty one
    parts = [Audio(rng.normal(0, 0.1, n).astype(np.float32), 16000) for n in sizes]
    parts.append(Audio(rng.normal(0, 0.1, 2205).astype(np.float32), 22050))  # another rate is resampled
    for crossfade in (0.0, 0.01, 0.05):
        np.testing.assert_array_equal(A.join(parts, crossfade).samples, _join_one_seam_at_a_time(parts, crossfade))


def test_join_nothing_fails() -> None:
    with pytest.raises(AudioError, match="Nothing to join"):
        A.join([])


# -------------------------------------------------------------------------------------------- encode


@pytest.mark.parametrize(
    ("fmt", "container", "subtype"),
    [("wav", "WAV", "PCM_16"), ("flac", "FLAC", "PCM_24"), ("mp3", "MP3", "MPEG_LAYER_III"), ("ogg", "OGG", "VORBIS")],
)
def test_encode_formats(fmt: str, container: str, subtype: str) -> None:
    audio = A.load(speech_clip(IVR))
    data = A.encode(audio, fmt)
    info = sf.info(io.BytesIO(data))
    assert (info.format, info.subtype) == (container, subtype)
    assert info.samplerate == 8000 and info.channels == 1


def test_encode_wav_round_trip_is_exact_to_16_bits() -> None:
    audio = A.load(speech_clip(ALSA))
    back = A.load(A.encode(audio, "WAV"))
    assert np.max(np.abs(back.samples - audio.samples)) <= 1 / 32768 + 1e-7


def test_encode_clips_instead_of_wrapping() -> None:
    hot = Audio(np.array([0.0, 1.5, -1.5, 0.5] * 100, np.float32), 16000)
    back = A.load(A.encode(hot, "wav"))
    assert back.samples[1] > 0.99 and back.samples[2] < -0.99


@pytest.mark.parametrize("fmt", ["mp3", "ogg"])
def test_encode_lossy_does_not_carry_overs(fmt: str) -> None:
    hot = Audio(sine(200, 1.0, 16000, amp=1.6), 16000)
    back = A.load(A.encode(hot, fmt))
    assert A.peak_dbfs(back) < 20 * np.log10(1.1)  # unclipped input decodes at ~1.6


def test_encode_mp3_at_odd_rate_resamples() -> None:
    audio = Audio(sine(1000, 0.5, 96000, 0.5), 96000)
    back = A.load(A.encode(audio, "mp3"))
    assert back.sample_rate == 48000
    assert dominant_hz(back) == pytest.approx(1000, abs=3)


def test_encode_unknown_format() -> None:
    with pytest.raises(AudioError, match="choose one of"):
        A.encode(A.silence(0.1, 16000), "aiff")


# --------------------------------------------------------------------------------------------- extras


def test_peak_silence_and_is_silent() -> None:
    assert A.peak_dbfs(Audio(np.array([0.0, -0.5, 0.25], np.float32), 8000)) == pytest.approx(-6.0206, abs=1e-3)
    assert A.peak_dbfs(A.silence(0.1, 8000)) == float("-inf")
    gap = A.silence(0.25, 16000)
    assert gap.num_samples == 4000 and not np.any(gap.samples)
    assert A.is_silent(gap)
    assert not A.is_silent(Audio(sine(seconds=0.1, amp=0.01), 48000))
    with pytest.raises(AudioError, match="negative"):
        A.silence(-1.0, 16000)
