"""Use cases over a real SQLite store and real recordings: what the UI, API and CLI rely on."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from pipelines import audio as au
from storage import NotFoundError
from studio.config import Settings
from studio.service import Studio
from studio.voices import REFERENCE_LOUDNESS_LUFS, ClipInput, ConsentRequired
from tests.conftest import speech_clip


@pytest.fixture
def project_id(studio, request) -> int:
    """A project of its own for each test, in the module's studio."""
    return studio.projects.create(request.node.name).id


def padded_clip(tmp_path, clip_id: str, pad_s: float = 1.5):
    data, rate = sf.read(speech_clip(clip_id), dtype="float32")
    padded = np.concatenate([np.zeros(int(pad_s * rate), np.float32), data, np.zeros(int(pad_s * rate), np.float32)])
    path = tmp_path / f"{clip_id}-padded.wav"
    sf.write(path, padded, rate, subtype="PCM_16")
    return path, len(data) / rate


def test_reference_clips_are_trimmed_and_levelled(studio, project_id, tmp_path):
    path, speech_seconds = padded_clip(tmp_path, "coqui_lj_LJ001-0016")
    quiet = tmp_path / "quiet.wav"
    data, rate = sf.read(speech_clip("pocketsphinx_goforward"), dtype="float32")
    sf.write(quiet, data * 0.05, rate)
    voice = studio.voices.create(project_id, "  Ann  ", [ClipInput(path, "The Middle Ages"), ClipInput(quiet)],
                                consent=True, consented_by="tester")
    assert voice.name == "Ann" and voice.consent.confirmed_by == "tester"
    assert [c.transcript for c in voice.clips] == ["The Middle Ages", None]
    first = studio.voices.clip_audio(voice.id, 0)
    assert first.duration < speech_seconds + 0.5  # 3 s of padding is gone, a little margin kept
    for index in (0, 1):
        level = au.loudness(studio.voices.clip_audio(voice.id, index))
        assert abs(level - REFERENCE_LOUDNESS_LUFS) < 1.0


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"consent": False}, ConsentRequired, "consent"),
        ({"name": "   "}, ValueError, "name"),
        ({"language": "English!"}, ValueError, "Language"),
        ({"clips": []}, ValueError, "at least one"),
        # A callable is resolved inside the test, so a missing ../shared skips it instead of breaking collection.
        ({"clips": lambda: [ClipInput(speech_clip("pocketsphinx_cards_001"))] * 11}, ValueError, "at most"),
    ],
)
def test_bad_voice_requests_are_refused_and_save_nothing(studio, project_id, kwargs, error, message):
    kwargs = {key: value() if callable(value) else value for key, value in kwargs.items()}
    args = {"name": "Bob", "clips": [ClipInput(speech_clip("coqui_lj_LJ001-0008"))], "consent": True, **kwargs}
    with pytest.raises(error, match=message):
        studio.voices.create(project_id, args.pop("name"), args.pop("clips"), **args)
    assert studio.voices.list(project_id) == []


def test_one_bad_clip_among_good_ones_saves_nothing(studio, project_id, tmp_path):
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(48000, np.float32), 16000)
    with pytest.raises(au.AudioError, match="silent.wav"):
        studio.voices.create(project_id, "Mixed", [ClipInput(speech_clip("coqui_lj_LJ001-0008")),
                                                  ClipInput(silent, name="silent.wav")], consent=True)
    assert studio.voices.list(project_id) == []


def test_too_short_reference_is_refused(studio, project_id, tmp_path):
    data, rate = sf.read(speech_clip("coqui_lj_LJ001-0008"), dtype="float32")
    short = tmp_path / "short.wav"
    sf.write(short, data[: int(0.6 * rate)], rate)
    with pytest.raises(au.AudioError, match="at least 1 s"):
        studio.voices.create(project_id, "Short", [ClipInput(short, name="short.wav")], consent=True)


def test_over_long_reference_is_refused_with_the_limit(tmp_path):
    studio = Studio.open(Settings(data_dir=tmp_path / "d", max_audio_seconds=5))
    try:
        with pytest.raises(au.AudioError, match="longer than"):
            studio.voices.create(studio.projects.list()[0].id, "Long", [ClipInput(speech_clip("coqui_lj_LJ001-0001"))],
                                consent=True)
    finally:
        studio.close()


def test_imported_recording_downloads_in_every_format(studio, project_id):
    clip = speech_clip("deb_asterisk_en_vm-prev")
    take = studio.takes.import_recording(project_id, clip, "Press 4 for the previous message")
    assert take.kind == "recording" and take.sample_rate == 8000
    original = au.load(clip)
    for fmt in ("wav", "flac", "mp3", "ogg"):
        path = studio.takes.file(take.id, fmt)
        assert path.suffix == f".{fmt}"
        decoded = au.load(path)
        assert abs(decoded.duration - original.duration) < 0.08, fmt
    with pytest.raises(ValueError, match="format"):
        studio.takes.file(take.id, "exe")


def test_takes_listing_starring_and_deleting(studio, project_id):
    ids = [studio.takes.import_recording(project_id, speech_clip(c)).id
           for c in ("pocketsphinx_cards_001", "pocketsphinx_cards_002", "pocketsphinx_cards_003")]
    assert [t.id for t in studio.takes.list(project_id)] == ids[::-1]
    studio.takes.set_starred(ids[1], True)
    assert [t.id for t in studio.takes.list(project_id, starred_only=True)] == [ids[1]]
    assert studio.takes.count(project_id) == 3
    assert [t.id for t in studio.takes.list(project_id, page=2, page_size=2)] == [ids[0]]
    studio.takes.delete(ids[0])
    with pytest.raises(NotFoundError):
        studio.takes.get(ids[0])
    with pytest.raises(ValueError, match="Pages start at 1"):
        studio.takes.list(project_id, page=0)
