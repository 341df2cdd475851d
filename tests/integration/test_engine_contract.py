"""The contract of each task, checked on every engine in the catalog (the way diffusers' pipeline tester runs
one suite over every pipeline): an engine that passes can replace any other of its task.

For each engine: it reports the catalog's sample rate, gives output of the task's type, shape and dtype at that
rate, gives the same output for the same seed, and refuses bad input with a ValueError that says what is wrong.
Hub engines are tiny random models (tests/tiny) placed in a Hugging Face cache and loaded by the model manager,
as a download would leave them; embedded engines load their real weights from their packages.
"""
from __future__ import annotations

import inspect

import numpy as np
import pytest

from pipelines.audio import Audio, load, resample
from pipelines.base import Transcript, VoicePrompt, Word
from pipelines.catalog import Catalog, Engine
from pipelines.manager import ModelManager
from pipelines.speak import SpeakPipeline
from tests.conftest import speech_clip, speech_manifest
from tests.tiny import all_builders
from tests.tiny.hub_cache import install_in_hub_cache

CATALOG = Catalog.load()
CLIP = "denoiser_clean_p287_002"  # 3.3 s of a real speaker, with its transcript
TEXT = "Hello there."
XVECTOR = "wavlm-base-plus-sv"


def engines(*tasks: str) -> list:
    return [pytest.param(e, id=e.id, marks=[pytest.mark.slow] if e.embedded else []) for e in CATALOG
            if e.task in tasks]


@pytest.fixture(scope="module")
def manager(tmp_path_factory) -> ModelManager:
    """One manager over the whole catalog, with every Hub engine's tiny model (and components) in its cache."""
    root = tmp_path_factory.mktemp("contract")
    cache = root / "hub"
    builders, components = all_builders()
    for engine in CATALOG:
        if engine.embedded:
            continue
        install_in_hub_cache(cache, engine.hub_repo, engine.revision, builders[engine.id](root / engine.id))
        for component in engine.components:
            folder = components[engine.id][component.name](root / f"{engine.id}-{component.name}")
            install_in_hub_cache(cache, component.repo, component.revision, folder)
    return ModelManager(CATALOG, cache_dir=cache, device="cpu", memory_budget_mb=64_000)


@pytest.fixture(scope="module")
def speech() -> Audio:
    return load(speech_clip(CLIP))


@pytest.fixture(scope="module")
def voice(speech) -> VoicePrompt:
    """What the voice library holds for a voice: a clip, its transcript and a stored x-vector."""
    transcript = speech_manifest()[CLIP]["transcript"]
    xvector = np.random.default_rng(0).normal(size=512).astype(np.float32)
    return VoicePrompt(clips=(speech,), transcripts=(transcript,), embeddings={XVECTOR: xvector})


def loaded(manager: ModelManager, engine: Engine):
    pipeline = manager.get(engine.id)
    assert isinstance(pipeline, engine.load_class())
    assert pipeline.sample_rate == engine.sample_rate, "the engine's rate differs from the catalog's"
    return pipeline


def check_audio(audio: Audio, rate: int) -> None:
    assert isinstance(audio, Audio)
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1 and audio.num_samples > 0
    assert audio.sample_rate == rate
    assert np.all(np.isfinite(audio.samples))


def same(a: Audio, b: Audio) -> bool:
    return a.sample_rate == b.sample_rate and np.array_equal(a.samples, b.samples)


# ----------------------------------------------------------------------------------------- speak


@pytest.mark.parametrize("engine", engines("speak"))
def test_speak_contract(manager, voice, engine):
    pipeline = loaded(manager, engine)
    assert isinstance(pipeline, SpeakPipeline)
    assert type(pipeline).clones == engine.clones
    prompt = voice if engine.clones else None
    first = pipeline(TEXT, voice=prompt, seed=7)
    check_audio(first, engine.sample_rate)
    assert same(first, pipeline(TEXT, voice=prompt, seed=7)), "the same seed gave different audio"
    with pytest.raises(ValueError, match="text"):
        pipeline("   ", voice=prompt, seed=7)
    with pytest.raises(ValueError, match="[Ss]eed"):
        pipeline(TEXT, voice=prompt, seed=-1)
    with pytest.raises(ValueError, match="Unknown"):
        pipeline(TEXT, voice=prompt, seed=7, no_such_option=1)
    if engine.clones:
        with pytest.raises(ValueError, match="voice"):
            pipeline(TEXT, voice=None, seed=7)


@pytest.mark.parametrize("engine", engines("speak"))
def test_speak_capabilities_are_declared(manager, engine):
    """Callers read capabilities as attributes, never probing: each has the declared type."""
    pipeline = loaded(manager, engine)
    assert isinstance(pipeline.call_options, tuple) and all(isinstance(o, str) for o in pipeline.call_options)
    named = set(inspect.signature(type(pipeline).__call__).parameters) | {"speaker", "speed"}  # **options
    assert set(pipeline.call_options) <= named
    assert pipeline.speed_range is None or (len(pipeline.speed_range) == 2
                                            and 0 < pipeline.speed_range[0] < 1 < pipeline.speed_range[1])
    assert (pipeline.speed_range is not None) == ("speed" in pipeline.call_options)
    assert pipeline.max_chars is None or (isinstance(pipeline.max_chars, int) and pipeline.max_chars > 0)
    assert isinstance(pipeline.speakers(), list) and (engine.clones or pipeline.speakers())


# --------------------------------------------------------------------------------------- convert


@pytest.mark.parametrize("engine", engines("convert"))
def test_convert_contract(manager, speech, voice, engine):
    pipeline = loaded(manager, engine)
    first = pipeline(speech, voice=voice, seed=3)
    check_audio(first, engine.sample_rate)
    assert same(first, pipeline(speech, voice=voice, seed=3))
    with pytest.raises(ValueError, match="Audio"):
        pipeline(speech.samples, voice=voice, seed=3)
    with pytest.raises(ValueError, match="[Ss]eed"):
        pipeline(speech, voice=voice, seed=-1)


# --------------------------------------------------------------------------------------- enhance


@pytest.mark.parametrize("engine", engines("enhance"))
def test_enhance_contract(manager, speech, engine):
    pipeline = loaded(manager, engine)
    cleaned = pipeline(speech)
    check_audio(cleaned, speech.sample_rate)  # the input's own rate and length, whatever the engine's
    assert cleaned.num_samples == speech.num_samples
    assert same(cleaned, pipeline(speech)), "two calls on the same audio differ"
    blocks = list(pipeline.stream(speech, block_seconds=1.0))
    assert np.allclose(np.concatenate([b.samples for b in blocks]), cleaned.samples, atol=1e-6)
    with pytest.raises(ValueError, match="Audio"):
        pipeline(speech.samples)


# ----------------------------------------------------------------------------------------- sound


@pytest.mark.parametrize("engine", engines("sound"))
def test_sound_contract(manager, engine):
    pipeline = loaded(manager, engine)
    first = pipeline("calm piano under rain", seconds=0.5, seed=5)
    check_audio(first, engine.sample_rate)
    assert first.duration == pytest.approx(0.5, abs=0.05)
    assert same(first, pipeline("calm piano under rain", seconds=0.5, seed=5))
    with pytest.raises(ValueError, match="prompt"):
        pipeline("  ", seconds=0.5, seed=5)
    with pytest.raises(ValueError, match="[Ss]eed"):
        pipeline("calm piano", seconds=0.5, seed=-1)


# ------------------------------------------------------------------------------------------ rank


@pytest.mark.parametrize("engine", engines("rank"))
def test_rank_contract(manager, speech, engine):
    pipeline = loaded(manager, engine)
    other = resample(speech, 48000)
    scores = pipeline("a man speaking", [speech, other])
    assert len(scores) == 2 and all(isinstance(x, float) and -1.0 <= x <= 1.0 for x in scores)
    assert pipeline("a man speaking", [other, speech]) == scores[::-1]  # one score per sound, in order
    with pytest.raises(ValueError, match="prompt"):
        pipeline("  ", [speech])
    with pytest.raises(ValueError, match="Audio"):
        pipeline("a man speaking", [speech.samples])


# ------------------------------------------------------------------------------------ transcribe


@pytest.mark.parametrize("engine", engines("transcribe"))
def test_transcribe_contract(manager, speech, engine):
    pipeline = loaded(manager, engine)
    heard = pipeline(speech, language="en")
    assert isinstance(heard, Transcript) and isinstance(heard.text, str)
    assert all(isinstance(w, Word) and 0.0 <= w.start <= w.end <= speech.duration + 1e-6 for w in heard.words)
    assert [w.start for w in heard.words] == sorted(w.start for w in heard.words)
    assert pipeline(speech, language="en") == heard, "two calls on the same audio differ"
    assert pipeline(resample(speech, 48000), language="en").text == heard.text  # any input rate
    with pytest.raises(ValueError, match="Audio"):
        pipeline(speech.samples, language="en")
    with pytest.raises(ValueError, match="empty"):
        pipeline(Audio(np.zeros(0, np.float32), 16000), language="en")


# --------------------------------------------------------------------------------------- speaker


@pytest.mark.parametrize("engine", engines("speaker"))
def test_speaker_contract(manager, speech, engine):
    pipeline = loaded(manager, engine)
    vector = pipeline(speech)
    assert isinstance(vector, np.ndarray) and vector.dtype == np.float32 and vector.shape == (pipeline.dim,)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    assert np.array_equal(vector, pipeline(speech))
    with pytest.raises(ValueError, match="Audio"):
        pipeline(speech.samples)
    with pytest.raises(ValueError, match="silent"):
        pipeline(Audio(np.zeros(speech.num_samples, np.float32), speech.sample_rate))


# ------------------------------------------------------------------------------------------- vad


@pytest.mark.parametrize("engine", engines("vad"))
def test_vad_contract(manager, speech, engine):
    pipeline = loaded(manager, engine)
    segments = pipeline(speech)
    assert segments and all(0.0 <= a < b <= speech.duration + 1e-6 for a, b in segments)
    assert all(b <= c for (_, b), (c, _) in zip(segments, segments[1:])), "segments overlap or are unsorted"
    assert pipeline(speech) == segments
    assert pipeline(Audio(np.zeros(16000, np.float32), 16000)) == []
    with pytest.raises(ValueError, match="Audio"):
        pipeline(speech.samples)


def test_every_task_in_the_catalog_has_a_contract():
    assert {e.task for e in CATALOG} <= {"speak", "convert", "enhance", "sound", "rank", "transcribe", "speaker",
                                         "vad"}
