"""Rendering a script: the chosen take of every segment joined into one file, with its words placed on the
whole timeline (for captions), where each piece lies and who or what made it (for a disclosure manifest),
chapter marks where the section changes, and, when asked, mastered to a delivery target.

Pieces keep their exact places: piece i starts at the sum of the lengths and pauses before it, so word
timings shift by a known offset and stay right after mastering (which runs without trimming the ends).
Clicks at the joins are avoided by fading each piece in and out over `crossfade_s` into its pause
(`audio.join`'s linear crossfade against silence), not by overlapping pieces, which would move them.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..audio import Audio, join, resample
from ..audio.chapters import Chapter, encode_with_chapters
from ..base import Word
from ..mastering import MasteringResult, master

__all__ = ["RenderPiece", "Span", "Rendered", "OPENING", "MAX_CROSSFADE_S", "render", "manifest", "export"]

OPENING = "Opening"  # the chapter title of untitled text before the first section
MAX_CROSSFADE_S = 0.1


@dataclass(frozen=True, eq=False)
class RenderPiece:
    """One segment's chosen take, ready to place: its audio, the words in it (relative to the piece's
    start; may be empty), the pause after it, its section (chapter) and who made it (voice, engine,
    synthetic or recorded) so the rendered file can say which parts are synthetic."""

    audio: Audio
    words: Sequence[Word]
    text: str
    section: str | None
    pause_after_s: float
    voice: str | None
    engine: str | None
    synthetic: bool
    segment_id: int | None = None
    take_id: int | None = None


@dataclass(frozen=True)
class Span:
    """Where one piece lies in the rendered audio (its speech, without the pause after it)."""

    start_s: float
    end_s: float
    segment_id: int | None
    take_id: int | None
    voice: str | None
    engine: str | None
    synthetic: bool
    section: str | None


@dataclass(frozen=True, eq=False)
class Rendered:
    """The rendered script. `level` is the mastering result (levels, pass/fail) when a target was given."""

    audio: Audio
    words: tuple[Word, ...]
    spans: tuple[Span, ...]
    chapters: tuple[Chapter, ...]
    level: MasteringResult | None

    @property
    def duration(self) -> float:
        return self.audio.duration


def _common_rate(pieces: Sequence[RenderPiece]) -> int:
    """The rate most pieces have (the higher one on a tie, so nothing loses bandwidth)."""
    counts = Counter(p.audio.sample_rate for p in pieces)
    return max(counts, key=lambda rate: (counts[rate], rate))


def _check(pieces: Sequence[RenderPiece], crossfade_s: float) -> None:
    if not pieces:
        raise ValueError("Nothing to render: the script has no chosen takes.")
    if not (math.isfinite(crossfade_s) and 0.0 <= crossfade_s <= MAX_CROSSFADE_S):
        raise ValueError(f"crossfade_s must be between 0 and {MAX_CROSSFADE_S:g} seconds, got {crossfade_s!r}.")
    for i, piece in enumerate(pieces):
        if not isinstance(piece.audio, Audio):
            raise ValueError(f"Piece {i + 1} has no Audio value (got {type(piece.audio).__name__}).")
        if not (math.isfinite(piece.pause_after_s) and piece.pause_after_s >= 0):
            raise ValueError(f"Piece {i + 1}: the pause after it must be 0 s or more, got {piece.pause_after_s!r}.")


def _assemble(audios: list[Audio], gaps: list[int], rate: int, crossfade_s: float) -> Audio:
    """Pieces with `gaps[i]` samples of silence after piece i, every piece at exactly the sum of what comes
    before it. Between two pieces the silence is lengthened by two fades, which `join` overlaps with the
    end of the one and the start of the other: each piece fades out into its pause and the next fades in."""
    voiced = [a.num_samples for a in audios if a.num_samples]
    if not voiced:
        return Audio(np.zeros(sum(gaps), dtype=np.float32), rate)
    fade = min(int(round(crossfade_s * rate)), min(voiced) // 2)  # a piece must hold its fade in and out
    lead = 0
    parts: list[Audio] = []
    pending = 0  # silence since the last piece with samples
    for audio, gap in zip(audios, gaps):
        if audio.num_samples:
            if parts:
                parts.append(Audio(np.zeros(pending + 2 * fade, dtype=np.float32), rate))
            else:
                lead = pending
            parts.append(audio)
            pending = 0
        pending += gap
    joined = join(parts, fade / rate).samples if fade else np.concatenate([p.samples for p in parts])
    return Audio(np.concatenate([np.zeros(lead, np.float32), joined, np.zeros(pending, np.float32)]), rate)


def _chapters(pieces: Sequence[RenderPiece], spans: Sequence[Span]) -> tuple[Chapter, ...]:
    """A chapter where the section changes; a piece without a section continues the one above it. Untitled
    pieces before the first section become an "Opening" chapter, skipped when they hold no audio. A script
    with no sections at all has no chapters."""
    if all(p.section is None for p in pieces):
        return ()
    chapters: list[Chapter] = []
    current: str | None = None
    for piece, span in zip(pieces, spans):
        if piece.section is not None and piece.section != current:
            current = piece.section
            chapters.append(Chapter(piece.section, span.start_s))
    leading = [s for p, s in zip(pieces, spans) if p.section is None and s.start_s < chapters[0].start_s]
    if any(s.end_s > s.start_s for s in leading):
        chapters.insert(0, Chapter(OPENING, 0.0))
    else:  # silence before the first section belongs to it: the first chapter starts the file
        chapters[0] = Chapter(chapters[0].title, 0.0)
    # A chapter with no length (an empty piece opening it) would make players misbehave: the later one wins.
    kept: list[Chapter] = []
    for chapter in chapters:
        if kept and chapter.start_s <= kept[-1].start_s:
            kept.pop()
        kept.append(chapter)
    return tuple(kept)


def render(pieces: Sequence[RenderPiece], *, crossfade_s: float = 0.01, target: str | None = None,
           sample_rate: int | None = None) -> Rendered:
    """Join the pieces in order, each followed by its pause (none after the last), at `sample_rate` (default:
    the most common rate among the pieces), fading over `crossfade_s` at each join so none clicks; then
    master to the delivery `target` ("podcast", "broadcast", "audiobook") when given, keeping its report
    (a target that is missed is reported in `level.problems`, not raised). Raises ValueError for no pieces
    or bad pauses, AudioError (a ValueError) when a target is given and the whole render is silent."""
    _check(pieces, crossfade_s)
    rate = int(sample_rate) if sample_rate is not None else _common_rate(pieces)
    audios = [resample(p.audio, rate) for p in pieces]
    gaps = [int(round(p.pause_after_s * rate)) for p in pieces[:-1]] + [0]
    offsets, position = [], 0
    for audio, gap in zip(audios, gaps):
        offsets.append(position)
        position += audio.num_samples + gap
    audio = _assemble(audios, gaps, rate, crossfade_s)
    assert audio.num_samples == position  # the places computed above are where the pieces are
    words = tuple(Word(w.text, w.start + offset / rate, w.end + offset / rate, w.confidence)
                  for piece, offset in zip(pieces, offsets) for w in piece.words)
    spans = tuple(Span(offset / rate, (offset + a.num_samples) / rate, p.segment_id, p.take_id, p.voice, p.engine,
                       bool(p.synthetic), p.section) for p, a, offset in zip(pieces, audios, offsets))
    level = None
    if target is not None:
        level = master(audio, target, trim=False)  # no trimming: the timings above must stay true
        audio = level.audio
    return Rendered(audio, words, spans, _chapters(pieces, spans), level)


def _number(value: float) -> float | None:
    """Seconds and levels for JSON: milliseconds are enough, and -inf (silence) is not valid JSON."""
    return round(float(value), 3) if math.isfinite(value) else None


def manifest(rendered: Rendered) -> dict[str, Any]:
    """What the file is made of, as plain JSON-able data: every span (which are synthetic, which voice and
    engine made them), the chapters, duration, rate, and the delivery target with pass/fail and levels."""
    level = rendered.level
    synthetic = sum(s.end_s - s.start_s for s in rendered.spans if s.synthetic)
    chapters = [{"title": c.title, "start_s": _number(c.start_s),
                 "end_s": _number(rendered.chapters[i + 1].start_s if i + 1 < len(rendered.chapters)
                                  else rendered.duration)} for i, c in enumerate(rendered.chapters)]
    out: dict[str, Any] = {
        "duration_s": _number(rendered.duration),
        "sample_rate": rendered.audio.sample_rate,
        "synthetic": any(s.synthetic for s in rendered.spans),
        "synthetic_s": _number(synthetic),
        "voices": sorted({s.voice for s in rendered.spans if s.voice}),
        "engines": sorted({s.engine for s in rendered.spans if s.engine}),
        "spans": [{"start_s": _number(s.start_s), "end_s": _number(s.end_s), "segment_id": s.segment_id,
                   "take_id": s.take_id, "voice": s.voice, "engine": s.engine, "synthetic": s.synthetic,
                   "section": s.section} for s in rendered.spans],
        "chapters": chapters,
        "words": len(rendered.words),
        "target": level.target.name if level is not None else None,
        "passed": level.met if level is not None else None,
        "problems": list(level.problems) if level is not None else [],
    }
    if level is not None:
        after = level.after
        out["level"] = {"integrated_lufs": _number(after.integrated_lufs),
                        "true_peak_dbfs": _number(after.true_peak_dbfs),
                        "sample_peak_dbfs": _number(after.sample_peak_dbfs), "rms_db": _number(after.rms_db),
                        "noise_floor_db": _number(after.noise_floor_db), "summary": after.describe()}
    return out


def export(rendered: Rendered, fmt: str = "m4b", *, title: str | None = None) -> bytes:
    """The rendered audio as file bytes: m4b and mp3 with its chapter marks, wav/flac/ogg plain."""
    return encode_with_chapters(rendered.audio, rendered.chapters, fmt, title=title)
