"""Issue #17, fault 2: long work stops at its next checkpoint once its token is cancelled from another thread,
and a cancelled job stores nothing: no take rows, no blobs, no temp or half-written files.

`CancelledFromElsewhere` is a real `CancelToken` that, at its n-th check, hands over to a second thread which
cancels it, and waits until that is done: the cancel arrives from another thread at a known point of the job,
without sleeps. Speaking, fixing and editing run on the fake speech engine (`tests.fakes`), enhancing without a
denoiser, export and import on real archives."""
from __future__ import annotations

import threading

import pytest

from pipelines.cancel import CANCELLED, LEFT, Cancelled, CancelToken, checkpoint
from studio.enhance import NO_ENGINE
from studio.voices import ClipInput
from tests.conftest import needs_speech, speech_clip
from tests.fakes import FAKE_ENGINE, FakeSpeak, word_layout

LONG = " ".join(f"Sentence number {i} of a long narration is spoken here." for i in range(1, 13))
WORDS = "the lighthouse keeper climbed the winding stairs every single evening before the storm"


class CancelledFromElsewhere(CancelToken):
    """Cancelled by another thread at its `at`-th check (which then raises); counts every check, so a test
    can see that no work went on checking after the cancel (Cancelled swallowed somewhere)."""

    def __init__(self, at: int, reason: str = CANCELLED) -> None:
        super().__init__()
        self.at, self.checks, self.why = at, 0, reason

    def check(self) -> None:
        self.checks += 1
        if self.checks == self.at:
            canceller = threading.Thread(target=self.cancel, args=(self.why,))
            canceller.start()
            canceller.join()
            assert self.cancelled
        super().check()


@pytest.fixture(scope="module")
def project(studio) -> int:
    return studio.projects.list()[0].id


def stored(studio) -> tuple:
    """Every take, project and file the studio keeps (blobs, cache, temp files) — what a cancel must not touch."""
    store = studio.store
    projects = store.list_projects()
    takes = tuple(t.id for p in projects for t in store.list_takes(p.id, limit=1000))
    files = frozenset(str(p.relative_to(studio.settings.data_dir)) for p in studio.settings.data_dir.rglob("*")
                      if p.is_file() and ".db" not in p.name)
    return tuple(p.id for p in projects), takes, files


def recording(studio, project, text=WORDS):
    audio = FakeSpeak()(text, seed=3, speaker="bob")
    take = studio.takes.import_recording(project, (audio.sample_rate, audio.samples), text)
    words = [(word, start, end, 1.0) for word, start, end in word_layout(text)]
    studio.store.set_transcript(take.id, text=text, words=words, engine_id="fake", language="en")
    return take


def test_the_token_itself():
    token = CancelToken()
    checkpoint(None)
    checkpoint(token)
    assert not token.cancelled and not token.wait(0) and token.reason is None
    token.cancel()
    token.cancel(LEFT)
    assert token.cancelled and token.wait(0) and token.reason == CANCELLED  # the first reason stays
    with pytest.raises(Cancelled, match="nothing was saved"):
        checkpoint(token)
    assert not issubclass(Cancelled, Exception)  # an `except Exception` for a failing model never swallows it


def test_a_cancelled_narration_stops_after_the_chunk_in_progress_and_stores_nothing(studio, project, engine):
    before = stored(studio)
    token = CancelledFromElsewhere(at=2)
    events = studio.speak.speak(project, LONG, engine_id=FAKE_ENGINE, gate=False, seed=1, cancel=token)
    got = []
    with pytest.raises(Cancelled):
        for event in events:
            got.append(event.kind)
    assert got == ["chunk"]  # the second chunk was made, then the checkpoint stopped it
    assert len(engine.calls) <= 3, f"synthesis went on after the cancel: {len(engine.calls)} calls"
    assert token.checks == token.at
    assert stored(studio) == before


def test_a_narration_whose_browser_went_away_stops_and_keeps_the_chunks_already_spoken(studio, project, engine):
    """Issue #11: a closed browser must not lose a narration silently. The studio cancels its jobs as `LEFT`;
    a narration then stops at the next chunk (as a cancel does) but stores what was already spoken, marked."""
    token = CancelledFromElsewhere(at=3, reason=LEFT)
    events = list(studio.speak.speak(project, LONG, engine_id=FAKE_ENGINE, gate=False, seed=1, cancel=token))
    assert [e.kind for e in events] == ["chunk", "chunk", "done"]
    assert len(engine.calls) <= 4, f"synthesis went on after the browser left: {len(engine.calls)} calls"
    done = events[-1]
    take = studio.takes.get(done.take.id)
    assert take.kind == "speech" and take.parameters["stopped"].startswith("stopped after chunk 2 of ")
    assert LONG.startswith(take.text) and 0 < len(take.text) < len(LONG) // 2
    assert abs(take.duration - sum(e.audio.duration for e in events[:2])) < 0.1
    assert [a.parameters["chunk"] for a in done.attempts] == [0, 1]
    assert any("browser went away" in notice for notice in done.notices)


def test_a_narration_left_before_its_first_chunk_stores_nothing(studio, project, engine):
    before = stored(studio)
    token = CancelToken()
    token.cancel(LEFT)
    with pytest.raises(Cancelled):
        list(studio.speak.speak(project, LONG, engine_id=FAKE_ENGINE, gate=False, seed=1, cancel=token))
    assert stored(studio) == before


def test_a_narration_cancelled_before_saving_stores_nothing(studio, project, engine):
    """The last checkpoint sits between encoding and the unit of work: cancelled there, no row or blob."""
    uncancelled = CancelledFromElsewhere(at=10_000)
    list(studio.speak.speak(project, "One short sentence. And a second.", engine_id=FAKE_ENGINE, gate=False,
                            seed=2, cancel=uncancelled))
    last = uncancelled.checks  # the number of checks a whole narration makes; the last one is before saving
    before = stored(studio)
    token = CancelledFromElsewhere(at=last)
    with pytest.raises(Cancelled):
        list(studio.speak.speak(project, "One short sentence. And a second.", engine_id=FAKE_ENGINE, gate=False,
                                seed=2, cancel=token))
    assert stored(studio) == before


def test_a_cancelled_chunk_fix_stores_nothing(studio, project, engine):
    done = list(studio.speak.speak(project, "First part here. Second part there. Third part too.",
                                   engine_id=FAKE_ENGINE, gate=False, seed=4))[-1]
    before = stored(studio)
    for at in (1, 2, 3):  # before speaking, after speaking, before saving
        with pytest.raises(Cancelled):
            studio.fix.regenerate_chunk(done.take.id, 1, seed=9, gate=False, cancel=CancelledFromElsewhere(at))
        assert stored(studio) == before
    engine.calls.clear()
    with pytest.raises(Cancelled):
        studio.fix.regenerate_chunk(done.take.id, 1, seed=9, gate=False, cancel=CancelledFromElsewhere(1))
    assert engine.calls == []  # cancelled before speaking: nothing synthesised


def test_a_cancelled_edit_stops_before_the_next_insertion_and_stores_nothing(studio, project, engine):
    take = recording(studio, project)
    words = WORDS.split()
    edited = " ".join(words[:2] + ["old"] + words[2:6] + ["narrow"] + words[6:10] + ["quiet"] + words[10:])
    before = stored(studio)
    token = CancelledFromElsewhere(at=3)  # 1: before the engine is prepared, 2: first insertion, 3: second
    with pytest.raises(Cancelled):
        studio.edit.apply(take.id, edited, engine_id=FAKE_ENGINE, seed=5, cancel=token)
    spoken = [text for text, _ in engine.calls if text in ("old", "narrow", "quiet")]
    assert spoken == ["old"], f"insertions spoken after the cancel: {spoken}"
    assert token.checks == token.at
    assert stored(studio) == before
    assert studio.edit.apply(take.id, edited, engine_id=FAKE_ENGINE, seed=5).take.parent_id == take.id


def test_a_cancelled_enhancement_of_an_upload_keeps_neither_the_upload_nor_the_result(studio, project):
    audio = FakeSpeak()(WORDS, seed=6)
    before = stored(studio)
    for at in (1, 2, 3):
        with pytest.raises(Cancelled):
            studio.enhance.enhance(project, source=(audio.sample_rate, audio.samples), engine_id=NO_ENGINE,
                                   target="podcast", cancel=CancelledFromElsewhere(at))
        assert stored(studio) == before


def test_a_cancelled_enhance_all_starts_no_other_take(studio, tmp_path):
    project = studio.projects.create(f"enhance-all {tmp_path.name}").id
    for seed in (1, 2, 3):
        audio = FakeSpeak()(WORDS, seed=seed)
        studio.takes.import_recording(project, (audio.sample_rate, audio.samples), WORDS)
    # Each take is checked once before it starts and three times inside: cancelled at the 5th check (the start
    # of the second take), the first take's result is kept whole and nothing else is made.
    with pytest.raises(Cancelled):
        studio.enhance.enhance_all(project, engine_id=NO_ENGINE, cancel=CancelledFromElsewhere(5))
    kinds = sorted(t.kind for t in studio.takes.all(project))
    assert kinds == ["enhanced", "recording", "recording", "recording"]


def test_a_cancelled_export_leaves_no_file(studio, project, tmp_path):
    list(studio.speak.speak(project, "Something to export. With a few chunks. Three of them.",
                            engine_id=FAKE_ENGINE, gate=False, seed=8))
    cache = studio.settings.cache_dir
    before = sorted(p.name for p in cache.glob("*")) if cache.exists() else []
    token = CancelledFromElsewhere(at=2)
    with pytest.raises(Cancelled):
        studio.projects.export(project, cancel=token)
    assert token.checks == token.at
    assert sorted(p.name for p in cache.glob("*")) == before  # neither the archive nor its temp file


def test_a_cancelled_import_writes_nothing(studio, project):
    archive = studio.projects.export(project)
    before = stored(studio)
    token = CancelledFromElsewhere(at=2)
    with pytest.raises(Cancelled):
        studio.projects.import_archive(archive, cancel=token)
    assert token.checks == token.at
    assert stored(studio) == before
    imported = studio.projects.import_archive(archive, cancel=CancelToken())
    assert imported.id not in before[0]


def test_a_cancelled_voice_stores_nothing(studio, project):
    """Checked before each reference clip and before storing: cancelled at any of them, no voice, no clip."""
    clips = [ClipInput(source=(audio.sample_rate, audio.samples), name=f"clip {seed}")
             for seed in (1, 2) for audio in [FakeSpeak()(WORDS, seed=seed, speaker="ann")]]
    before, voices = stored(studio), studio.voices.list(project)
    for at in (1, 2, 3):
        token = CancelledFromElsewhere(at)
        with pytest.raises(Cancelled):
            studio.voices.create(project, f"Cancelled {at}", clips, consent=True, cancel=token)
        assert token.checks == at and stored(studio) == before and studio.voices.list(project) == voices
    assert len(studio.voices.create(project, "Not cancelled", clips, consent=True).clips) == 2


@needs_speech
def test_a_transcription_cancelled_while_the_recogniser_ran_stores_no_transcript(studio, project):
    take = studio.takes.import_recording(project, speech_clip("coqui_lj_LJ001-0008"))
    for at in (1, 2):  # 1: before the recogniser runs, 2: after it, before storing
        with pytest.raises(Cancelled):
            studio.edit.transcript(take.id, cancel=CancelledFromElsewhere(at))
        assert studio.edit.stored_transcript(take.id) is None
    assert studio.edit.transcript(take.id).words and studio.edit.stored_transcript(take.id) is not None
