"""Issue #17, faults 10 and 11: pause marks are not words (English with `[pause 2s]` is English), a pause
longer than allowed is refused before anything is synthesised, and a NUL character gets one clear sentence
wherever text comes in."""
from __future__ import annotations

import numpy as np
import pytest

from studio.voices import ClipInput
from tests.fakes import FAKE_ENGINE, FakeSpeak, word_layout


@pytest.fixture(scope="module")
def project(studio) -> int:
    return studio.projects.list()[0].id


def speak(studio, project, text):
    return list(studio.speak.speak(project, text, engine_id=FAKE_ENGINE, gate=False, seed=1))


def takes(studio, project) -> int:
    return studio.takes.count(project)


def test_english_with_pause_marks_is_english(studio, project):
    done = speak(studio, project, "Wait [pause 2s] then go [pause 1s].")[-1]
    assert done.take.text == "Wait [pause 2s] then go [pause 1s]."
    assert done.audio.duration > 3.0  # the pauses are in it


def test_a_pause_over_the_limit_is_refused_before_synthesis(studio, project):
    before = takes(studio, project)
    engine = studio.models.get(FAKE_ENGINE)
    engine.calls.clear()
    with pytest.raises(ValueError, match=r"asks for 999 s; at most 60 s"):
        studio.speak.speak(project, "Wait [pause 2s] then go [pause 999s].", engine_id=FAKE_ENGINE, gate=False)
    assert engine.calls == [] and takes(studio, project) == before


def test_only_pause_marks_is_nothing_to_speak(studio, project):
    with pytest.raises(ValueError, match="not only spaces, punctuation or pause marks"):
        studio.speak.speak(project, "[pause 1s] [pause 2s]", engine_id=FAKE_ENGINE, gate=False)


def tone() -> tuple[int, np.ndarray]:
    t = np.arange(32000) / 16000
    return 16000, (0.3 * np.sin(2 * np.pi * 180 * t)).astype(np.float32)


def test_a_nul_character_gets_one_clear_sentence_everywhere(studio, project):
    audio = FakeSpeak()("Hello there friend", seed=1)
    take = studio.takes.import_recording(project, (audio.sample_rate, audio.samples), "Hello there friend")
    words = [(w, s, e, 1.0) for w, s, e in word_layout("Hello there friend")]
    studio.store.set_transcript(take.id, text="Hello there friend", words=words, engine_id="fake", language="en")
    voice = studio.voices.create(project, "Plain", [ClipInput(tone())], consent=True)
    before = (takes(studio, project), [v.name for v in studio.voices.list(project)],
              [p.name for p in studio.projects.list()])
    attempts = {
        "speak": lambda: studio.speak.speak(project, "Hello\x00 world", engine_id=FAKE_ENGINE, gate=False),
        "edit preview": lambda: studio.edit.preview(take.id, "Hello\x00 friend"),
        "edit apply": lambda: studio.edit.apply(take.id, "Hello\x00 friend"),
        "voice name": lambda: studio.voices.create(project, "Bad\x00name", [ClipInput(tone())], consent=True),
        "voice rename": lambda: studio.voices.rename(voice.id, "Bad\x00name"),
        "clip transcript": lambda: studio.voices.create(project, "Other", [ClipInput(tone(), "a\x00b")],
                                                        consent=True),
        "project name": lambda: studio.projects.create("Bad\x00project"),
        "take text": lambda: studio.takes.import_recording(project, tone(), "a\x00b"),
    }
    for name, attempt in attempts.items():
        with pytest.raises(ValueError, match="contains a NUL character") as caught:
            attempt()
        assert "embedded null" not in str(caught.value), name
    assert before == (takes(studio, project), [v.name for v in studio.voices.list(project)],
                      [p.name for p in studio.projects.list()])
