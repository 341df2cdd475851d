"""WhisperHub and WavLMSpeaker built from tiny random checkpoints through `from_pretrained`.

Random weights transcribe gibberish, so these check the contract (types, timings inside the audio and
in order, determinism, languages, errors), not accuracy; the embedded engines are tested for quality
on real speech in tests/integration/test_analysis_engines.py.
"""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from pipelines.audio import Audio
from pipelines.base import EngineError, Transcript, Word
from pipelines.speaker.wavlm import WavLMSpeaker
from pipelines.transcribe.whisper_hub import WhisperHubTranscribe
from tests.tiny.wavlm import BUILDERS as WAVLM_BUILDERS
from tests.tiny.whisper import BUILDERS as WHISPER_BUILDERS, LANGUAGES


# Random tiny decoders give degenerate cross-attention, so torch warns inside transformers' DTW.
pytestmark = pytest.mark.filterwarnings("ignore:std\\(\\)")


def noise(seconds: float, rate: int = 16000, seed: int = 0) -> Audio:
    samples = np.random.default_rng(seed).standard_normal(int(seconds * rate)).astype(np.float32) * 0.1
    return Audio(samples, rate)


@pytest.fixture(scope="module", params=sorted(WHISPER_BUILDERS))
def whisper_folder(request, tmp_path_factory):
    return WHISPER_BUILDERS[request.param](tmp_path_factory.mktemp(request.param))


@pytest.fixture(scope="module")
def whisper(whisper_folder) -> WhisperHubTranscribe:
    # Random weights hear "words" in noise; the VAD would rightly find none there and skip decoding.
    return WhisperHubTranscribe.from_pretrained(whisper_folder, max_new_tokens=24, skip_silent=False)


@pytest.fixture(scope="module")
def wavlm_folder(tmp_path_factory):
    return WAVLM_BUILDERS["wavlm-base-plus-sv"](tmp_path_factory.mktemp("wavlm"))


@pytest.fixture(scope="module")
def wavlm(wavlm_folder) -> WavLMSpeaker:
    return WavLMSpeaker.from_pretrained(wavlm_folder)


def assert_transcript_contract(transcript: Transcript, duration: float) -> None:
    assert isinstance(transcript, Transcript) and isinstance(transcript.text, str)
    assert all(isinstance(w, Word) and w.text and w.text == w.text.strip() for w in transcript.words)
    for word in transcript.words:
        assert 0.0 <= word.start <= word.end <= duration, word
        assert 0.0 <= word.confidence <= 1.0
    for before, after in zip(transcript.words, transcript.words[1:]):
        assert before.end <= after.start


# ---------------------------------------------------------------------------------------- WhisperHub


def test_whisper_transcribes_within_the_contract(whisper) -> None:
    audio = noise(3.0, rate=22050)  # resampled to 16 kHz inside
    first = whisper(audio)
    assert_transcript_contract(first, audio.duration)
    assert first.words, "the tiny model says something for noise; timings must come with it"
    assert first.language in LANGUAGES
    assert whisper(audio) == first  # greedy decoding: same audio, same words and timings
    assert whisper.sample_rate == 16000
    assert whisper.memory_bytes() > 0


def test_whisper_follows_the_requested_language(whisper) -> None:
    audio = noise(2.0, seed=1)
    assert whisper(audio, language="fr").language == "fr"
    assert whisper(audio, language=" DE ").language == "de"
    assert set(whisper.languages) == set(LANGUAGES)


def test_whisper_rejects_bad_input(whisper) -> None:
    with pytest.raises(ValueError, match="empty"):
        whisper(Audio(np.zeros(0, dtype=np.float32), 16000))
    with pytest.raises(ValueError, match="language='xx'.*en"):
        whisper(noise(1.0), language="xx")
    with pytest.raises(ValueError, match="Audio"):
        whisper(np.zeros(16000, dtype=np.float32))


def test_whisper_long_form_timings_stay_inside_the_audio(whisper) -> None:
    """Over 30 s Whisper decodes window after window; timings must come back on the clip's clock."""
    audio = noise(34.0, seed=2)
    transcript = whisper(audio)
    assert_transcript_contract(transcript, audio.duration)
    assert transcript.words


def test_whisper_skips_audio_without_speech(whisper_folder) -> None:
    """By default silence and noise give an empty transcript instead of Whisper's invented words."""
    pytest.importorskip("faster_whisper")  # the VAD used for this ships with it
    pipeline = WhisperHubTranscribe.from_pretrained(whisper_folder, max_new_tokens=8)
    assert pipeline(Audio(np.zeros(16000, dtype=np.float32), 16000)) == Transcript("", (), None)
    assert pipeline(noise(1.0), language="de") == Transcript("", (), "de")


def test_whisper_groups_tokens_into_words(whisper) -> None:
    tokenizer = whisper.processor.tokenizer
    ids = tokenizer(" Hello world, again.", add_special_tokens=False).input_ids
    pieces = [(token, 0.1 * i, 0.1 * (i + 1), 0.5) for i, token in enumerate(ids)]
    words = whisper._group_words(pieces, "en")
    assert [w.text.strip() for w in words] == ["Hello", "world,", "again."]
    assert words[0].start == 0.0 and words[-1].end == pytest.approx(0.1 * len(ids))
    # Japanese has no spaces: each whole character is a word, even when it takes several byte tokens.
    ids = tokenizer("日本語", add_special_tokens=False).input_ids
    assert len(ids) == 9
    pieces = [(token, 0.1 * i, 0.1 * (i + 1), 0.5) for i, token in enumerate(ids)]
    assert [w.text for w in whisper._group_words(pieces, "ja")] == ["日", "本", "語"]


def test_whisper_loads_only_what_it_is_given(tmp_path, whisper_folder) -> None:
    with pytest.raises(EngineError, match="local checkpoint folder"):
        WhisperHubTranscribe.from_pretrained(None)
    with pytest.raises(EngineError, match="config.json"):
        WhisperHubTranscribe.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="Unknown WhisperHubTranscribe options"):
        WhisperHubTranscribe.from_pretrained(whisper_folder, beam=3)


def test_whisper_without_alignment_heads_still_gives_timings(tmp_path, whisper_folder) -> None:
    """Fine-tuned checkpoints often lack alignment_heads; the upper decoder half stands in."""
    folder = tmp_path / "finetune"
    shutil.copytree(whisper_folder, folder)
    path = folder / "generation_config.json"
    config = json.loads(path.read_text())
    del config["alignment_heads"]
    path.write_text(json.dumps(config))
    pipeline = WhisperHubTranscribe.from_pretrained(folder, max_new_tokens=8, skip_silent=False)
    assert pipeline.model.generation_config.alignment_heads == [[1, 0], [1, 1]]
    assert_transcript_contract(pipeline(noise(1.5)), 1.5)


# -------------------------------------------------------------------------------------- WavLMSpeaker


def test_wavlm_embedding_contract(wavlm) -> None:
    audio = noise(2.0, rate=48000)
    vector = wavlm(audio)
    assert wavlm.dim == 512 and wavlm.sample_rate == 16000
    assert vector.shape == (512,) and vector.dtype == np.float32
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_array_equal(vector, wavlm(audio))
    assert not np.allclose(vector, wavlm(noise(2.0, seed=5)))
    assert wavlm.memory_bytes() > 0


def test_wavlm_rejects_empty_short_and_silent_audio(wavlm) -> None:
    with pytest.raises(ValueError, match="too short"):
        wavlm(Audio(np.zeros(0, dtype=np.float32), 16000))
    shortest = wavlm.min_samples
    assert wavlm(noise(shortest / 16000)).shape == (512,)
    with pytest.raises(ValueError, match="too short.*at least 0.3"):
        wavlm(noise((shortest - 1) / 16000))
    with pytest.raises(ValueError, match="silent"):
        wavlm(Audio(np.zeros(16000, dtype=np.float32), 16000))
    with pytest.raises(ValueError, match="Audio"):
        wavlm(np.zeros(16000, dtype=np.float32))


def test_wavlm_long_audio_is_embedded_in_windows(wavlm_folder) -> None:
    windowed = WavLMSpeaker.from_pretrained(wavlm_folder, chunk_seconds=1.0)
    audio = noise(3.5, seed=3)
    vector = windowed(audio)
    assert vector.shape == (512,) and np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="chunk_seconds"):
        WavLMSpeaker.from_pretrained(wavlm_folder, chunk_seconds=0.1)
    with pytest.raises(EngineError, match="local checkpoint folder"):
        WavLMSpeaker.from_pretrained(None)
