"""A narration project's script document (plain text, Markdown or SRT subtitles) -> the lines it is spoken as.

Each `ScriptLine` is one segment of the project: synthesised, cached and redone on its own, so the splitting
must be predictable. Sentence splitting and `[pause 0.8s]` marks reuse `script.split`; this module adds what
a document has on top: sections (Markdown headings), speakers (tags), subtitle timings, and the limits the
studio enforces. `segment_hash` names exactly what a segment's audio depends on, so a cached take is reused
until one of those things changes.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Collection, Iterator, Mapping

from .lexicon import apply_lexicon, check_entry, normal_word, used_entries
from .script import MAX_PAUSE_S, SPEAKABLE, collapse
from .script import split as split_text

__all__ = ["ScriptLine", "parse_script", "detect_format", "segment_hash", "MAX_LINES", "MAX_LINE_CHARS", "FORMATS",
           "SPLITS"]

MAX_LINES = 2000
MAX_LINE_CHARS = 5000
FORMATS = ("auto", "text", "markdown", "srt")
SPLITS = ("paragraph", "sentence")


@dataclass(frozen=True)
class ScriptLine:
    """One segment to speak: its text, the section (heading) it is under, the speaker tag in force (as written,
    or as spelled in `speakers`), and the silence after it."""

    text: str
    section: str | None
    speaker: str | None
    pause_after_s: float


_TAG_WORD = r"[^\W\d_](?:[^\W_]|['’\-])*\.?"
_NAME_TAG = re.compile(rf"[ \t]*(?P<name>{_TAG_WORD}(?:[ \t]+{_TAG_WORD}){{0,2}})[ \t]*:(?=\s|$)")
_VOICE_TAG = re.compile(r"[ \t]*\[\s*voice\s*[:=]\s*(?P<name>[^\[\]\n]{1,80}?)\s*\]", re.IGNORECASE)

_SRT_TIME = r"(\d{1,3}):(\d{2}):(\d{2})[,.](\d{1,3})"
_SRT_TIMING = re.compile(rf"\s*{_SRT_TIME}\s*-->\s*{_SRT_TIME}(?:\s.*)?")
_SRT_MARKUP = re.compile(r"<[^<>\n]*>|\{\\[^{}\n]*\}")

_MD_HINTS = re.compile(r"^ {0,3}#{1,6}[ \t]+\S|^ {0,3}(?:```|~~~)|^[ \t]*[-*+][ \t]+\S|\*\*\S[^\n]*?\*\*"
                       r"|__\S[^\n]*?__|\[[^\]\n]+\]\([^)\n]*\)|`[^`\n]+`|<!--"
                       r"|(?<![\w*\\])\*[^\s*][^*\n]*?(?<=\S)\*(?![\w*])", re.MULTILINE)
_MD_COMMENT = re.compile(r"<!--(?:.*?-->|.*\Z)", re.DOTALL)
_MD_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_MD_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*")
_MD_RULE = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*")
_MD_SETEXT = re.compile(r" {0,3}(?:=+|-+)[ \t]*")
_MD_ITEM = re.compile(r"[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)")
_MD_QUOTE = re.compile(r"(?: {0,3}>[ \t]?)+")
_MD_REFERENCE = re.compile(r" {0,3}\[[^\]]+\]:[ \t]*\S+.*")
_MD_INLINE = (
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images: nothing to say
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # [words](url)
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # [words][ref]
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1"),  # <https://...>
    (re.compile(r"(`+)(.+?)\1"), r"\2"),  # `code`
    (re.compile(r"</?[A-Za-z][^<>]*>"), ""),  # inline HTML tags
    (re.compile(r"(?<![\w\\])(\*\*|__)(?=\S)(.+?)(?<=\S)\1(?!\w)"), r"\2"),  # **bold**, __bold__
    (re.compile(r"(?<![\w*\\])\*(?=[^\s*])(.+?)(?<=[^\s\\])\*(?![\w*])"), r"\1"),  # *italic*
    (re.compile(r"(?<![\w\\])_(?=[^\s_])(.+?)(?<=\S)_(?!\w)"), r"\1"),  # _italic_
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),  # ~~struck~~
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!>~|])"), r"\1"),  # \* escapes
)

# (kind, text, first source line): "text" to speak, "section" title, "break" (a horizontal rule).
_Block = tuple[str, str, int]


def detect_format(source: str) -> str:
    """"srt" for numbered cues with `-->` timings, "markdown" for headings or Markdown emphasis, list, link,
    code or comment syntax, else "text"."""
    lines = [line.strip() for line in source.lstrip("\ufeff").splitlines() if line.strip()]
    if len(lines) >= 2 and lines[0].isdigit() and "-->" in lines[1] and _SRT_TIMING.fullmatch(lines[1]):
        return "srt"
    return "markdown" if _MD_HINTS.search(source) else "text"


def parse_script(source: str, fmt: str = "auto", *, split: str = "paragraph", pause_s: float = 0.6,
                 section_pause_s: float = 1.5, speakers: Collection[str] | None = None) -> list[ScriptLine]:
    """The lines a script document is spoken as, in order.

    `split="paragraph"`: one line per paragraph (blank lines between); "sentence": one per sentence. Every line
    is followed by `pause_s`, the last by none; a line before a new section or a horizontal rule by
    `section_pause_s`; a `[pause 2s]` mark sets the pause after the line before it exactly (it wins over the
    section pause), and a mark inside a paragraph ends the line there. Lines without a letter or digit are
    dropped. SRT: one line per cue (whatever `split` says), paused by the gap to the next cue.

    Speaker tags, removed from the text, apply to the text after them and to what follows until the next tag:
    `[voice: Ada]` (any name) at the start of a line, or `NAME:` starting a line, NAME being 1-3 words of letters
    (with digits, apostrophes, hyphens, a final dot) followed by a colon and a space. So that ordinary sentences
    ("Note: this is ...") are not taken for tags, a `NAME:` counts only if NAME is ALL CAPS with two letters or
    more ("NARRATOR:", "DR SMITH:"), or, when `speakers` is given, only if it is one of those names (case, dots
    and spacing aside; "Dr Smith:" then reads as "Dr. Smith" if that is how `speakers` spells it).

    Raises ValueError, worded for the studio, for an empty script or one with nothing to speak, more than
    MAX_LINES lines, a line over MAX_LINE_CHARS characters (naming its source line and first words), a malformed
    SRT (naming the cue and line), a pause mark over MAX_PAUSE_S, or an unknown `fmt` or `split`.
    """
    if not isinstance(source, str):
        raise ValueError(f"The script must be text, got {type(source).__name__}.")
    if fmt not in FORMATS:
        raise ValueError(f"Unknown script format {fmt!r}; use one of: {', '.join(FORMATS)}.")
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; use one of: {', '.join(SPLITS)}.")
    for name, value in (("pause_s", pause_s), ("section_pause_s", section_pause_s)):
        if not isinstance(value, (int, float)) or not 0.0 <= value <= MAX_PAUSE_S:
            raise ValueError(f"{name} must be between 0 and {MAX_PAUSE_S:g} seconds, got {value!r}.")
    source = source.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not source.strip():
        raise ValueError("The script is empty: write or paste the text to narrate.")
    if fmt == "auto":
        fmt = detect_format(source)
    builder = _Builder(split, float(pause_s), float(section_pause_s), speakers)
    if fmt == "srt":
        _read_srt(source, builder)
    else:
        for kind, text, line in (_markdown_blocks(source) if fmt == "markdown" else _text_blocks(source)):
            if kind == "text":
                builder.paragraph(text, line)
            else:
                builder.boundary(text if kind == "section" else None)
    return builder.finish()


@dataclass
class _Draft:
    text: str
    section: str | None
    speaker: str | None
    pause_after_s: float
    explicit: bool = False


class _Builder:
    """Collects lines in order, keeping the section and speaker in force and the limits."""

    def __init__(self, split: str, pause_s: float, section_pause_s: float, speakers: Collection[str] | None):
        self.by_sentence = split == "sentence"
        self.pause_s, self.section_pause_s = pause_s, section_pause_s
        self.known = None if speakers is None else {_speaker_key(s): collapse(s) for s in speakers if s.strip()}
        self.drafts: list[_Draft] = []
        self.section: str | None = None
        self.speaker: str | None = None

    def tag(self, line: str) -> tuple[str | None, str]:
        """(speaker, rest of the line) when the line starts with a speaker tag, else (None, line)."""
        found = _VOICE_TAG.match(line)
        if found:
            name = collapse(found.group("name"))
            return (self.known or {}).get(_speaker_key(name), name), line[found.end():]
        found = _NAME_TAG.match(line)
        if found:
            name = collapse(found.group("name"))
            if self.known is not None:
                if _speaker_key(name) in self.known:
                    return self.known[_speaker_key(name)], line[found.end():]
            elif name == name.upper() and sum(c.isalpha() for c in name) >= 2:
                return name, line[found.end():]
        return None, line

    def paragraph(self, text: str, first_line: int) -> None:
        """A paragraph: split into speaker turns at tags, each into sentences and pause marks."""
        turns: list[tuple[str | None, list[str], int]] = []
        for offset, raw in enumerate(text.split("\n")):
            speaker, rest = self.tag(raw)
            if speaker is not None or not turns:
                turns.append((speaker, [rest], first_line + offset))
            else:
                turns[-1][1].append(rest)
        for speaker, lines, line in turns:
            if speaker is not None:
                self.speaker = speaker
            self.speak("\n".join(lines), line)

    def speak(self, text: str, line: int) -> None:
        try:
            segments = split_text(text, max(1, len(text)), paragraph_pause_s=self.pause_s)
        except ValueError as error:
            raise ValueError(f"Line {line}: {error}") from None
        pending: list[str] = []
        for segment in segments:
            if segment.kind == "pause":
                self.add(" ".join(pending), line)
                pending = []
                if self.drafts:
                    self.drafts[-1].pause_after_s, self.drafts[-1].explicit = segment.pause_after_s, True
            elif self.by_sentence:
                self.add(segment.text, line)
            else:
                pending.append(segment.text)
        self.add(" ".join(pending), line)

    def add(self, text: str, line: int) -> None:
        text = collapse(text)
        if not SPEAKABLE.search(text):
            return
        if len(text) > MAX_LINE_CHARS:
            words = " ".join(text[:80].split()[:8])
            raise ValueError(f"Line {line} is too long to speak as one segment ({len(text):,} characters, at most "
                             f"{MAX_LINE_CHARS:,}): “{words}…”. Break it into shorter paragraphs or sentences.")
        if len(self.drafts) >= MAX_LINES:
            raise ValueError(f"The script has more than {MAX_LINES:,} lines to speak; split it into several "
                             "projects, or split by paragraph rather than by sentence.")
        self.drafts.append(_Draft(text, self.section, self.speaker, self.pause_s))

    def set_pause(self, seconds: float) -> None:
        if self.drafts:
            self.drafts[-1].pause_after_s, self.drafts[-1].explicit = seconds, True

    def boundary(self, section: str | None) -> None:
        """A new section (its title) or, with None, a horizontal rule: a longer pause before what follows."""
        if self.drafts and not self.drafts[-1].explicit:
            self.drafts[-1].pause_after_s = max(self.drafts[-1].pause_after_s, self.section_pause_s)
        if section is not None:
            self.section = collapse(section) or None

    def finish(self) -> list[ScriptLine]:
        if not self.drafts:
            raise ValueError("The script has no words to speak: only punctuation, pause marks, tags or markup.")
        if not self.drafts[-1].explicit:
            self.drafts[-1].pause_after_s = 0.0
        return [ScriptLine(d.text, d.section, d.speaker, d.pause_after_s) for d in self.drafts]


def _speaker_key(name: str) -> str:
    return " ".join(name.replace(".", " ").split()).casefold()


def _text_blocks(source: str) -> Iterator[_Block]:
    """Paragraphs: runs of non-blank lines."""
    paragraph: list[str] = []
    start = 0
    for number, line in enumerate([*source.split("\n"), ""], 1):
        if line.strip():
            start = start if paragraph else number
            paragraph.append(line)
        elif paragraph:
            yield "text", "\n".join(paragraph), start
            paragraph = []


def _inline(text: str) -> str:
    """Markdown inline syntax stripped to the words."""
    for pattern, replacement in _MD_INLINE:
        text = pattern.sub(replacement, text)
    return text


def _markdown_blocks(source: str) -> Iterator[_Block]:
    """Headings -> sections, rules -> breaks, paragraphs and list items -> text; code blocks, HTML comments and
    link reference definitions dropped. Indented code blocks are read as text (indented prose is commoner)."""
    source = _MD_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), source)
    paragraph: list[str] = []
    start = 0
    fence: str | None = None
    for number, raw in enumerate([*source.split("\n"), ""], 1):
        if fence is not None:
            closing = _MD_FENCE.match(raw)
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence) \
                    and not raw[closing.end():].strip():
                fence = None
            continue
        line = raw
        quote = _MD_QUOTE.match(line)
        if quote:
            line = line[quote.end():]
        opening, heading = _MD_FENCE.match(line), _MD_HEADING.fullmatch(line)
        if paragraph and _MD_SETEXT.fullmatch(line):  # "Title\n=====": the paragraph was a heading
            yield "section", " ".join(paragraph), start  # lines already stripped of inline syntax
            paragraph = []
            continue
        ends = not line.strip() or opening or heading or _MD_RULE.fullmatch(line) or _MD_ITEM.match(line) \
            or _MD_REFERENCE.fullmatch(line)
        if ends and paragraph:
            yield "text", "\n".join(paragraph), start
            paragraph = []
        if not line.strip() or _MD_REFERENCE.fullmatch(line):
            continue
        if opening:
            fence = opening.group(1)
        elif heading:
            yield "section", _inline(heading.group(2) or ""), number
        elif _MD_RULE.fullmatch(line):
            yield "break", "", number
        else:
            item = _MD_ITEM.match(line)
            start = start if paragraph else number
            paragraph.append(_inline(line[item.end():] if item else line.strip()))


def _seconds(hours: str, minutes: str, seconds: str, millis: str) -> float | None:
    if int(minutes) > 59 or int(seconds) > 59:
        return None
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds) + int(millis.ljust(3, "0")) / 1000


def _read_srt(source: str, builder: _Builder) -> None:
    """One line per cue (or per speaker turn inside a cue), the gap to the next cue as its pause."""
    cues: list[tuple[float, float, list[tuple[str | None, str]], int]] = []
    for _, block, first in _text_blocks(source):
        lines = block.split("\n")
        label = lines[0].strip()
        if not label.isdigit():
            raise ValueError(f"SRT line {first}: expected a cue number, found {label[:40]!r}. Check the subtitle "
                             "file, or choose the text format.")
        timing = _SRT_TIMING.fullmatch(lines[1]) if len(lines) > 1 else None
        times = [_seconds(*timing.groups()[:4]), _seconds(*timing.groups()[4:])] if timing else [None, None]
        begin, end = times
        if begin is None or end is None or end < begin:
            shown = lines[1].strip()[:60] if len(lines) > 1 else "nothing"
            raise ValueError(f"SRT cue {label} (line {first + 1}): the timing {shown!r} is not like "
                             "00:00:01,000 --> 00:00:03,500.")
        turns: list[tuple[str | None, str]] = []
        for raw in lines[2:]:
            text = re.sub(r"^\s*[-–—]\s*", "", _SRT_MARKUP.sub("", raw))
            speaker, rest = builder.tag(text)
            if turns and (speaker is None or speaker == turns[-1][0]):
                turns[-1] = (turns[-1][0], turns[-1][1] + " " + rest)
            else:
                turns.append((speaker, rest))
        if any(SPEAKABLE.search(text) for _, text in turns):
            cues.append((begin, end, turns, first + 2))
    for index, (begin, end, turns, line) in enumerate(cues):
        for speaker, text in turns:
            if speaker is not None:
                builder.speaker = speaker
            builder.add(text, line)
        gap = cues[index + 1][0] - end if index + 1 < len(cues) else 0.0
        builder.set_pause(min(max(gap, 0.0), MAX_PAUSE_S))


def _plain(value: Any) -> Any:
    """JSON for the settings: numpy scalars as numbers, sets sorted, paths as text; anything else is refused
    (its repr could change between runs and silently invalidate every cached segment)."""
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if hasattr(value, "__fspath__"):
        return str(value)
    raise TypeError(f"the setting value {value!r} ({type(value).__name__}) cannot be part of a segment's hash")


def segment_hash(text: str, *, voice_key: str, engine_id: str, lexicon: Mapping[str, str],
                 settings: Mapping[str, Any]) -> str:
    """sha256 hex of exactly what a segment's audio depends on: its text after the lexicon (whitespace collapsed),
    the lexicon entries used in it (an edit to an unrelated entry keeps every other cached segment), the voice,
    the engine and the settings (canonical JSON, sorted keys). Raises ValueError for a setting JSON cannot hold."""
    used = sorted(check_entry(word, respelling) for word, respelling in used_entries(text, lexicon).items())
    payload = {"v": 1, "text": collapse(apply_lexicon(text, lexicon)), "voice": voice_key, "engine": engine_id,
               "lexicon": [[normal_word(word), respelling] for word, respelling in used], "settings": dict(settings)}
    try:
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_plain)
    except TypeError as error:
        raise ValueError(f"Cannot hash the segment: {error}.") from None
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
