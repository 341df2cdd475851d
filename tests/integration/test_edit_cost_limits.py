"""Issue #17, fault 2: an edit out of proportion to its take is refused before anything is planned or spoken
(an edit of a 22-word take into a 100,000-character text took 20 minutes and 7 GB). Against the fake speech
engine, whose word timings stand in for an ASR's."""
from __future__ import annotations

import pytest

from studio.edit_limits import MIN_EDIT_CHARS, NEW_WORDS_FACTOR
from tests.fakes import FAKE_ENGINE, FakeSpeak, word_layout

# 22 words, as in the report
TEXT = ("the lighthouse keeper climbed the winding stairs every single evening before the storm came in from "
        "the sea and lit the lamp")


@pytest.fixture(scope="module")
def project(studio) -> int:
    return studio.projects.list()[0].id


@pytest.fixture(scope="module")
def take(studio, project):
    audio = FakeSpeak()(TEXT, seed=5, speaker="bob")
    take = studio.takes.import_recording(project, (audio.sample_rate, audio.samples), TEXT)
    words = [(word, start, end, 1.0) for word, start, end in word_layout(TEXT)]
    studio.store.set_transcript(take.id, text=TEXT, words=words, engine_id="fake", language="en")
    return take


def count(studio, project) -> int:
    return studio.takes.count(project)


def test_the_reported_edit_is_refused_at_once_with_nothing_spoken_or_stored(studio, project, take, engine):
    assert len(TEXT.split()) == 22
    huge = (TEXT + " ") * (100_000 // (len(TEXT) + 1) + 1)
    huge = huge[:100_000]
    before = count(studio, project)
    with pytest.raises(ValueError, match=r"has 100,000 characters.*at most 2,000 characters.*Speak tab"):
        studio.edit.apply(take.id, huge, engine_id=FAKE_ENGINE)
    with pytest.raises(ValueError, match="at most 2,000 characters"):
        studio.edit.preview(take.id, huge)  # the live preview (every keystroke) pays no diff for it either
    assert engine.calls == [] and count(studio, project) == before


def test_too_many_new_words_are_refused_before_any_is_spoken(studio, project, take, engine):
    words = TEXT.split()
    limit = NEW_WORDS_FACTOR * len(words)
    added = ["again"] * (limit + 1)
    edited = " ".join(words[:5] + added + words[5:])
    assert len(edited) < MIN_EDIT_CHARS  # within the length limit: the new-word limit refuses it
    before = count(studio, project)
    with pytest.raises(ValueError, match=rf"speak {limit + 1} new words into a take of 22 words; an edit may add "
                                         rf"at most {limit}"):
        studio.edit.apply(take.id, edited, engine_id=FAKE_ENGINE)
    assert engine.calls == [] and count(studio, project) == before


def test_an_edit_within_the_limits_is_made(studio, project, take):
    words = TEXT.split()
    limit = NEW_WORDS_FACTOR * len(words)
    edited = " ".join(words[:5] + ["again"] * limit + words[5:])
    outcome = studio.edit.apply(take.id, edited, engine_id=FAKE_ENGINE, seed=3)
    assert outcome.take.parent_id == take.id
