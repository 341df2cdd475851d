"""Issue #17, fault 13: a client working in one project cannot act on another project's takes or voices by
sending their ids; and fault 3: consent is a real yes or no on every path."""
from __future__ import annotations

import numpy as np
import pytest

from storage import Store
from studio.ownership import NotInProject
from studio.voices import ClipInput, ConsentRequired
from tests.fakes import FAKE_ENGINE, FakeSpeak, word_layout

TEXT = "One take stays in its own project. Nobody else may touch it."


def tone(seconds: float = 2.0, rate: int = 16000) -> tuple[int, np.ndarray]:
    t = np.arange(int(seconds * rate)) / rate
    return rate, (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


@pytest.fixture(scope="module")
def mine(studio) -> int:
    return studio.projects.create("Mine").id


@pytest.fixture(scope="module")
def theirs(studio) -> int:
    return studio.projects.create("Theirs").id


@pytest.fixture(scope="module")
def take(studio, theirs):
    audio = FakeSpeak()(TEXT, seed=3, speaker="bob")
    take = studio.takes.import_recording(theirs, (audio.sample_rate, audio.samples), TEXT)
    words = [(w, s, e, 1.0) for w, s, e in word_layout(TEXT)]
    studio.store.set_transcript(take.id, text=TEXT, words=words, engine_id="fake", language="en")
    return take


@pytest.fixture(scope="module")
def narration(studio, theirs):
    return list(studio.speak.speak(theirs, "First part here. Second part there.", engine_id=FAKE_ENGINE,
                                   gate=False, seed=1))[-1].take


@pytest.fixture(scope="module")
def voice(studio, theirs):
    return studio.voices.create(theirs, "Their voice", [ClipInput(tone())], consent=True)


def rows(store: Store) -> tuple:
    projects = store.list_projects()
    return (tuple((t.id, t.starred) for p in projects for t in store.list_takes(p.id, limit=1000)),
            tuple((v.id, v.name) for p in projects for v in store.list_voices(p.id)))


def test_take_actions_by_id_check_the_project(studio, mine, theirs, take, narration):
    before = rows(studio.store)
    attempt = studio.fix.kept_attempts(narration.id)[0]
    actions = {
        "get": lambda: studio.takes.get(take.id, project_id=mine),
        "audio": lambda: studio.takes.audio(take.id, project_id=mine),
        "star": lambda: studio.takes.set_starred(take.id, True, project_id=mine),
        "delete": lambda: studio.takes.delete(take.id, project_id=mine),
        "file": lambda: studio.takes.file(take.id, "wav", project_id=mine),
        "compare": lambda: studio.compare.takes(take.id, narration.id, project_id=mine),
        "fix kept": lambda: studio.fix.kept_attempts(narration.id, project_id=mine),
        "fix attempts": lambda: studio.fix.chunk_attempts(narration.id, project_id=mine),
        "fix regenerate": lambda: studio.fix.regenerate_chunk(narration.id, 0, gate=False, project_id=mine),
        "fix choose": lambda: studio.fix.choose_attempt(attempt.id, project_id=mine),
        "edit audio": lambda: studio.edit.audio(take.id, project_id=mine),
        "edit transcript": lambda: studio.edit.transcript(take.id, project_id=mine),
        "edit preview": lambda: studio.edit.preview(take.id, "One take", project_id=mine),
        "edit apply": lambda: studio.edit.apply(take.id, "One take stays.", project_id=mine),
        "edit waveform": lambda: studio.edit.waveform(take.id, "trim", start=0, end=1, project_id=mine),
        "edit join": lambda: studio.edit.join([take.id, narration.id], project_id=mine),
        "edit origin": lambda: studio.edit.origin(take.id, project_id=mine),
        "enhance": lambda: studio.enhance.enhance(mine, take_id=take.id, engine_id="none"),
    }
    for name, action in actions.items():
        with pytest.raises(NotInProject, match=r"Take #\d+ is not in this project\."):
            action()
    assert rows(studio.store) == before, "a refused action changed something"
    # In its own project every one of them still works.
    assert studio.takes.get(take.id, project_id=theirs).id == take.id
    assert studio.compare.takes(take.id, narration.id, project_id=theirs).a.id == take.id


def test_voice_actions_by_id_check_the_project(studio, mine, theirs, voice):
    before = rows(studio.store)
    for action in (lambda: studio.voices.get(voice.id, project_id=mine),
                   lambda: studio.voices.rename(voice.id, "Stolen", project_id=mine),
                   lambda: studio.voices.delete(voice.id, project_id=mine),
                   lambda: studio.voices.clip_audio(voice.id, project_id=mine)):
        with pytest.raises(NotInProject, match=r"Voice #\d+ is not in this project\."):
            action()
    assert rows(studio.store) == before
    assert studio.voices.rename(voice.id, "Their voice", project_id=theirs).name == "Their voice"


@pytest.mark.parametrize("given", ["false", "False", " false ", "no", "0", "", "yes", 1, 0, [], "null"])
def test_consent_given_as_anything_but_true_is_refused(studio, mine, given):
    before = rows(studio.store)
    with pytest.raises(ConsentRequired, match="[Cc]onsent"):
        studio.voices.create(mine, f"Voice {given!r}", [ClipInput(tone())], consent=given)
    assert rows(studio.store) == before


@pytest.mark.parametrize("given", [True, "true", "TRUE"])
def test_consent_true_creates_the_voice(studio, mine, given):
    voice = studio.voices.create(mine, f"Consented {given!r}", [ClipInput(tone())], consent=given)
    assert voice.project_id == mine
    studio.voices.delete(voice.id, project_id=mine)
