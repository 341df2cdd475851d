"""Exporting a rendered script with chapter marks (pipelines.audio.chapters via narration.render.export): the
files ffprobe reads back carry the chapter titles and starts, the right length, and decode with `load`."""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from pipelines.audio import Audio, load
from pipelines.audio.chapters import Chapter, encode_with_chapters, ffmetadata
from pipelines.narration.render import RenderPiece, export, render

RATE = 22050
pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
                                reason="ffmpeg/ffprobe not installed")


def tone(seconds: float, freq: float) -> Audio:
    t = np.arange(int(round(seconds * RATE))) / RATE
    return Audio((0.25 * np.sin(2 * np.pi * freq * t)).astype(np.float32), RATE)


@pytest.fixture(scope="module")
def rendered():
    sections = [("Opening Words", 2.0), ("Chapter 1: The Sea; a = b #1", 3.1), ("Chapter 2 — Ünïcödé", 2.6)]
    pieces = [RenderPiece(tone(seconds, 150 + 40 * i), (), title, title, 0.45, "Ada", "kokoro", True, i, i)
              for i, (title, seconds) in enumerate(sections)]
    return render(pieces, target="podcast")


def probe(data: bytes, suffix: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"book.{suffix}"
        path.write_bytes(data)
        proc = subprocess.run(["ffprobe", "-v", "error", "-show_chapters", "-show_format", "-show_streams",
                               "-of", "json", str(path)], capture_output=True, check=True)
        return json.loads(proc.stdout)


@pytest.mark.parametrize("fmt, codec", [("m4b", "aac"), ("mp3", "mp3")])
def test_chapters_survive_the_round_trip(rendered, fmt, codec):
    assert len(rendered.chapters) == 3
    data = export(rendered, fmt, title="A Small Book")
    info = probe(data, fmt)
    assert info["streams"][0]["codec_name"] == codec
    assert info["format"]["tags"]["title"] == "A Small Book"
    chapters = info["chapters"]
    assert [c["tags"]["title"] for c in chapters] == [c.title for c in rendered.chapters]
    for got, want in zip(chapters, rendered.chapters):
        assert abs(float(got["start_time"]) - want.start_s) <= 0.05
    assert abs(float(chapters[-1]["end_time"]) - rendered.duration) <= 0.05
    assert abs(float(info["format"]["duration"]) - rendered.duration) <= 0.1
    decoded = load(data)
    assert abs(decoded.duration - rendered.duration) <= 0.1


def test_plain_formats_go_through_encode(rendered):
    wav = encode_with_chapters(rendered.audio, rendered.chapters, "wav")
    assert wav[:4] == b"RIFF"
    assert load(wav).num_samples == rendered.audio.num_samples


def test_bad_chapters_and_formats_are_refused_and_leave_no_files(tmp_path, monkeypatch):
    audio = tone(1.0, 200)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(ValueError, match="in order"):
        encode_with_chapters(audio, [Chapter("b", 0.5), Chapter("a", 0.2)], "m4b")
    with pytest.raises(ValueError, match="outside"):
        encode_with_chapters(audio, [Chapter("late", 2.0)], "m4b")
    with pytest.raises(ValueError, match="Cannot encode"):
        encode_with_chapters(audio, [], "aiff")
    assert encode_with_chapters(audio, [], "mp3")  # no chapters: a plain file
    assert list(tmp_path.iterdir()) == []


def test_ffmpeg_failure_is_readable_and_cleans_up(tmp_path, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "ffmpeg").write_text("#!/bin/sh\necho 'Unknown encoder: the test broke it' >&2\nexit 1\n")
    (fake / "ffmpeg").chmod(0o755)
    monkeypatch.setenv("PATH", str(fake))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with pytest.raises(ValueError, match="with chapters failed: Unknown encoder"):
        encode_with_chapters(tone(1.0, 200), [Chapter("x", 0.0)], "m4b")
    assert list(scratch.iterdir()) == []


def test_metadata_escapes_its_syntax():
    text = ffmetadata([Chapter("a=b;c#d\\e", 0.0)], 1.0, title="T=1")
    assert text.startswith(";FFMETADATA1\ntitle=T\\=1\n")
    assert "title=a\\=b\\;c\\#d\\\\e\n" in text and "START=0\nEND=1000\n" in text
