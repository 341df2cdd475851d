"""Speak, fix and compare use cases against the fake speech engine (`tests.fakes`): what is stored (one speech
take, every chunk attempt as its child, in one unit of work), reproducibility, refusals, fixing one chunk
without speaking the others again, and A/B comparison. The real engines and the quality gate are exercised in
test_speaking.py; here each test takes milliseconds of synthesis."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pipelines import audio as au
from storage import UnitOfWork
from studio import narrations
from studio.compare import better
from studio.service import Studio
from studio.speak import MAX_TEXT_CHARS
from studio.voice_match import PROBE_TEXT
from studio.voices import ClipInput
from tests.conftest import needs_speech, speech_clip
from tests.fakes import FAKE_ENGINE, FakeSpeak

NINE = "coqui_lj_LJ001-0001"  # 9.7 s, LJ Speech

TEXT = "The studio keeps every take. Nothing is lost when you try again with another seed."
THREE = "The first sentence stays. The second one will be spoken again. The third one stays as well."


@pytest.fixture(scope="module")
def project_id(studio) -> int:
    return studio.projects.list()[0].id


def speak(studio, project_id, text=TEXT, **options):
    return list(studio.speak.speak(project_id, text, engine_id=FAKE_ENGINE, gate=False, **options))


@pytest.fixture(scope="module")
def narration(studio, project_id):
    """Three sentences: one attempt per chunk (no gate), so the kept seeds are chunk_seed(31, i, 0)."""
    return speak(studio, project_id, THREE, seed=31)[-1]


def close(a: au.Audio, b: au.Audio) -> bool:
    return a.num_samples == b.num_samples and np.allclose(a.samples, b.samples, atol=2e-7)


# ----------------------------------------------------------------------------------------------- speaking


def test_chunks_stream_then_one_speech_take_keeps_every_attempt(studio, project_id):
    *chunks, done = speak(studio, project_id, seed=7, speaker="bob", speed=1.25)
    assert [e.kind for e in chunks] == ["chunk"] * len(chunks) == ["chunk"] * done.total and done.kind == "done"
    assert abs(done.audio.duration - sum(e.audio.duration for e in chunks)) < 0.1
    take = studio.takes.get(done.take.id)
    assert (take.kind, take.text, take.voice_id, take.parent_id, take.seed) == ("speech", TEXT, None, None, 7)
    assert take.engine_id == FAKE_ENGINE and take.engine_revision == "fake-1"
    assert take.parameters["speaker"] == "bob" and take.parameters["speed"] == 1.25
    assert take.parameters["gate"] is False and take.parameters["chunks"] == done.total
    assert take.scores["chunks"] == done.total and take.scores["attempts"] == len(done.attempts) == done.total
    children = studio.store.take_children(take.id)
    assert [c.id for c in children] == [a.id for a in done.attempts]
    assert [c.parameters["chunk"] for c in children] == list(range(done.total))
    assert all(c.kind == "attempt" and c.parameters["kept"] and "pause_s" in c.parameters for c in children)
    assert abs(studio.takes.audio(take.id).duration - done.audio.duration) < 0.01


def test_same_seed_gives_the_same_audio_bytes(studio, project_id):
    first = speak(studio, project_id, "Same seed, same sound.", seed=42)[-1].take
    second = speak(studio, project_id, "Same seed, same sound.", seed=42)[-1].take
    third = speak(studio, project_id, "Same seed, same sound.", seed=43)[-1].take
    assert first.id != second.id
    assert studio.store.read_audio(first.audio_sha) == studio.store.read_audio(second.audio_sha)
    assert studio.store.read_audio(third.audio_sha) != studio.store.read_audio(first.audio_sha)


@pytest.mark.parametrize("text", ["", "   ", "?!... —", "\n\n"])
def test_text_with_nothing_to_say_is_refused_and_saves_nothing(studio, project_id, text):
    before = studio.takes.count(project_id)
    with pytest.raises(ValueError, match="Type some text"):
        studio.speak.speak(project_id, text, engine_id=FAKE_ENGINE)
    assert studio.takes.count(project_id) == before


@pytest.mark.parametrize(("options", "message"), [
    ({"text": "word " * (MAX_TEXT_CHARS // 5) + "x"}, "100,000"),
    ({"engine_id": "whisper-base-embedded"}, "not a speech engine"),
    ({"speed": 3.0}, r"Speed must be from 0.5 to 2.0 for Fake speech"),
    ({"speed": "fast"}, "Speed must be a number"),
    ({"speaker": "carl"}, "has no speaker 'carl'; choose one of ann, bob"),
    ({"seed": -1}, "Seed must be"),
])
def test_bad_requests_are_refused_before_anything_is_spoken(studio, project_id, engine, options, message):
    before = studio.takes.count(project_id)
    request = {"text": "Hello there.", "engine_id": FAKE_ENGINE, **options}
    with pytest.raises(ValueError, match=message):
        studio.speak.speak(project_id, request.pop("text"), **request)
    assert engine.calls == [] and studio.takes.count(project_id) == before


def test_a_cloner_needs_a_voice(studio, project_id):
    cloner = next(e for e in studio.models.catalog.for_task("speak") if e.clones)
    with pytest.raises(ValueError, match="choose a voice"):
        studio.speak.speak(project_id, "Hello.", engine_id=cloner.id)


def test_failure_midway_saves_nothing(studio, project_id, engine, monkeypatch):
    real = FakeSpeak.__call__

    def crash_on_the_second_chunk(self, text, **options):
        if len(self.calls) == 1:
            raise RuntimeError("engine crashed")
        return real(self, text, **options)

    monkeypatch.setattr(FakeSpeak, "__call__", crash_on_the_second_chunk)
    before = studio.takes.count(project_id)
    events = studio.speak.speak(project_id, TEXT, engine_id=FAKE_ENGINE, seed=1, gate=False)
    assert next(events).kind == "chunk"
    with pytest.raises(RuntimeError, match="engine crashed"):
        list(events)
    assert studio.takes.count(project_id) == before


def fail_second_insert(monkeypatch) -> list[str]:
    """Make the second take a unit of work adds fail (as a full disk would), after the first was inserted."""
    real, kinds = UnitOfWork.add_take, []

    def add_then_fail(self, project_id, take, *args, **kwargs):
        kinds.append(take.kind)
        if len(kinds) == 2:
            raise OSError(28, "No space left on device")
        return real(self, project_id, take, *args, **kwargs)

    monkeypatch.setattr(UnitOfWork, "add_take", add_then_fail)
    return kinds


def test_a_narration_and_its_attempts_commit_together_or_not_at_all(studio, project_id, monkeypatch):
    before = studio.takes.all(project_id)
    kinds = fail_second_insert(monkeypatch)
    with pytest.raises(OSError, match="No space"):
        speak(studio, project_id, "Kept whole or not at all. Never half.", seed=3)
    assert kinds == ["speech", "attempt"]  # the speech take was inserted before its first attempt failed
    assert studio.takes.all(project_id) == before


def test_a_failure_while_storing_a_fixed_chunk_leaves_no_half_saved_take(studio, narration, monkeypatch):
    project = narration.take.project_id
    before = studio.takes.count(project)
    kinds = fail_second_insert(monkeypatch)
    with pytest.raises(OSError):
        studio.fix.regenerate_chunk(narration.take.id, 2, seed=5, gate=False)
    assert kinds == ["speech", "attempt"] and studio.takes.count(project) == before


# ---------------------------------------------------------------------------------------- fixing one chunk


def test_regenerating_a_chunk_with_its_own_seed_rebuilds_the_same_narration(studio, narration, engine):
    """The chunk is spoken once more and nothing else is: the other chunks come from their stored takes, and
    the pauses between them are the ones the narration was made with, so the same seed gives the same take."""
    take = narration.take
    kept = studio.fix.kept_attempts(take.id)
    assert len(kept) == 3 and [t.parameters["chunk"] for t in kept] == [0, 1, 2]
    event = studio.fix.regenerate_chunk(take.id, 1, seed=kept[1].seed, gate=False)
    assert engine.calls == [(kept[1].parameters["spoken"], kept[1].seed)]
    assert close(studio.takes.audio(event.take.id), studio.takes.audio(take.id))


def test_regenerating_a_chunk_makes_a_new_speech_take_with_its_attempt_as_child(studio, narration):
    take = narration.take
    before = studio.fix.kept_attempts(take.id)
    event = studio.fix.regenerate_chunk(take.id, 1, gate=False)
    new = studio.takes.get(event.take.id)
    assert new.kind == "speech" and new.parent_id == take.id and new.text == take.text and new.seed == take.seed
    redo = new.parameters["regenerated"]
    assert redo["chunk"] == 1 and redo["from_take"] == take.id and redo["seed"] != before[1].seed
    children = studio.store.take_children(new.id)
    assert [c.id for c in children] == [a.id for a in event.attempts] and len(children) == 1
    assert children[0].parameters["chunk"] == 1 and children[0].seed == redo["seed"]
    kept = studio.fix.kept_attempts(new.id)
    assert [kept[0].id, kept[2].id] == [before[0].id, before[2].id] and kept[1].id == children[0].id
    old_audio, new_audio = studio.takes.audio(take.id), studio.takes.audio(new.id)
    head = int((before[0].duration + before[0].parameters["pause_s"] - 0.1) * old_audio.sample_rate)
    assert np.allclose(old_audio.samples[:head], new_audio.samples[:head], atol=2e-7)
    assert not close(old_audio, new_audio)


def test_choosing_another_attempt_swaps_only_that_chunk_and_speaks_nothing(studio, narration, engine):
    take = narration.take
    original = studio.fix.kept_attempts(take.id)
    changed = studio.fix.regenerate_chunk(take.id, 0, seed=777, gate=False).take
    engine.calls.clear()
    assert original[0].id in {t.id for t in studio.fix.chunk_attempts(changed.id)}
    event = studio.fix.choose_attempt(original[0].id, changed.id)
    assert engine.calls == []
    back = studio.takes.get(event.take.id)
    assert back.parent_id == changed.id and back.parameters["chosen"]["attempt_take"] == original[0].id
    assert studio.store.take_children(back.id) == []  # no new audio was made, so no new attempts
    assert [t.id for t in studio.fix.kept_attempts(back.id)] == [t.id for t in original]
    assert close(studio.takes.audio(back.id), studio.takes.audio(take.id))
    with pytest.raises(ValueError, match="already the one kept"):
        studio.fix.choose_attempt(original[0].id, back.id)


def test_narrations_stored_without_their_pauses_are_planned_again(studio, project_id, monkeypatch):
    """Attempt takes kept before their lead and pause were stored: the layout is planned again from the text
    with the narration's stored settings, and the narration is rebuilt exactly."""
    real = narrations.attempt_takes

    def without_pauses(*args, **kwargs):
        return [dataclasses.replace(t, parameters={k: v for k, v in t.parameters.items()
                                                   if k not in ("lead_s", "pause_s")})
                for t in real(*args, **kwargs)]

    monkeypatch.setattr(narrations, "attempt_takes", without_pauses)
    text = "[pause 0.5s] An old narration.\n\nIts second paragraph, after a longer pause. And a last line."
    done = speak(studio, project_id, text, seed=8)[-1]
    monkeypatch.undo()
    kept = studio.fix.kept_attempts(done.take.id)
    assert all("pause_s" not in t.parameters for t in kept)
    again = studio.fix.regenerate_chunk(done.take.id, 1, seed=kept[1].seed, gate=False)
    assert close(studio.takes.audio(again.take.id), studio.takes.audio(done.take.id))


def test_fixing_refuses_what_cannot_be_fixed(studio, project_id, narration):
    take = narration.take
    with pytest.raises(ValueError, match=r"Chunk must be a number from 1 to 3"):
        studio.fix.regenerate_chunk(take.id, 3)
    with pytest.raises(ValueError, match="Seed must be"):
        studio.fix.regenerate_chunk(take.id, 0, seed=-1)
    attempt = studio.fix.kept_attempts(take.id)[0]
    with pytest.raises(ValueError, match="only narrations"):
        studio.fix.regenerate_chunk(attempt.id, 0)
    with pytest.raises(ValueError, match="Choose a narration"):
        studio.fix.kept_attempts(None)
    with pytest.raises(ValueError, match="not an attempt"):
        studio.fix.choose_attempt(take.id)
    other = studio.fix.kept_attempts(speak(studio, project_id, "Another one.", seed=1)[-1].take.id)[0]
    with pytest.raises(ValueError, match=f"not an attempt at a chunk of take #{take.id}"):
        studio.fix.choose_attempt(other.id, take.id)


def test_a_failed_regeneration_saves_nothing(studio, narration, monkeypatch):
    def crash(self, text, **options):
        raise RuntimeError("engine crashed")

    monkeypatch.setattr(FakeSpeak, "__call__", crash)
    before = studio.takes.count(narration.take.project_id)
    with pytest.raises(RuntimeError, match="engine crashed"):
        studio.fix.regenerate_chunk(narration.take.id, 2, gate=False)
    assert studio.takes.count(narration.take.project_id) == before


def test_a_narration_whose_chunk_take_was_deleted_says_so(studio, project_id):
    done = speak(studio, project_id, "One line here. And a second line.", seed=2)[-1]
    changed = studio.fix.regenerate_chunk(done.take.id, 1, seed=3, gate=False).take
    studio.takes.delete(studio.fix.kept_attempts(done.take.id)[0].id)
    with pytest.raises(ValueError, match=r"Chunk 1 of take #\d+ has no stored audio any more"):
        studio.fix.regenerate_chunk(changed.id, 1, gate=False)


# --------------------------------------------------------------------------------------------- comparing


def test_compare_two_takes_side_by_side(studio, narration):
    take = narration.take
    other = studio.fix.regenerate_chunk(take.id, 2, seed=99, gate=False).take
    rows = {row.label: row for row in studio.compare.takes(take.id, other.id).rows}
    assert rows["take"].a == f"#{take.id} speech" and rows["take"].b == f"#{other.id} speech"
    assert rows["engine"].a == rows["engine"].b == FAKE_ENGINE
    assert rows["seed"].a == take.seed == rows["seed"].b
    assert rows["seconds"].a == round(take.duration, 2) and rows["seconds"].b == round(other.duration, 2)
    assert rows["made from"].a == "—" and rows["made from"].b == f"#{take.id}, chunk 3 spoken again"
    assert rows["chunks"].a == rows["chunks"].b == 3
    with pytest.raises(Exception, match="not found"):
        studio.compare.takes(take.id, 10**9)


def test_better_knows_which_way_each_measure_points():
    assert better("similarity_mean", 0.5, 0.9) == "B" and better("wer_mean", 0.1, 0.3) == "A"
    assert better("words_per_minute", 150, 170) == "" and better("wer", None, 0.1) == ""


# ------------------------------------------------------------------------------ a listener who goes away


def test_a_narration_whose_reader_left_after_the_first_chunk_is_still_stored_once(studio, project_id):
    """A closed browser stops reading the stream; the narration runs on its own thread, so it is still stored
    (once) and the Takes tab lists it."""
    text = "A listener closes the page. The narration goes on. It is stored all the same."
    before = studio.takes.count(project_id)
    events = studio.speak.speak(project_id, text, engine_id=FAKE_ENGINE, seed=12, gate=False)
    assert next(events).kind == "chunk"
    events.close()
    assert events.wait(60)
    assert list(events) == []  # closed: nothing more is read
    speech = [t for t in studio.takes.all(project_id) if t.kind == "speech" and t.text == text]
    assert len(speech) == 1 and speech[0].seed == 12
    children = studio.store.take_children(speech[0].id)
    assert len(children) == speech[0].parameters["chunks"] == 3
    assert studio.takes.count(project_id) == before + 4
    assert speech[0].id in {t.id for t in studio.takes.list(project_id)}  # newest first: on the first page


def test_progress_reaches_the_reader_in_its_own_thread(studio, project_id):
    import threading

    seen = []
    events = studio.speak.speak(project_id, THREE, engine_id=FAKE_ENGINE, seed=4, gate=False,
                                progress=lambda f, message: seen.append((f, message, threading.current_thread())))
    kinds = [e.kind for e in events]
    assert kinds == ["chunk"] * 3 + ["done"]
    assert {thread for _, _, thread in seen} == {threading.current_thread()}
    assert [m for _, m, _ in seen if m.startswith("chunk")] == ["chunk 1 of 3", "chunk 2 of 3", "chunk 3 of 3"]
    assert seen[-1][:2] == (1.0, "done") and [f for f, _, _ in seen] == sorted(f for f, _, _ in seen)


@needs_speech
def test_the_closest_built_in_speaker_is_found_once_per_voice_and_kept_in_the_store(studio, project_id, engine):
    """Issue #11: the search speaks a probe sentence in every built-in speaker; a studio opened later (a
    restart) reads the voice's match from the store instead of searching again. (Unmatched: a matched voice
    also needs its chosen speaker's probe for the speaker's profile, once per process.)"""
    voice = studio.voices.create(project_id, "Probe once", [ClipInput(source=speech_clip(NINE))], consent=True)
    first = speak(studio, project_id, "Speak in the closest voice.", voice_id=voice.id, seed=2,
                  match_voice=False)[-1]
    probes = [text for text, _ in engine.calls if text == PROBE_TEXT]
    assert first.match is not None and len(probes) == len(FakeSpeak.SPEAKERS)
    engine.calls.clear()
    restarted = Studio(studio.store, studio.settings, models=studio.models)  # new matcher, empty memory
    again = list(restarted.speak.speak(project_id, "And once more.", voice_id=voice.id, engine_id=FAKE_ENGINE,
                                       gate=False, seed=2, match_voice=False))[-1]
    assert again.match == first.match
    assert PROBE_TEXT not in [text for text, _ in engine.calls]
    assert studio.takes.get(again.take.id).parameters["speaker"] == first.match.speaker
