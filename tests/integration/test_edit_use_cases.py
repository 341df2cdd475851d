"""Edit use cases against a recording made by the fake speech engine, whose word timings are known exactly
(`tests.fakes.word_layout`), so no ASR is needed: edits by text make child takes with their transcript, words
are inserted by the fake engine in its closest built-in voice, waveform edits and joins, and every bad input is
refused with nothing stored. Transcribing with Whisper and inserting with Piper are tested in
test_editing_service.py."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from studio.service import Studio
from tests.fakes import FAKE_ENGINE, FakeSpeak, word_layout

TEXT = "the lighthouse keeper climbed the winding stairs every single evening before the storm"


@pytest.fixture(scope="module")
def project(studio) -> int:
    return studio.projects.list()[0].id


def recording(studio, project, text=TEXT, seed=5):
    """A take made by the fake engine (speaker "bob"), with its transcript stored as an ASR would."""
    audio = FakeSpeak()(text, seed=seed, speaker="bob")
    take = studio.takes.import_recording(project, (audio.sample_rate, audio.samples), text)
    words = [(word, start, end, 1.0) for word, start, end in word_layout(text)]
    studio.store.set_transcript(take.id, text=text, words=words, engine_id="fake", language="en")
    return take


@pytest.fixture(scope="module")
def take(studio, project):
    return recording(studio, project)


def test_a_stored_transcript_is_used_as_it_is(studio, take):
    assert studio.edit.transcript(take.id).text == TEXT  # no transcriber is asked


def test_deleting_a_word_makes_a_child_take_and_leaves_the_original_intact(studio, take):
    before = studio.takes.audio(take.id)
    words = TEXT.split()
    edited = " ".join(words[:3] + words[4:])
    outcome = studio.edit.apply(take.id, edited)
    new = outcome.take
    assert (new.kind, new.parent_id, new.text, new.engine_id, new.seed) == ("edit", take.id, edited, None, None)
    assert [e["kind"] for e in new.parameters["edits"]] == ["delete"] and new.parameters["source_take"] == take.id
    assert new.duration < take.duration - 0.1
    np.testing.assert_array_equal(before.samples, studio.takes.audio(take.id).samples)
    stored = studio.store.get_transcript(new.id)
    assert stored.text.split() == edited.split() and stored.engine_id == "edit"
    assert studio.edit.origin(new.id).id == take.id


def test_new_words_are_spoken_in_the_closest_built_in_voice(studio, take):
    words = TEXT.split()
    edited = " ".join(words[:1] + ["old"] + words[1:])
    outcome = studio.edit.apply(take.id, edited, engine_id=FAKE_ENGINE, seed=7)
    new = outcome.take
    assert new.engine_id == FAKE_ENGINE and new.engine_revision == "fake-1" and new.seed == 7
    assert new.parameters["insert_engine"] == FAKE_ENGINE
    assert [e["kind"] for e in new.parameters["edits"]] == ["insert"]
    assert new.duration > take.duration
    assert len(outcome.notices) == 2 and "not a cloner" in outcome.notices[0]
    assert "'bob'" in outcome.notices[0]  # the recording was made in bob's voice
    # the fake engine's tones are no words: the seam check says so, and the take records it
    assert "Insert “old”: the new words are not heard" in outcome.notices[1]
    assert new.parameters["edits"][0]["check"]["verdict"] == "not heard"
    assert new.scores["edits_checked"] == 1 and new.scores["edits_heard_clean"] == 0
    assert new.scores["edits"] == 1 and new.scores["worst_seam_click"] is not None
    again = studio.edit.apply(take.id, edited, engine_id=FAKE_ENGINE, seed=7)
    np.testing.assert_array_equal(studio.takes.audio(new.id).samples, studio.takes.audio(again.take.id).samples)


def test_preview_marks_deleted_and_inserted_words(studio, take):
    words = TEXT.split()
    preview = studio.edit.preview(take.id, " ".join(["Hello"] + words[:2] + words[3:]))
    labels = [label for _, label in preview.segments if label]
    assert "inserted" in labels and "deleted" in labels and preview.needs_engine
    assert "".join(text for text, _ in preview.segments).split()[0] == "Hello"


def test_preview_of_the_unchanged_transcript_is_no_edit_not_an_error(studio, take):
    # Issue #11: right after Transcribe the live preview saw the unchanged text and showed "Nothing changed" as
    # an error. Unchanged text previews as no edits; applying it is still refused.
    stored = studio.edit.transcript(take.id).text
    for same in (stored, stored.upper(), stored.replace(",", "")):
        preview = studio.edit.preview(take.id, same)
        assert preview.edits == () and not preview.needs_engine
        assert all(label is None for _, label in preview.segments)
    with pytest.raises(ValueError, match="Nothing changed"):
        studio.edit.apply(take.id, stored, engine_id=None)


def test_bad_edits_are_refused_with_readable_messages_and_store_nothing(studio, project, take):
    words = TEXT.split()
    count = studio.takes.count(project)
    cases = [
        ("", None, "delete everything|no words"),
        ("   ...  ", None, "delete everything|no words"),
        (TEXT, None, "nothing changed|no change"),
        (" ".join(words[:2] + ["extra"] + words[2:]), None, "engine"),
        (" ".join(words[:2] + ["extra"] + words[2:]), "whisper-base-embedded", "not a speech engine"),
        (" ".join(words[:2] + ["Привет", "как", "дела", "друзья"] + words[2:]), FAKE_ENGINE, "Russian|language"),
    ]
    for text, engine, message in cases:
        with pytest.raises(ValueError, match=f"(?i){message}"):
            studio.edit.apply(take.id, text, engine_id=engine)
    with pytest.raises(ValueError, match="Seed must be"):
        studio.edit.apply(take.id, " ".join(words[1:]), seed=-3)
    assert studio.takes.count(project) == count


def test_waveform_edits_make_child_takes_of_the_expected_length(studio, take):
    d = take.duration
    trimmed = studio.edit.waveform(take.id, "trim", start=0.5, end=2.5)
    assert trimmed.duration == pytest.approx(2.0, abs=0.01) and trimmed.parent_id == take.id
    cut = studio.edit.waveform(take.id, "cut", start=1.0, end=2.0)
    assert cut.duration == pytest.approx(d - 1.0, abs=0.03)
    padded = studio.edit.waveform(take.id, "silence", start=1.0, seconds=0.75)
    assert padded.duration == pytest.approx(d + 0.75, abs=0.03)
    faded = studio.edit.waveform(take.id, "fade", start=0.5, end=0.5)
    audio = studio.takes.audio(faded.id)
    assert faded.duration == pytest.approx(d, abs=0.001)
    assert abs(audio.samples[0]) <= 1e-3 and abs(audio.samples[-1]) <= 1e-3
    joined = studio.edit.join([trimmed.id, cut.id], gap_s=0.5)
    assert joined.duration == pytest.approx(trimmed.duration + cut.duration + 0.5, abs=0.05)
    assert joined.parameters["takes"] == [trimmed.id, cut.id] and joined.parent_id == trimmed.id


@pytest.mark.parametrize("operation, kwargs, message", [
    ("trim", {"start": 2.0, "end": 1.0}, "(?i)start|end"),
    ("cut", {"start": 0.0, "end": 1e6}, "(?i)inside the take|whole take"),
    ("spin", {}, "Unknown waveform edit"),
    ("silence", {"start": 1.0, "seconds": -1}, "zero or more"),
    ("fade", {"start": "soon"}, "must be a number"),
])
def test_bad_waveform_edits_are_refused_and_store_nothing(studio, project, take, operation, kwargs, message):
    count = studio.takes.count(project)
    with pytest.raises(ValueError, match=message):
        studio.edit.waveform(take.id, operation, **kwargs)
    assert studio.takes.count(project) == count


def test_joins_and_going_back_refuse_what_makes_no_sense(studio, take):
    with pytest.raises(ValueError, match="at least two"):
        studio.edit.join([take.id])
    with pytest.raises(ValueError, match="at most 10 s"):
        studio.edit.join([take.id, take.id], gap_s=11)
    with pytest.raises(ValueError, match="is an original"):
        studio.edit.origin(take.id)


def test_a_take_without_a_transcript_must_be_transcribed_first(studio, project):
    audio = FakeSpeak()("no transcript here", seed=1)
    plain = studio.takes.import_recording(project, (audio.sample_rate, audio.samples))
    with pytest.raises(ValueError, match="transcribe it first"):
        studio.edit.apply(plain.id, "hello")
    with pytest.raises(ValueError, match="does not transcribe"):
        studio.edit.transcript(plain.id, engine_id=FAKE_ENGINE)


def test_a_take_whose_audio_is_missing_or_too_long_is_refused(studio, project):
    missing = recording(studio, project, "this one loses its audio file", seed=2)
    studio.store.audio_path(missing.audio_sha).unlink()
    with pytest.raises(ValueError, match="missing from the project's files"):
        studio.edit.apply(missing.id, "this one loses its file")
    take = recording(studio, project, "a take longer than this studio edits", seed=3)
    strict = Studio(studio.store, dataclasses.replace(studio.settings, max_audio_seconds=1.0), models=studio.models)
    with pytest.raises(ValueError, match=r"lasts 2 s; editing is limited to 1 s \(RETAKE_MAX_AUDIO_SECONDS\)"):
        strict.edit.transcript(take.id, refresh=True)


def test_the_seam_notice_says_when_kept_words_were_re_spoken_with_new_ones():
    from pipelines.audio import Audio
    from pipelines.editing import AppliedEdit, EditResult
    from pipelines.editing.check import SeamCheck
    from studio.edit_notices import seam_notices

    def result(*checks: SeamCheck) -> EditResult:
        edits = tuple(AppliedEdit("replace", "the forward ten", "the harbour ten", 0.1, 0.9, 0.1, 1.0, check=c)
                      for c in checks)
        return EditResult(Audio(np.zeros(1600, np.float32), 16000), edits, (), (), "")

    respoken = SeamCheck("clean", "the harbour ten", "the harbour ten", tries=5, cuts="neighbours")
    plain = SeamCheck("clean", "harbour", "harbour")
    assert seam_notices(result(plain)) == ["Seam check: all 1 edit(s) heard as intended by the recogniser."]
    notices = seam_notices(result(respoken, plain))
    assert notices[0].startswith("Seam check: all 2") and len(notices) == 2
    assert notices[1].startswith("“the harbour ten” is said whole") and "re-spoken" in notices[1]
    failed = seam_notices(result(dataclasses.replace(plain, verdict="not heard"), respoken))
    assert "not heard" in failed[0] and "re-spoken" in failed[1] and len(failed) == 2


def test_the_seam_notice_says_when_a_deletion_was_made_by_saying_the_kept_words_again():
    from pipelines.audio import Audio
    from pipelines.editing import AppliedEdit, EditResult
    from pipelines.editing.check import SeamCheck
    from studio.edit_notices import seam_notices

    check = SeamCheck("clean", "was here", "was here", tries=5, cuts="respoken")
    edit = AppliedEdit("replace", "was not here", "was here", 0.1, 0.9, 0.1, 0.7, check=check)
    notices = seam_notices(EditResult(Audio(np.zeros(1600, np.float32), 16000), (edit,), (), (), ""))
    assert notices[0].startswith("Seam check: all 1") and len(notices) == 2
    assert notices[1].startswith("“was not here” became “was here” said again") and "no cut" in notices[1]


def test_a_deletion_may_be_said_again_only_by_an_engine_here_that_speaks_the_recordings_language(studio):
    respeaking = studio.edit._respeaking_engine
    assert respeaking(FAKE_ENGINE, "en").id == FAKE_ENGINE  # tiny local weights count as here
    assert respeaking("piper-joe-embedded", "en").id == "piper-joe-embedded"  # embedded
    assert respeaking("piper-joe-embedded", "de") is None  # an English voice does not say German words
    assert respeaking("no-such-engine", "en") is None and respeaking("whisper-base-embedded", "en") is None
    assert respeaking("dia-1.6b", "en") is None  # Hub weights not downloaded: a deletion never waits for them


def test_the_edit_summary_marks_an_edit_whose_kept_words_were_said_again(studio, take):
    from studio.ui.edit import edit_summary

    words = TEXT.split()
    outcome = studio.edit.apply(take.id, " ".join(words[:3] + words[4:]))
    [edit] = outcome.result.edits
    assert edit.check is not None and "said again" not in edit_summary(outcome)
    respoken = dataclasses.replace(edit, check=dataclasses.replace(edit.check, verdict="clean", cuts="respoken"))
    shown = dataclasses.replace(outcome, result=dataclasses.replace(outcome.result, edits=(respoken,)))
    assert "| clean: “" in edit_summary(shown) and "(kept words said again) |" in edit_summary(shown)
