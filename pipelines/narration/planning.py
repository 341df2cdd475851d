"""Planning a narration: which engine calls it will make, with what text and which silences between them,
before anything is synthesized (cheap: for previews, progress bars and for redoing one chunk)."""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..textnorm import normalize
from .script import CLAUSE_END, MAX_PAUSE_S, SPEAKABLE, Boundary, collapse, split

__all__ = ["NarrationSettings", "PlannedChunk", "plan_chunks", "MIN_FIRST_CLAUSE_CHARS"]

MIN_FIRST_CLAUSE_CHARS = 12  # a shorter opening clause ("Still," / "Yes, and") is not worth its own chunk


@dataclass
class NarrationSettings:
    """How a script becomes one narration. Pauses are measured from the trimmed edges of the speech.
    `max_chars` None means the engine's own limit (`max_chars` / `max_text_tokens`) or 250.
    `first_chunk_chars`: a first sentence longer than this is spoken as two chunks, cut at the last clause
    mark (, ; : dash) within this many characters, so a streaming player starts after a short clause
    instead of a whole sentence; a sentence with no such mark stays whole. None keeps it whole."""

    sentence_pause_s: float = 0.35
    paragraph_pause_s: float = 0.8
    clause_pause_s: float = 0.2
    crossfade_s: float = 0.01
    target_lufs: float = -20.0
    max_chars: int | None = None
    normalize_text: bool = True
    language: str = "en"
    edge_pad_s: float = 0.04  # speech context kept at each trimmed edge, so soft onsets and tails survive
    first_chunk_chars: int | None = 80

    def __post_init__(self) -> None:
        for name in ("sentence_pause_s", "paragraph_pause_s", "clause_pause_s"):
            value = getattr(self, name)
            if not 0.0 <= value <= MAX_PAUSE_S:
                raise ValueError(f"{name} must be between 0 and {MAX_PAUSE_S:g} seconds, got {value!r}.")
        if not 0.0 <= self.crossfade_s <= 0.1:
            raise ValueError(f"crossfade_s must be between 0 and 0.1 seconds, got {self.crossfade_s!r}.")
        if not 0.0 <= self.edge_pad_s <= 0.5:
            raise ValueError(f"edge_pad_s must be between 0 and 0.5 seconds, got {self.edge_pad_s!r}.")
        if not -70.0 <= self.target_lufs <= -5.0:
            raise ValueError(f"target_lufs must be between -70 and -5 LUFS, got {self.target_lufs!r}.")
        if self.max_chars is not None and (isinstance(self.max_chars, bool) or not isinstance(self.max_chars, int)
                                           or self.max_chars < 20):
            raise ValueError(f"max_chars must be a whole number of at least 20 or None, got {self.max_chars!r}.")
        if self.first_chunk_chars is not None and (isinstance(self.first_chunk_chars, bool)
                                                   or not isinstance(self.first_chunk_chars, int)
                                                   or self.first_chunk_chars < 2 * MIN_FIRST_CLAUSE_CHARS):
            raise ValueError(f"first_chunk_chars must be a whole number of at least {2 * MIN_FIRST_CLAUSE_CHARS} "
                             f"or None, got {self.first_chunk_chars!r}.")


@dataclass(frozen=True)
class PlannedChunk:
    """One engine call of a narration, before synthesis: what the script says (`text`), what the engine
    gets (`spoken`, normalised), and the silence before (`lead_s`, only a leading pause mark) and after it."""

    index: int
    text: str
    spoken: str
    lead_s: float
    pause_s: float
    boundary: Boundary


def plan_chunks(text: str, settings: NarrationSettings, max_chars: int) -> list[PlannedChunk]:
    """The chunks a narration of `text` will have, without synthesizing anything (cheap: for previews,
    progress bars and for re-doing one chunk)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"text must be a non-empty string, got {text!r}.")
    s = settings
    segments = split(text, max_chars, sentence_pause_s=s.sentence_pause_s, paragraph_pause_s=s.paragraph_pause_s,
                     clause_pause_s=s.clause_pause_s)
    chunks: list[PlannedChunk] = []
    lead = 0.0
    for segment in segments:
        if segment.kind == "pause":
            if chunks:
                chunks[-1] = replace(chunks[-1], pause_s=chunks[-1].pause_s + segment.pause_after_s)
            else:
                lead += segment.pause_after_s
            continue
        spoken = collapse(normalize(segment.text, s.language)) if s.normalize_text else segment.text
        if not SPEAKABLE.search(spoken):  # nothing an engine can say: keep only its pause
            if chunks:
                chunks[-1] = replace(chunks[-1], pause_s=max(chunks[-1].pause_s, segment.pause_after_s))
            continue
        pieces = [spoken] if len(spoken) <= max_chars else [
            p.text for p in split(spoken, max_chars) if p.kind == "speech" and SPEAKABLE.search(p.text)]
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            chunks.append(PlannedChunk(
                index=len(chunks), text=segment.text if len(pieces) == 1 else piece, spoken=piece,
                lead_s=lead if not chunks else 0.0,
                pause_s=segment.pause_after_s if last else s.clause_pause_s,
                boundary=segment.boundary if last else "clause"))
    if not chunks:
        raise ValueError(f"text {text[:80]!r} has nothing to speak (only pause marks or punctuation).")
    return _short_first(chunks, s)


def _short_first(chunks: list[PlannedChunk], settings: NarrationSettings) -> list[PlannedChunk]:
    """Cut a long first chunk after its last clause mark within `first_chunk_chars` (see the settings)."""
    limit, first = settings.first_chunk_chars, chunks[0]
    if limit is None or len(first.spoken) <= limit:
        return chunks
    cuts = [m.end() for m in CLAUSE_END.finditer(first.spoken)
            if MIN_FIRST_CLAUSE_CHARS <= m.end() <= limit and len(first.spoken) - m.end() > MIN_FIRST_CLAUSE_CHARS]
    if not cuts:
        return chunks
    head, tail = first.spoken[: cuts[-1]].strip(), first.spoken[cuts[-1]:].strip()
    if not (SPEAKABLE.search(head) and SPEAKABLE.search(tail)):
        return chunks
    pieces = [replace(first, text=head, spoken=head, pause_s=settings.clause_pause_s, boundary="clause"),
              replace(first, index=1, text=tail, spoken=tail, lead_s=0.0)]
    return pieces + [replace(c, index=c.index + 1) for c in chunks[1:]]
