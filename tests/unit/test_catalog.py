"""The catalog file is consistent, and malformed entries are refused with the entry and field named."""
from __future__ import annotations

import inspect

import numpy
import pytest

from pipelines.base import TASKS, Pipeline
from pipelines.catalog import CATALOG_PATH, Catalog, parse_engine
from pipelines.convert import ConvertPipeline
from pipelines.enhance import EnhancePipeline
from pipelines.sound import SoundPipeline
from pipelines.sound.ranking import SoundRanker
from pipelines.speak import SpeakPipeline
from pipelines.speaker import SpeakerEncoder
from pipelines.transcribe import TranscribePipeline
from pipelines.vad import VoiceActivityDetector
from tests.tiny import all_builders

CATALOG = Catalog.load()
TASK_BASES = {"speak": SpeakPipeline, "convert": ConvertPipeline, "enhance": EnhancePipeline,
              "sound": SoundPipeline, "rank": SoundRanker, "transcribe": TranscribePipeline,
              "speaker": SpeakerEncoder, "vad": VoiceActivityDetector}


def test_every_task_with_a_base_class_has_an_offline_or_hub_engine():
    for task in TASK_BASES:
        assert CATALOG.for_task(task), f"no engine for {task}"


@pytest.mark.parametrize("engine", list(CATALOG), ids=lambda e: e.id)
def test_engine_has_a_pipeline_class_and_a_tiny_fixture_or_a_package(engine):
    cls = engine.load_class()
    assert issubclass(cls, TASK_BASES[engine.task]) and not inspect.isabstract(cls)
    builders, components = all_builders()
    if engine.embedded:
        assert engine.package_installed(), f"{engine.package} is not installed"
    else:
        assert engine.id in builders, f"no tiny-model builder for {engine.id} in tests/tiny"
        assert {c.name for c in engine.components} == set(components.get(engine.id, {}))


@pytest.mark.parametrize("engine", list(CATALOG), ids=lambda e: e.id)
def test_pipeline_call_signature_matches_its_task(engine):
    """Callers (use cases, UI) can swap engines of one task without knowing which one they got."""
    cls = engine.load_class()
    expected = inspect.signature(TASK_BASES[engine.task].__call__).parameters
    actual = inspect.signature(cls.__call__).parameters
    for name, parameter in expected.items():
        assert name in actual, f"{cls.__name__}.__call__ lacks {name!r}"
        assert actual[name].kind == parameter.kind, f"{cls.__name__}.__call__ {name!r} kind differs"
    required_extra = [n for n, p in actual.items() if n not in expected and p.default is p.empty
                      and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    assert not required_extra, f"{cls.__name__}.__call__ requires extra arguments {required_extra}"
    assert "model_path" in inspect.signature(cls.from_pretrained).parameters


def test_hub_engines_name_repo_and_revision_and_embedded_ones_a_package():
    for engine in CATALOG:
        assert engine.task in TASKS
        if engine.embedded:
            assert engine.hub_repo is None
        else:
            assert engine.hub_repo.count("/") == 1 and engine.revision


@pytest.mark.parametrize(("patch", "message"), [
    ({"task": "dance"}, "unknown task 'dance'"),
    ({"package": "x"}, "exactly one of hub_repo or package"),
    ({"revision": None}, "no revision"),
    ({"pipeline": "no_colon"}, "module:Class"),
    ({"likeness": "hint"}, "has a likeness but does not clone"),
])
def test_malformed_entries_are_refused_by_name(patch, message):
    entry = {"id": "e1", "task": "enhance", "name": "E", "pipeline": "m:C", "licence": "MIT", "languages": ["*"],
             "sample_rate": 16000, "download_mb": 1, "memory_mb": 1, "hub_repo": "o/r", "revision": "main"}
    entry.update(patch)
    entry = {k: v for k, v in entry.items() if v is not None}
    with pytest.raises(ValueError, match=message):
        parse_engine(entry)


def test_missing_field_and_duplicate_ids_are_refused():
    with pytest.raises(ValueError, match="lacks 'licence'"):
        parse_engine({"id": "x", "task": "enhance", "name": "X", "pipeline": "m:C"})
    engine = next(iter(CATALOG))
    with pytest.raises(ValueError, match="duplicate"):
        Catalog([engine, engine])


def test_pipelines_are_pipeline_subclasses():
    assert all(issubclass(base, Pipeline) for base in TASK_BASES.values())


def test_cloners_have_a_reference_limit_and_fixed_voices_none():
    from pipelines.catalog import DEFAULT_MAX_REFERENCE_S

    limits = {e.id: e.max_reference_s for e in CATALOG.for_task("speak")}
    assert limits["pocket-tts"] == 15.0 and limits["csm-1b"] == 30.0 and limits["speecht5-tts"] == 30.0
    assert limits["piper-joe-embedded"] is None and limits["kokoro-82m-embedded"] is None
    cloner = {"id": "c", "task": "speak", "name": "C", "pipeline": "m:C", "licence": "MIT", "languages": ["en"],
              "sample_rate": 24000, "download_mb": 1, "memory_mb": 1, "hub_repo": "o/r", "revision": "main",
              "clones": True}
    assert parse_engine(dict(cloner)).max_reference_s == DEFAULT_MAX_REFERENCE_S
    with pytest.raises(ValueError, match="max_reference_s must be at least 1"):
        parse_engine({**cloner, "max_reference_s": 0.5})
    with pytest.raises(ValueError, match="does not clone"):
        parse_engine({**cloner, "clones": False, "max_reference_s": 10})
    assert parse_engine(dict(cloner)).likeness == "clone"
    with pytest.raises(ValueError, match="likeness must be 'clone' or 'hint'"):
        parse_engine({**cloner, "likeness": "twin"})


def test_declared_speaker_embeddings_name_speaker_engines(tmp_path):
    """Issue #12: an engine says which embedding it conditions on; the catalog file refuses one naming an engine
    that is not a speaker encoder, and SpeechT5 is labelled a voice hint, not a clone."""
    assert CATALOG.get("speecht5-tts").speaker_embedding == "wavlm-base-plus-sv"
    assert CATALOG.get("speecht5-tts").likeness == "hint" and CATALOG.get("pocket-tts").likeness == "clone"
    for engine in CATALOG:
        if engine.speaker_embedding:
            assert CATALOG.get(engine.speaker_embedding).task == "speaker"
    bad = tmp_path / "catalog.toml"
    bad.write_text(CATALOG_PATH.read_text().replace('speaker_embedding = "wavlm-base-plus-sv"',
                                                     'speaker_embedding = "whisper-small"', 1))
    with pytest.raises(ValueError, match="is not a speaker engine"):
        Catalog.load(bad)


@pytest.mark.parametrize("engine", CATALOG.for_task("speak"), ids=lambda e: e.id)
def test_catalog_and_class_agree_on_cloning(engine):
    """`clones` is declared once per engine class (SpeakPipeline's default False); the catalog repeats it
    for listings that must not import the engine, so the two have to agree."""
    assert engine.load_class().clones == engine.clones


@pytest.mark.parametrize("engine", CATALOG.for_task("speak"), ids=lambda e: e.id)
def test_catalog_and_class_agree_on_seed_dependence(engine):
    """The gate retries with new seeds only where the seed changes the audio; the catalog mirrors the class."""
    assert engine.load_class().seed_dependent == engine.seed_dependent


def test_kokoro_is_the_deterministic_speak_engine():
    assert {e.id for e in CATALOG.for_task("speak") if not e.seed_dependent} == {"kokoro-82m-embedded"}


def test_an_embedded_engine_records_its_package_version_and_the_revision_of_its_code():
    """The voice matcher's results change with its code, not with pyworld's version: the catalog's revision is
    part of what a take records and of the key its matched speakers are kept under."""
    entry = {"id": "m1", "task": "convert", "name": "M", "pipeline": "m:C", "licence": "MIT", "languages": ["*"],
             "sample_rate": 24000, "download_mb": 1, "memory_mb": 1, "package": "numpy"}
    assert parse_engine(entry).weights_revision() == f"numpy=={numpy.__version__}"
    revised = parse_engine({**entry, "revision": "matcher-2"})
    assert revised.weights_revision() == f"numpy=={numpy.__version__}+matcher-2"
    assert CATALOG.get("world-matcher").weights_revision().endswith("+matcher-2")
