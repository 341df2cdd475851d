"""Captions from word timings: words grouped into short, readable cues (SRT and WebVTT).

Each cue starts at its first word's start and ends at its last word's end, so captions line up with the
speech exactly as the timings say. Cues break where a reader expects them: always at a long pause (a
caption must not hang over silence or music), at a sentence end once the cue has been up long enough to
read, and, when a cue would grow past its limits (characters per line, lines, seconds), at the best point
inside it: a sentence end, then a pause, then a clause mark, otherwise before the word that does not fit.
Text without word timings cannot be placed, so it gets no cues.
"""
from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from ..base import Word

__all__ = ["Cue", "caption_cues", "wrap_caption", "to_srt", "to_vtt"]

_SENTENCE_END = re.compile(r"[.!?\u2026]['\"\u2019\u201d)\]]*$")
_CLAUSE_END = re.compile(r"[,;:\u2013\u2014-]['\"\u2019\u201d)\]]*$")
_ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "st.", "prof.", "vs.", "etc.", "e.g.", "i.e.", "no."}


@dataclass(frozen=True)
class Cue:
    """One caption: shown from `start` to `end` (seconds); `text` may hold line breaks."""

    start: float
    end: float
    text: str


def _sentence_end(text: str) -> bool:
    return bool(_SENTENCE_END.search(text)) and text.lower() not in _ABBREVIATIONS


def wrap_caption(text: str, max_chars: int = 42, max_lines: int | None = None) -> list[str]:
    """Lines of at most `max_chars` (a longer single word keeps its own line). Two lines are balanced (the
    split that makes the longer line shortest), which reads better than a full line over a stub."""
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return [text] if text else []
    lines = textwrap.wrap(text, max_chars, break_long_words=False, break_on_hyphens=False)
    if len(lines) == 2:
        words = text.split(" ")
        splits: list[tuple[str, str]] = [(" ".join(words[:k]), " ".join(words[k:])) for k in range(1, len(words))]
        top, bottom = min(splits, key=lambda pair: (max(len(pair[0]), len(pair[1])), len(pair[1])))
        lines = [top, bottom]
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines - 1] + [" ".join(lines[max_lines - 1:])]
    return lines


def _fits(words: Sequence[Word], max_chars: int, max_lines: int, max_s: float) -> bool:
    text = " ".join(w.text for w in words)
    if len(words) > 1 and words[-1].end - words[0].start > max_s:
        return False
    lines = textwrap.wrap(text, max_chars, break_long_words=False, break_on_hyphens=False)
    return len(words) == 1 or (len(lines) <= max_lines and all(len(line) <= max_chars for line in lines))


def _best_break(words: Sequence[Word], min_gap_s: float) -> int:
    """Where to end a cue whose last word (`words[-1]`) does not fit: the index the next cue starts at. A
    sentence end wins over a pause over a clause mark; a break leaving a first part of under a third of the
    text counts as none; ties go to the latest break (fuller cues), so with no mark the cut is just before
    the word that does not fit."""
    total = len(" ".join(w.text for w in words))
    best, best_score = len(words) - 1, 0
    for k in range(1, len(words)):
        before = words[k - 1]
        if _sentence_end(before.text):
            score = 3
        elif words[k].start - before.end >= min_gap_s / 2:
            score = 2
        else:
            score = 1 if _CLAUSE_END.search(before.text) else 0
        if len(" ".join(w.text for w in words[:k])) < total / 3:
            score = 0
        if score > best_score or (score == best_score and k > best):
            best, best_score = k, score
    return best


def caption_cues(words: Sequence[Word], *, max_chars: int = 42, max_lines: int = 2, max_s: float = 6.0,
                 min_gap_s: float = 0.8, min_s: float = 1.0) -> list[Cue]:
    """Group timed words into cues of at most `max_lines` lines of `max_chars` and at most `max_s` seconds
    (a single longer word still gets its cue). A pause of `min_gap_s` or more always ends a cue; a sentence
    end ends it once it has lasted `min_s`. Words are taken in order; empty ones are skipped."""
    if max_chars < 1 or max_lines < 1 or max_s <= 0 or min_gap_s <= 0:
        raise ValueError("max_chars and max_lines must be at least 1, max_s and min_gap_s above 0.")
    tidy = [Word(" ".join(w.text.split()), w.start, max(w.start, w.end), w.confidence) for w in words]
    tidy = [w for w in tidy if w.text]
    cues: list[Cue] = []
    current: list[Word] = []

    def close(group: Sequence[Word]) -> None:
        if group:
            text = "\n".join(wrap_caption(" ".join(w.text for w in group), max_chars, max_lines))
            cues.append(Cue(group[0].start, group[-1].end, text))

    for word in tidy:
        if current:
            last = current[-1]
            long_enough = last.end - current[0].start >= min_s
            if word.start - last.end >= min_gap_s or (_sentence_end(last.text) and long_enough):
                close(current)
                current = []
        if current and not _fits([*current, word], max_chars, max_lines, max_s):
            cut = _best_break([*current, word], min_gap_s)
            close(current[:cut])
            current = current[cut:]
            while current and not _fits([*current, word], max_chars, max_lines, max_s):
                close(current)
                current = []
        current.append(word)
    close(current)
    return cues


def _timestamp(seconds: float, separator: str) -> str:
    ms = max(0, int(round(seconds * 1000)))
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _lines(text: str, max_chars: int) -> list[str]:
    """The cue's own lines, each re-wrapped when longer than `max_chars` (cues made elsewhere)."""
    out: list[str] = []
    for line in text.splitlines():
        out += wrap_caption(line, max_chars)
    return out


def to_srt(cues: Sequence[Cue], *, max_chars: int = 42) -> str:
    """SubRip: numbered cues, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, a blank line after each."""
    blocks = []
    for number, cue in enumerate((c for c in cues if _lines(c.text, max_chars)), start=1):
        times = f"{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}"
        blocks.append(f"{number}\n{times}\n" + "\n".join(_lines(cue.text, max_chars)) + "\n")
    return "\n".join(blocks)


def to_vtt(cues: Sequence[Cue], *, max_chars: int = 42) -> str:
    """WebVTT: the `WEBVTT` header, `HH:MM:SS.mmm --> HH:MM:SS.mmm`, text with & < > escaped (a literal
    "-->" or tag would break the file)."""
    blocks = ["WEBVTT\n"]
    for cue in cues:
        lines = _lines(cue.text, max_chars)
        if not lines:
            continue
        text = "\n".join(lines).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        blocks.append(f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}\n{text}\n")
    return "\n".join(blocks)
