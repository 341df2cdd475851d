"""Files with chapter marks: an audiobook (M4B: AAC in MP4 with chapter atoms) or an MP3 with ID3 CHAP
frames, so players can jump between the sections of a long narration. libsndfile knows nothing of
chapters, so both go through the ffmpeg command line with an FFMETADATA1 file describing them; WAV,
FLAC and OGG have no chapter support worth relying on and go through `encode` unchanged.
"""
from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import files
from .files import encode
from .ops import resample
from .value import Audio, AudioError

__all__ = ["Chapter", "CHAPTER_FORMATS", "encode_with_chapters", "ffmetadata"]

CHAPTER_FORMATS = ("m4b", "mp3")
# Rates both AAC and MPEG audio carry; anything else is resampled up to the next one (no bandwidth lost).
_CODEC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
_CODECS = {
    "m4b": ["-c:a", "aac", "-b:a", "64k", "-f", "ipod"],  # ipod: the M4A/M4B flavour of the MP4 muxer
    "mp3": ["-c:a", "libmp3lame", "-q:a", "2", "-id3v2_version", "3", "-f", "mp3"],
}


@dataclass(frozen=True)
class Chapter:
    """One chapter mark: where it starts in the file; it ends where the next one starts (or at the end)."""

    title: str
    start_s: float


def _escape(value: str) -> str:
    """FFMETADATA1 treats = ; # \\ and newlines as syntax: a backslash makes them literal."""
    out = value.replace("\\", "\\\\")
    for char in ("=", ";", "#"):
        out = out.replace(char, "\\" + char)
    return out.replace("\n", "\\\n")


def ffmetadata(chapters: Sequence[Chapter], duration_s: float, *, title: str | None = None) -> str:
    """The FFMETADATA1 text for these chapters (millisecond time base), each ending where the next starts.

    Raises ValueError for chapters out of order, outside the audio, or without a title, since a player would
    otherwise show them wrongly or not at all."""
    end_ms = int(round(duration_s * 1000))
    lines = [";FFMETADATA1"]
    if title:
        lines.append(f"title={_escape(title.strip())}")
    starts = [int(round(c.start_s * 1000)) for c in chapters]
    for i, (chapter, start) in enumerate(zip(chapters, starts)):
        if not chapter.title.strip():
            raise ValueError(f"Chapter {i + 1} has no title.")
        if not math.isfinite(chapter.start_s) or not 0 <= start < end_ms:
            raise ValueError(f"Chapter '{chapter.title}' starts at {chapter.start_s:g} s, outside the "
                             f"{duration_s:.3f} s of audio.")
        if i and start <= starts[i - 1]:
            raise ValueError(f"Chapter '{chapter.title}' starts at {chapter.start_s:g} s, not after the one "
                             "before it; chapters must be in order.")
        stop = starts[i + 1] if i + 1 < len(starts) else end_ms
        lines += ["", "[CHAPTER]", "TIMEBASE=1/1000", f"START={start}", f"END={stop}",
                  f"title={_escape(chapter.title.strip())}"]
    return "\n".join(lines) + "\n"


def _codec_rate(rate: int) -> int:
    higher = [r for r in _CODEC_RATES if r >= rate]
    return higher[0] if higher else _CODEC_RATES[-1]


def encode_with_chapters(audio: Audio, chapters: Sequence[Chapter], fmt: str = "m4b", *,
                         title: str | None = None) -> bytes:
    """File bytes with chapter marks: "m4b" (AAC, 64 kb/s mono) or "mp3" (LAME VBR, ID3v2.3 CHAP frames).

    "wav", "flac" and "ogg" are encoded by `encode` without chapters (their players ignore them anyway).
    Samples are clipped to [-1, 1] as `encode` does. The metadata and the output are written into a
    private temp dir (a seekable output lets the muxer write the index and the chapter atoms), which is
    removed whatever happens. Raises AudioError (a ValueError) when ffmpeg is missing or fails, and
    ValueError for an unknown format or bad chapters."""
    fmt = fmt.lower().lstrip(".")
    if fmt not in CHAPTER_FORMATS:
        if fmt in files.SUPPORTED_OUTPUT:
            return encode(audio, fmt)
        choices = ", ".join(dict.fromkeys(CHAPTER_FORMATS + files.SUPPORTED_OUTPUT))
        raise ValueError(f"Cannot encode to '{fmt}'; choose one of: {choices}.")
    if audio.num_samples == 0:
        raise AudioError("Nothing to encode: the audio is empty.")
    metadata = ffmetadata(chapters, audio.duration, title=title)  # before resampling: checks on the true length
    if audio.sample_rate not in _CODEC_RATES:
        audio = resample(audio, _codec_rate(audio.sample_rate))
    samples = np.clip(audio.samples, -1.0, 1.0).astype("<f4")
    with tempfile.TemporaryDirectory(prefix="retake-chapters-") as tmp:
        meta, out = Path(tmp) / "chapters.txt", Path(tmp) / f"out.{fmt}"
        meta.write_text(metadata, encoding="utf-8")
        # ffmpeg's helpers live in files (one place that knows how to find and run it, with its timeout).
        cmd = [files._tool("ffmpeg"), "-nostdin", "-v", "error", "-f", "f32le", "-ar", str(audio.sample_rate),
               "-ac", "1", "-i", "pipe:0", "-f", "ffmetadata", "-i", f"file:{meta}", "-map", "0:a",
               "-map_metadata", "1", "-map_chapters", "1", *_CODECS[fmt], f"file:{out}"]
        proc = files._run(cmd, stdin=samples.tobytes())
        if proc.returncode != 0 or not out.is_file():
            detail = proc.stderr.decode(errors="replace").strip()[:300] or f"exit status {proc.returncode}"
            raise AudioError(f"Encoding to {fmt} with chapters failed: {detail}")
        return out.read_bytes()
