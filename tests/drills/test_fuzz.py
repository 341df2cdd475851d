"""Fuzzing drill (issue #17, reduced for CI): the audio loader, text to speak, text to an edit preview, the
pause-mark parser and archive import, 200 generated cases each. Every case ends in a result or a clear refusal
(ValueError, StorageError), never another exception, and never a half-saved row or a stray blob."""
from __future__ import annotations

import hashlib
import io
import json
import math
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines import audio as au
from pipelines.narration import MAX_PAUSE_S, parse_pause, split
from storage import StorageError
from tests.conftest import SPEECH_DIR, needs_speech
from tests.fakes import FAKE_ENGINE, FakeSpeak, word_layout
from tests.integration import archive_forge as forge

pytestmark = pytest.mark.drill
CASES = settings(max_examples=200, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                        HealthCheck.data_too_large])
CLEAR = (ValueError, StorageError)


def state(studio) -> tuple:
    """Every row count and blob a refused case must leave as it was."""
    store = studio.store
    projects = store.list_projects()
    return (len(projects), sum(store.count_takes(p.id) for p in projects),
            sum(len(store.list_voices(p.id)) for p in projects),
            frozenset(p.name for p in store.blobs.root.rglob("*") if p.is_file()))


# --------------------------------------------------------------------------------------------- audio loader

def _real_files() -> list[bytes]:
    wavs = sorted((SPEECH_DIR / "wav").glob("*.wav"))[:2] if (SPEECH_DIR / "wav").is_dir() else []
    files = [w.read_bytes() for w in wavs]
    if files:
        audio = au.load(files[0])
        files += [au.encode(audio, "flac"), au.encode(audio, "mp3")]
    return files


REAL = _real_files()
EXTENSIONS = ["wav", "flac", "mp3", "ogg", "m4a", "txt", "exe", "", "wav.gz"]


@st.composite
def audio_inputs(draw):
    kind = draw(st.sampled_from(["random", "truncated", "flipped", "renamed"]))
    if kind == "random" or not REAL:
        data = draw(st.binary(max_size=4096))
    else:
        real = draw(st.sampled_from(REAL))
        if kind == "truncated":
            data = real[:draw(st.integers(0, len(real)))]
        elif kind == "flipped":
            data = bytearray(real)
            for at in draw(st.lists(st.integers(0, len(real) - 1), min_size=1, max_size=20)):
                data[at] = draw(st.integers(0, 255))
            data = bytes(data)
        else:
            data = real
    as_file = draw(st.booleans())
    return data, (draw(st.sampled_from(EXTENSIONS)) if as_file else None)


@needs_speech
@CASES
@given(case=audio_inputs())
def test_fuzz_audio_loader(case, tally):
    data, extension = case
    with tempfile.TemporaryDirectory() as folder:
        source: bytes | Path = data
        if extension is not None:
            source = Path(folder) / f"upload.{extension}"
            source.write_bytes(data)
        try:
            audio = au.load(source, max_seconds=30)
        except au.AudioError:
            tally.refused()
            return
    assert audio.num_samples > 0 and audio.sample_rate > 0
    tally.accepted()


# --------------------------------------------------------------------------------------------- text

PIECES = ["Hello there.", "[pause 1s]", "[pause 999s]", "[pause", "]", "[pause 2ms]", "\x00", "\n\n", "   ",
          "Привет", "你好", "?!", "...", "don't", "[PAUSE: 2 seconds]", "a" * 130, "1,000", "\u200b", "é"]
scripts = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=40)), max_size=8).map(" ".join)


@pytest.fixture(scope="module")
def project(studio) -> int:
    return studio.projects.create("Fuzz").id


@CASES
@given(text=scripts)
def test_fuzz_speak_text(studio, project, text, tally):
    before = state(studio)
    try:
        events = list(studio.speak.speak(project, text, engine_id=FAKE_ENGINE, gate=False, seed=1))
    except CLEAR:
        if state(studio) != before:
            tally.lost()
        assert state(studio) == before, "a refused narration left something behind"
        tally.refused()
        return
    done = events[-1]
    children = studio.store.take_children(done.take.id)
    assert done.kind == "done" and len(children) == done.take.parameters["chunks"]
    tally.accepted()


@pytest.fixture(scope="module")
def transcribed(studio, project):
    text = "The quick brown fox jumps over the lazy dog"
    audio = FakeSpeak()(text, seed=2)
    take = studio.takes.import_recording(project, (audio.sample_rate, audio.samples), text)
    studio.store.set_transcript(take.id, text=text, words=[(w, s, e, 1.0) for w, s, e in word_layout(text)],
                                engine_id="fake", language="en")
    return take


@CASES
@given(text=scripts)
def test_fuzz_edit_preview(studio, project, transcribed, text, tally):
    before = state(studio)
    try:
        preview = studio.edit.preview(transcribed.id, text, project_id=project)
    except CLEAR:
        tally.refused()
    else:
        assert all(label in (None, "deleted", "inserted") for _, label in preview.segments)
        tally.accepted()
    assert state(studio) == before, "a preview wrote something"


marks = st.one_of(st.text(max_size=30), st.builds(lambda inner: f"[pause{inner}]", st.text(max_size=15)),
                  st.builds(lambda n, unit: f"[pause {n}{unit}]",
                            st.one_of(st.integers(-5, 10**6).map(str), st.floats(allow_nan=True).map(str)),
                            st.sampled_from(["s", "ms", "", " seconds", "m", "h"])))


@CASES
@given(mark=marks, text=scripts)
def test_fuzz_pause_markup(mark, text, tally):
    try:
        seconds = parse_pause(mark)
        segments = split(f"{text} {mark} {text}")
    except ValueError:
        tally.refused()
        return
    assert math.isfinite(seconds) and 0 <= seconds <= MAX_PAUSE_S
    assert all(math.isfinite(s.pause_after_s) and 0 <= s.pause_after_s <= MAX_PAUSE_S for s in segments)
    tally.accepted()


# --------------------------------------------------------------------------------------------- archive import

CLIP = forge.tone_flac(1.5)
SHA = hashlib.sha256(CLIP).hexdigest()
VALID = forge.manifest([forge.take_entry(SHA, duration=1.5)], [forge.voice_entry(SHA, duration=1.5)])
JUNK = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=3), max_leaves=6)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


PATHS = [p for p in _paths(VALID) if p]


@st.composite
def archives(draw) -> bytes:
    manifest = json.loads(json.dumps(VALID))
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(PATHS))
        parent = manifest
        try:
            for key in path[:-1]:
                parent = parent[key]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(JUNK)
        except (KeyError, IndexError, TypeError):
            pass
    members = {f"audio/{SHA}": CLIP}
    if draw(st.booleans()):
        name = draw(st.sampled_from(["../../etc/x", "/etc/passwd", f"audio/../../{SHA}", "audio/" + "0" * 64]))
        members[name] = draw(st.sampled_from([CLIP, b"#!/bin/sh\necho owned\n"]))
    if draw(st.booleans()):
        members.pop(f"audio/{SHA}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", draw(st.sampled_from([json.dumps(manifest), json.dumps(manifest)[:-3]])))
        for name, data in members.items():
            zf.writestr(name, data)
    data = bytearray(buffer.getvalue())
    for at in draw(st.lists(st.integers(0, len(data) - 1), max_size=3)):
        data[at] = draw(st.integers(0, 255))
    return bytes(data)


@CASES
@given(data=archives())
def test_fuzz_archive_import(studio, tmp_path_factory, data, tally):
    folder = tmp_path_factory.mktemp("archive")
    archive = folder / "project.retake.zip"
    archive.write_bytes(data)
    before = state(studio)
    try:
        project = studio.projects.import_archive(archive)
    except CLEAR:
        after = state(studio)
        if after != before:
            tally.lost()
        assert after == before, "a refused archive left something behind"
        tally.refused()
        return
    assert state(studio)[0] == before[0] + 1
    for take in studio.takes.all(project.id):
        assert take.audio_sha in studio.store.blobs
    assert not (folder / "etc").exists() and not (folder.parent / "etc").exists()
    tally.accepted()
