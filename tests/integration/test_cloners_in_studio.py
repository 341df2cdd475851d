"""Every catalog cloner, built tiny and placed in a Hugging Face cache like a downloaded one, speaks from a
voice with clips and transcripts through the studio's Speak use case (not only in adapter tests); engines that
condition on a speaker embedding get exactly the one they declare, computed once and kept in the store."""
from __future__ import annotations

import pytest

from pipelines.catalog import Catalog
from tests.conftest import needs_speech, speech_clip

CATALOG = Catalog.load()
CLONERS = [e for e in CATALOG if e.task == "speak" and e.clones and not e.embedded]


@pytest.fixture(scope="module")
def hub_studio(tmp_path_factory):
    """A studio whose Hub engines (the cloners, the SpeechT5 converter and the WavLM x-vector encoder) are tiny
    random checkpoints in its Hugging Face cache."""
    pytest.importorskip("transformers")
    from pipelines.manager import ModelManager
    from storage import Store
    from studio.config import Settings
    from studio.service import Studio
    from tests.tiny import all_builders
    from tests.tiny.hub_cache import install_in_hub_cache

    root = tmp_path_factory.mktemp("hub_studio")
    builders, components = all_builders()
    for engine in [*CLONERS, CATALOG.get("speecht5-vc"), CATALOG.get("wavlm-base-plus-sv")]:
        install_in_hub_cache(root / "hub", engine.hub_repo, engine.revision, builders[engine.id](root / engine.id))
        for component in engine.components:
            folder = components[engine.id][component.name](root / f"{engine.id}-{component.name}")
            install_in_hub_cache(root / "hub", component.repo, component.revision, folder)
    settings = Settings(data_dir=root / "data", max_audio_seconds=60)
    settings.data_dir.mkdir(parents=True)
    studio = Studio(Store.open(settings.data_dir), settings,
                    models=ModelManager(CATALOG, cache_dir=root / "hub", device="cpu", memory_budget_mb=100_000))
    yield studio
    studio.close()


@pytest.fixture(scope="module")
def voice_id(hub_studio) -> int:
    from studio.voices import ClipInput

    project = hub_studio.projects.list()[0].id
    clips = [ClipInput(speech_clip("denoiser_clean_p287_002"), "Ask her to bring these things with her from the store."),
             ClipInput(speech_clip("denoiser_clean_p287_004"), None)]
    return hub_studio.voices.create(project, "Rhona", clips, consent=True).id


@pytest.mark.slow
@needs_speech
@pytest.mark.parametrize("engine", CLONERS, ids=lambda e: e.id)
def test_every_cloner_speaks_from_a_voice_in_the_studio(hub_studio, voice_id, engine):
    studio = hub_studio
    project = studio.projects.list()[0].id
    options = {"voice_id": voice_id, "engine_id": engine.id, "seed": 5, "gate": False}
    done = list(studio.speak.speak(project, "Hello there.", **options))[-1]
    take = studio.takes.get(done.take.id)
    assert take.engine_id == engine.id and take.voice_id == voice_id and take.duration > 0
    assert take.engine_revision == engine.revision
    if engine.load_class().needs_transcripts:  # CSM: the clip stored without words was transcribed, and kept
        (_, second) = studio.voices.get(voice_id).clips
        assert second.transcript and "snake" in second.transcript.lower()
    encoders = studio.voices.get(voice_id).embedding_encoders
    if engine.speaker_embedding:
        assert engine.speaker_embedding in encoders  # computed for it, kept in the store
        stored = studio.store.get_embedding(voice_id, engine.speaker_embedding)
        assert stored.shape == (512,) and abs(float((stored ** 2).sum()) - 1.0) < 1e-4
        again = list(studio.speak.speak(project, "Hello there.", **options))[-1]
        assert studio.store.get_embedding(voice_id, engine.speaker_embedding).tobytes() == stored.tobytes()
        assert studio.takes.get(again.take.id).engine_id == engine.id


@pytest.mark.slow
@needs_speech
def test_the_speecht5_converter_gets_its_declared_embedding_in_the_studio(hub_studio, voice_id):
    from studio.convert import ConvertRequest

    studio = hub_studio
    project = studio.projects.list()[0].id
    source = studio.takes.import_recording(project, speech_clip("coqui_lj_LJ001-0001"))
    result = studio.convert.convert(ConvertRequest(project, voice_id, take_id=source.id, engine_id="speecht5-vc",
                                                   score=False))
    assert result.take.engine_id == "speecht5-vc" and result.converted.duration > 0
    assert "wavlm-base-plus-sv" in studio.voices.get(voice_id).embedding_encoders


@pytest.mark.slow
@needs_speech
@pytest.mark.parametrize("engine", CLONERS, ids=lambda e: e.id)
def test_every_cloner_speaks_inserted_words_in_an_edit(hub_studio, engine):
    """Edit gives a cloner the recording around the insert as its voice (with those words), and an engine that
    conditions on a speaker embedding gets that embedding of it."""
    studio = hub_studio
    project = studio.projects.list()[0].id
    take = studio.takes.import_recording(project, speech_clip("denoiser_clean_p287_002"))
    studio.edit.transcript(take.id)  # the embedded Whisper's words and timings
    words = studio.edit.transcript(take.id).text.split()
    edited = " ".join(words[:3] + ["really"] + words[3:])
    outcome = studio.edit.apply(take.id, edited, engine_id=engine.id, seed=3, check=False)
    child = studio.takes.get(outcome.take.id)
    assert child.parent_id == take.id and child.duration > 0
    assert outcome.take.parameters["insert_engine"] == engine.id
    (insert,) = [e for e in outcome.take.parameters["edits"] if e["new_text"]]
    assert insert["provenance"]["engine_id"] == engine.id and insert["new_text"] == "really"
