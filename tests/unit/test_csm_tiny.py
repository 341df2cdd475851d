"""Sesame CSM built from a tiny random checkpoint (tests/tiny/csm.py) and loaded through its real
`from_pretrained` and through the model manager's Hugging Face cache path: the pipeline contract (24 kHz float32
audio, seeds, lengths), how reference clips and their transcripts become context turns, and readable errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipelines.audio import Audio, load
from pipelines.base import EngineError, VoicePrompt
from tests.conftest import speech_clip, speech_manifest

RATE = 24000
SHORT = 0.5  # seconds of speech per test call: 7 codec frames, well under a second on a CPU
FRAME_SECONDS = 1 / 12.5


def _clip_voice(*clip_ids: str, transcripts: tuple[str | None, ...] | None = None) -> VoicePrompt:
    manifest = speech_manifest()
    clips = tuple(load(speech_clip(clip_id)) for clip_id in clip_ids)
    if transcripts is None:
        transcripts = tuple(manifest[clip_id]["transcript"] for clip_id in clip_ids)
    return VoicePrompt(clips=clips, transcripts=transcripts)


def _check_audio(audio: Audio) -> None:
    assert isinstance(audio, Audio)
    assert audio.sample_rate == RATE
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.num_samples > 0 and np.all(np.isfinite(audio.samples))


def _same(a: Audio, b: Audio) -> bool:
    return a.samples.shape == b.samples.shape and np.array_equal(a.samples, b.samples)


@pytest.fixture(scope="module")
def csm_dir(tmp_path_factory) -> Path:
    from tests.tiny.csm import BUILDERS

    return BUILDERS["csm-1b"](tmp_path_factory.mktemp("tiny_csm") / "csm-1b")


@pytest.fixture(scope="module")
def csm(csm_dir):
    from pipelines.speak.csm import CsmSpeak

    return CsmSpeak.from_pretrained(csm_dir)


@pytest.fixture(scope="module")
def voice() -> VoicePrompt:
    """A real recorded speaker with the words of the clip, as the studio's voice library holds it."""
    return _clip_voice("denoiser_clean_p287_002")


# ------------------------------------------------------------------------------------------- contract


def test_csm_speaks_24k_float32_audio_in_the_reference_voice(csm, voice):
    audio = csm("Hello there.", voice=voice, seed=1, max_seconds=SHORT)
    _check_audio(audio)
    assert type(csm).clones is True and csm.task == "speak"
    assert csm.sample_rate == RATE
    assert csm.memory_bytes() > 0
    assert audio.duration <= SHORT + FRAME_SECONDS


def test_csm_same_seed_same_audio_other_seed_other_audio(csm, voice):
    first = csm("Hello there.", voice=voice, seed=7, max_seconds=SHORT)
    assert _same(first, csm("Hello there.", voice=voice, seed=7, max_seconds=SHORT))
    assert not _same(first, csm("Hello there.", voice=voice, seed=8, max_seconds=SHORT))


def test_csm_seed_does_not_touch_global_rng(csm, voice):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    csm("Hi.", voice=voice, seed=1, max_seconds=SHORT)
    assert torch.equal(torch.rand(3), expected)


def test_csm_zero_temperature_is_greedy(csm, voice):
    assert _same(csm("Hi.", voice=voice, seed=1, temperature=0, max_seconds=SHORT),
                 csm("Hi.", voice=voice, seed=2, temperature=0, max_seconds=SHORT))


def test_csm_reference_clip_and_its_transcript_condition_the_output(csm, voice):
    base = csm("Hi.", voice=voice, seed=1, temperature=0, max_seconds=0.2)
    other_clip = _clip_voice("denoiser_clean_p287_004")
    other_words = VoicePrompt(clips=voice.clips, transcripts=("Something else was said here.",))
    assert not _same(base, csm("Hi.", voice=other_clip, seed=1, temperature=0, max_seconds=0.2))
    assert not _same(base, csm("Hi.", voice=other_words, seed=1, temperature=0, max_seconds=0.2))


@pytest.mark.slow
def test_csm_max_seconds_bounds_the_length_and_defaults_to_a_bound_from_the_text(csm, voice):
    from pipelines.speak import SLOW_CHARS_PER_SECOND, SPARE_SECONDS

    short = csm("Hi.", voice=voice, seed=3, max_seconds=0.2)
    _check_audio(short)
    assert short.duration <= 0.2 + FRAME_SECONDS
    default = csm("Hi.", voice=voice, seed=3)  # random weights rarely end a turn: runs to the default bound
    _check_audio(default)
    assert default.duration <= len("Hi.") / SLOW_CHARS_PER_SECOND + SPARE_SECONDS + FRAME_SECONDS
    assert default.duration > short.duration


def test_csm_each_clip_is_a_context_turn_up_to_max_voice_seconds(csm):
    from pipelines.speak.csm import CsmSpeak

    two = _clip_voice("denoiser_clean_p287_002", "denoiser_clean_p287_004")  # 3.3 s + 4.9 s
    assert [words for words, _ in csm._reference_turns(two)] == list(two.transcripts)
    audio = csm("Hi.", voice=two, seed=1, max_seconds=SHORT)
    _check_audio(audio)
    tight = CsmSpeak(csm.model, csm.processor, max_voice_seconds=5.0)
    turns = tight._reference_turns(two)
    assert len(turns) == 1 and turns[0][0] == two.transcripts[0]  # whole clips only, in order
    prompt = tight._inputs(turns, "Hi.")
    assert int((prompt["input_ids"] == csm.processor.audio_eos_token_id).sum()) == 1


def test_csm_in_half_precision_still_returns_float32(csm_dir, voice):
    """GPUs load it in bfloat16: the reference audio must be cast to the codec's dtype on the way in and the
    speech back to float32 on the way out."""
    from pipelines.speak.csm import CsmSpeak

    half = CsmSpeak.from_pretrained(csm_dir, dtype="bfloat16")
    assert str(half.model.dtype) == "torch.bfloat16"
    _check_audio(half("Hi.", voice=voice, seed=1, max_seconds=0.2))


# ---------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("transcripts", [(), (None,), ("   ",)], ids=["none-given", "none", "blank"])
def test_csm_needs_the_transcript_of_each_reference_clip(csm, voice, transcripts):
    without = VoicePrompt(clips=voice.clips, transcripts=transcripts)
    with pytest.raises(ValueError, match="clip 1 of 1 has no transcript.*Transcribe the clip first"):
        csm("Hello.", voice=without)


def test_csm_names_the_clip_that_lacks_a_transcript(csm, voice):
    two = VoicePrompt(clips=voice.clips * 2, transcripts=(voice.transcripts[0], None))
    with pytest.raises(ValueError, match="clip 2 of 2 has no transcript"):
        csm("Hello.", voice=two)


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_csm_rejects_empty_text(csm, voice, text):
    with pytest.raises(ValueError, match="text is empty"):
        csm(text, voice=voice)


def test_csm_rejects_text_over_the_limit(csm, voice):
    with pytest.raises(ValueError, match=r"text is too long for one CSM call: 999 characters, at most 600"):
        csm("word " * 200, voice=voice)
    with pytest.raises(ValueError, match="text must be a string"):
        csm(b"hello", voice=voice)


def test_csm_rejects_a_context_that_overflows_its_positions(csm, voice):
    wordy = VoicePrompt(clips=voice.clips, transcripts=("many words " * 150,))  # 1650 characters of transcript
    with pytest.raises(ValueError, match=r"take \d+ of CSM's 2048 positions.*shorter reference clips"):
        csm("Hello.", voice=wordy, max_seconds=60)


def test_csm_needs_reference_speech(csm, voice):
    from pipelines.speak.csm import CsmSpeak

    with pytest.raises(ValueError, match="reference clip and its transcript is required"):
        csm("Hello.", voice=None)
    with pytest.raises(ValueError, match="reference clip and its transcript is required"):
        csm("Hello.", voice=VoicePrompt(clips=()))
    silent = VoicePrompt(clips=(Audio(np.zeros(RATE, dtype=np.float32), RATE),), transcripts=("Hello.",))
    with pytest.raises(ValueError, match="at least 0.5 s of speech"):
        csm("Hello.", voice=silent)
    tight = CsmSpeak(csm.model, csm.processor, max_voice_seconds=1.0)
    with pytest.raises(ValueError, match=r"clip 1 is \d+\.\d s long, over max_voice_seconds=1.*shorter clip"):
        tight("Hello.", voice=voice)


@pytest.mark.parametrize("options, message", [
    ({"temperature": -0.1}, "temperature"), ({"temperature": float("nan")}, "temperature"),
    ({"max_seconds": 0}, "max_seconds"), ({"max_seconds": 61.0}, "at most 60"),
    ({"max_seconds": float("nan")}, "max_seconds"),
])
def test_csm_rejects_bad_settings(csm, voice, options, message):
    with pytest.raises(ValueError, match=message):
        csm("Hello.", voice=voice, **options)


def test_csm_rejects_unknown_options_and_missing_folders(csm, voice, csm_dir):
    from pipelines.speak.csm import CsmSpeak

    with pytest.raises(TypeError, match="speaker"):
        csm("Hello.", voice=voice, speaker="alba")
    with pytest.raises(TypeError, match="vocoder_path"):
        CsmSpeak.from_pretrained(csm_dir, vocoder_path=csm_dir)
    with pytest.raises(EngineError, match="not a folder.*sesame/csm-1b"):
        CsmSpeak.from_pretrained(csm_dir / "missing")
    with pytest.raises(ValueError, match="max_voice_seconds"):
        CsmSpeak.from_pretrained(csm_dir, max_voice_seconds=0.1)


# ------------------------------------------------------------------------------------- model manager


def _engine():
    """The catalog's entry once the lead adds it; until then the same facts, so the manager path is tested."""
    from pipelines.catalog import Catalog, Engine

    catalog = Catalog.load()
    if "csm-1b" in {engine.id for engine in catalog}:
        return catalog.get("csm-1b")
    return Engine(id="csm-1b", task="speak", name="Sesame CSM 1B", pipeline="pipelines.speak.csm:CsmSpeak",
                  licence="Apache-2.0", languages=("en",), sample_rate=RATE, download_mb=6200, memory_mb=6600,
                  gpu=True, hub_repo="sesame/csm-1b", revision="main", clones=True)


def test_csm_loads_through_the_model_manager_from_the_hub_cache(csm_dir, voice, tmp_path):
    from pipelines.catalog import Catalog
    from pipelines.manager import ModelManager
    from pipelines.speak.csm import CsmSpeak
    from tests.tiny.hub_cache import install_in_hub_cache

    engine = _engine()
    assert not engine.components  # one repo: the codec's weights live inside the model's
    install_in_hub_cache(tmp_path / "hub", engine.hub_repo, engine.revision, csm_dir)
    manager = ModelManager(Catalog([engine]), cache_dir=tmp_path / "hub", device="cpu")
    assert manager.status()[0].state == "cached"
    pipeline = manager.get("csm-1b")
    assert isinstance(pipeline, CsmSpeak) and pipeline.sample_rate == engine.sample_rate
    assert manager.status()[0].state == "loaded" and manager.status()[0].memory_mb > 0
    _check_audio(pipeline("Hi.", voice=voice, seed=1, max_seconds=SHORT))
