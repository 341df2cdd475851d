"""Long-form narration over any `SpeakPipeline`: split a script, speak it chunk by chunk, join the chunks.

Engines are trained on sentence-length utterances and degrade (or refuse) on long text, so a script is
split into paragraphs, sentences and, where a sentence is still too long, clauses or word runs. Each
chunk is spoken with its own seed derived from the narration's seed and the chunk's index: reruns are
identical, and one chunk can be redone without touching the others. Chunks are trimmed at the edges,
brought to one loudness, and followed by the pause the settings ask for (longer after a paragraph, or
exactly what a `[pause 0.8s]` mark in the script says). `Narrator.stream` yields chunks as they are
ready, so playback can start after the first sentence (or, when that sentence is long, after its first
clause); an optional `QualityGate` regenerates chunks that fail its checks and reports every attempt, so
the studio can keep them all as takes.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from .audio import Audio, join, normalize_loudness, silence, trim_silence
from .base import VoicePrompt
from .scoring import Attempt, QualityGate, Scores
from .speak import SpeakPipeline
from .textnorm import normalize

__all__ = ["Segment", "split", "parse_pause", "NarrationSettings", "PlannedChunk", "NarrationChunk", "Narrator",
           "Attempt", "chunk_seed", "match_loudness", "surround", "DEFAULT_MAX_CHARS", "MAX_PAUSE_S"]

DEFAULT_MAX_CHARS = 250
MIN_FIRST_CLAUSE_CHARS = 12  # a shorter opening clause ("Still," / "Yes, and") is not worth its own chunk
MAX_PAUSE_S = 60.0
_SEED_BITS = 31  # every engine accepts a 31-bit seed (numpy, torch, onnxruntime)
_TRIM_THRESHOLD_DB = -45.0
PEAK_CEILING_DBFS = -1.0
MAX_LIMITING_DB = 6.0  # gain reduction the peak limiter may apply; beyond it the whole chunk is turned down
_LIMITER_WINDOW_S = 0.005

Kind = Literal["speech", "pause"]
Boundary = Literal["word", "clause", "sentence", "paragraph", "mark", "end"]

# [pause 0.8s], [pause 800ms], [pause: 2 seconds], [Pause] (= a paragraph pause)
_PAUSE_MARK = re.compile(r"\[\s*pause\b([^\[\]]*)\]", re.IGNORECASE)
_PAUSE_VALUE = re.compile(r"\s*[:=]?\s*(?:(\d+(?:\.\d*)?|\.\d+)\s*(ms|msecs?|milliseconds?|s|secs?|seconds?)?)?\s*",
                          re.IGNORECASE)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
# A sentence ends at . ! ? or … (any run of them), with closing quotes or brackets, before whitespace;
# CJK full stops need no space after them.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]»]*(?=\s)|[。！？][^\w\s]*")
_CLAUSE_END = re.compile(r"(?:[,;:—–]|\s-{1,2})[\"'”’)\]»]*(?=\s)")  # cut after the mark, at a space
# Abbreviations after which a full stop does not end the sentence (a name or more of the clause follows).
_NON_TERMINAL = {
    "mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "mt.", "ft.", "capt.", "gen.", "lt.", "col.", "sgt.", "rev.",
    "hon.", "gov.", "sen.", "e.g.", "i.e.", "vs.", "cf.", "a.k.a.", "approx.", "ca.", "c.",
}
_BEFORE_NUMBER = {"no.", "nos.", "fig.", "figs.", "vol.", "ch.", "p.", "pp.", "art.", "sec.", "op."}
_SPEAKABLE = re.compile(r"\w")


# -------------------------------------------------------------------------------------------- splitting


@dataclass(frozen=True)
class Segment:
    """A piece of a script. `speech`: text to speak, then `pause_after_s` of silence; `boundary` says what
    ended it. `pause`: an explicit pause mark (`text` is the mark) lasting `pause_after_s`."""

    kind: Kind
    text: str
    pause_after_s: float
    boundary: Boundary


def parse_pause(mark: str, default_s: float = 0.8) -> float:
    """Seconds of a pause mark: "[pause 0.8s]", "[pause 800ms]", "[pause 2]" (seconds), "[pause]" (default)."""
    found = _PAUSE_MARK.fullmatch(mark.strip())
    value = _PAUSE_VALUE.fullmatch(found.group(1)) if found else None
    if value is None:
        raise ValueError(f"pause mark {mark!r} is not understood; write it like [pause 0.8s] or [pause 800ms].")
    if value.group(1) is None:
        return float(default_s)
    seconds = float(value.group(1)) / (1000.0 if (value.group(2) or "s").lower().startswith("m") else 1.0)
    if seconds > MAX_PAUSE_S:
        raise ValueError(f"pause mark {mark!r} asks for {seconds:g} s; at most {MAX_PAUSE_S:g} s is allowed.")
    return seconds


def split(text: str, max_chars: int = DEFAULT_MAX_CHARS, *, sentence_pause_s: float = 0.35,
          paragraph_pause_s: float = 0.8, clause_pause_s: float = 0.2) -> list[Segment]:
    """Cut a script into speakable segments of at most `max_chars` characters.

    Paragraphs (blank lines) -> sentences -> for an over-long sentence, clauses at , ; : and dashes, packed
    back together up to `max_chars` -> as a last resort, runs of words. Never cuts inside a word: a single
    word longer than `max_chars` becomes a segment of its own. `[pause ...]` marks become pause segments and
    replace the natural pause before them. Whitespace inside a segment is collapsed to single spaces.
    Runs in linear time (a 100,000-character book chapter splits in milliseconds).
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}.")
    if isinstance(max_chars, bool) or not isinstance(max_chars, (int, np.integer)) or max_chars < 1:
        raise ValueError(f"max_chars must be a whole number of at least 1, got {max_chars!r}.")
    for name, value in (("sentence_pause_s", sentence_pause_s), ("paragraph_pause_s", paragraph_pause_s),
                        ("clause_pause_s", clause_pause_s)):
        if not 0.0 <= value <= MAX_PAUSE_S:
            raise ValueError(f"{name} must be between 0 and {MAX_PAUSE_S:g} seconds, got {value!r}.")
    pauses = {"word": 0.0, "clause": clause_pause_s, "sentence": sentence_pause_s,
              "paragraph": paragraph_pause_s, "mark": 0.0, "end": 0.0}
    segments: list[Segment] = []
    position = 0
    for mark in [*_PAUSE_MARK.finditer(text), None]:
        piece = text[position: mark.start() if mark else len(text)]
        pieces = _split_piece(piece, int(max_chars))
        for i, (chunk, boundary) in enumerate(pieces):
            if i == len(pieces) - 1:
                boundary = "mark" if mark else "end"
            segments.append(Segment("speech", chunk, pauses[boundary], boundary))
        if mark:
            segments.append(Segment("pause", mark.group(0), parse_pause(mark.group(0), paragraph_pause_s), "mark"))
            position = mark.end()
    return segments


def _split_piece(text: str, max_chars: int) -> list[tuple[str, Boundary]]:
    """Segments (collapsed text, boundary after it) of text without pause marks."""
    out: list[tuple[str, Boundary]] = []
    for paragraph in _PARAGRAPH_BREAK.split(text):
        sentences = _sentences(paragraph)
        for s, sentence in enumerate(sentences):
            parts = [(sentence, "sentence")] if len(sentence) <= max_chars else _clauses(sentence, max_chars)
            for p, (part, inner) in enumerate(parts):
                boundary: Boundary = inner
                if p == len(parts) - 1:
                    boundary = "sentence" if s < len(sentences) - 1 else "paragraph"
                out.append((part, boundary))
    return out


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _sentences(paragraph: str) -> list[str]:
    """Sentences of one paragraph, whitespace collapsed; pieces with no letter or digit (a stray "...")
    are attached to the neighbouring sentence."""
    spans = []
    start = 0
    for match in _SENTENCE_END.finditer(paragraph):
        end = match.end()
        if _ends_sentence(paragraph, match):
            spans.append(paragraph[start:end])
            start = end
    spans.append(paragraph[start:])
    sentences: list[str] = []
    for span in map(_collapse, spans):
        if not span:
            continue
        if sentences and not _SPEAKABLE.search(span):
            sentences[-1] += " " + span
        elif sentences and not _SPEAKABLE.search(sentences[-1]):
            sentences[-1] = sentences[-1] + " " + span
        else:
            sentences.append(span)
    return sentences


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    """Whether a terminator really ends the sentence: not before a lower-case word, not after a title or
    Latin abbreviation, an initial ("J. R. R."), or "No." before a number."""
    if match.group(0)[0] in "。！？":
        return True
    rest = text[match.end():].lstrip()
    if not rest:
        return True
    following = rest[0]
    if following.islower() or following in ",;:":
        return False
    if not match.group(0).startswith(".") or match.group(0).startswith(".."):
        return True
    window = text[max(0, match.start() - 16): match.start() + 1]  # abbreviations are short
    token = re.split(r"[\s(\"'“‘]", window)[-1].lower()
    if token in _NON_TERMINAL or (token in _BEFORE_NUMBER and following.isdigit()):
        return False
    return re.fullmatch(r"(?:[^\W\d_]\.)+", token) is None  # initials and "U.S.": keep going


def _clauses(sentence: str, max_chars: int) -> list[tuple[str, Boundary]]:
    """An over-long sentence cut at clause marks and packed back up to max_chars. A clause that is itself
    too long is first cut between words into runs of even length (no two-word stragglers)."""
    cuts = [m.end() for m in _CLAUSE_END.finditer(sentence)]
    units: list[tuple[str, Boundary]] = []
    for a, b in zip([0, *cuts], [*cuts, len(sentence)]):
        clause = sentence[a:b].strip()
        if not clause:
            continue
        runs = [clause] if len(clause) <= max_chars else _even_runs(clause.split(" "), max_chars)
        units.extend((run, "word") for run in runs[:-1])
        units.append((runs[-1], "clause"))
    packed: list[tuple[str, Boundary]] = []
    for text, boundary in units:
        if packed and len(packed[-1][0]) + 1 + len(text) <= max_chars:
            packed[-1] = (packed[-1][0] + " " + text, boundary)
        else:
            packed.append((text, boundary))
    return packed


def _even_runs(words: list[str], max_chars: int) -> list[str]:
    """Words joined into runs of at most max_chars (a longer single word stands alone), aiming at equal
    lengths so the last run is not a fragment."""
    total = sum(map(len, words)) + len(words) - 1
    target = total / -(-total // max_chars)
    runs: list[str] = []
    for word in words:
        if runs and len(runs[-1]) < target and len(runs[-1]) + 1 + len(word) <= max_chars:
            runs[-1] += " " + word
        else:
            runs.append(word)
    return runs


# ------------------------------------------------------------------------------------------- narration


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


@dataclass(frozen=True, eq=False)
class NarrationChunk:
    """A finished chunk: `audio` is lead silence + loudness-matched speech + the pause after it, ready to
    play or append. `attempts` holds every try (one without a gate); `seed` is the kept one's."""

    index: int
    text: str
    spoken: str
    audio: Audio
    seed: int
    base_seed: int
    attempts: tuple[Attempt, ...]
    chosen: int  # index into attempts
    lead_s: float
    pause_s: float
    speech_s: float  # duration of the speech between lead and pause

    @property
    def scores(self) -> Scores | None:
        return self.attempts[self.chosen].scores

    @property
    def failures(self) -> tuple[str, ...]:
        return self.attempts[self.chosen].failures

    @property
    def passed(self) -> bool:
        return not self.failures


def match_loudness(audio: Audio, target_lufs: float) -> Audio:
    """Bring a chunk to `target_lufs` with its sample peak at most -1 dBFS.

    TTS output often has a few isolated peaks 20+ dB above its loudness (plosives), so a plain gain with a
    peak ceiling (`normalize_loudness`) leaves such chunks several LU quiet and the narration uneven. Here
    the gain may push peaks up to `MAX_LIMITING_DB` over the ceiling, and a 5 ms look-ahead limiter takes
    those few peaks back down; a chunk that would need more limiting than that is turned down instead.
    """
    ceiling = 10.0 ** (PEAK_CEILING_DBFS / 20.0)
    loud = normalize_loudness(audio, target_lufs, peak_dbfs=PEAK_CEILING_DBFS + MAX_LIMITING_DB)
    return Audio(_limit(loud.samples, ceiling, loud.sample_rate), loud.sample_rate)


def _limit(samples: np.ndarray, ceiling: float, rate: int) -> np.ndarray:
    """Smooth gain reduction so no sample exceeds `ceiling`: the needed gain is min-filtered over a window
    and then averaged over the same window, which keeps the gain under what every sample needs while
    ramping over 5 ms instead of clicking."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak <= ceiling:
        return samples
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    size = 2 * max(1, int(_LIMITER_WINDOW_S * rate)) + 1
    with np.errstate(divide="ignore"):
        needed = np.minimum(1.0, ceiling / np.abs(samples.astype(np.float64)))
    gain = uniform_filter1d(minimum_filter1d(needed, size, mode="nearest"), size, mode="nearest")
    out = samples * gain
    return np.clip(out, -ceiling, ceiling).astype(np.float32)  # rounding at the window edges only


def chunk_seed(base_seed: int, index: int, attempt: int = 0) -> int:
    """The seed of chunk `index` (attempt `attempt`) of a narration seeded with `base_seed`: a hash, so
    neighbouring chunks get unrelated seeds, the same inputs always the same one."""
    digest = hashlib.blake2b(f"retake-narration:{base_seed}:{index}:{attempt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & ((1 << _SEED_BITS) - 1)


class Narrator:
    """Speaks long scripts with any `SpeakPipeline` (see the module doc). Holds no state between calls,
    so one narrator can serve several requests; the engine's own thread-safety applies."""

    def __init__(self, engine: SpeakPipeline, settings: NarrationSettings | None = None,
                 gate: QualityGate | None = None) -> None:
        if not callable(engine):
            raise ValueError(f"engine must be a SpeakPipeline, got {type(engine).__name__}.")
        self.engine = engine
        self.settings = settings if settings is not None else NarrationSettings()
        self.gate = gate

    @property
    def max_chars(self) -> int:
        """Longest chunk: the settings' value, capped by the engine's own limit where it declares one."""
        limit = getattr(self.engine, "max_chars", None) or getattr(self.engine, "max_text_tokens", None)
        limit = int(limit) if isinstance(limit, (int, np.integer)) and not isinstance(limit, bool) else None
        wanted = self.settings.max_chars or limit or DEFAULT_MAX_CHARS
        return min(wanted, limit) if limit else wanted

    def plan(self, text: str) -> list[PlannedChunk]:
        """The chunks a narration of `text` will have, without synthesizing anything (cheap: for previews,
        progress bars and for re-doing one chunk)."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"text must be a non-empty string, got {text!r}.")
        s = self.settings
        max_chars = self.max_chars
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
            spoken = _collapse(normalize(segment.text, s.language)) if s.normalize_text else segment.text
            if not _SPEAKABLE.search(spoken):  # nothing an engine can say: keep only its pause
                if chunks:
                    chunks[-1] = replace(chunks[-1], pause_s=max(chunks[-1].pause_s, segment.pause_after_s))
                continue
            pieces = [spoken] if len(spoken) <= max_chars else [
                p.text for p in split(spoken, max_chars) if p.kind == "speech" and _SPEAKABLE.search(p.text)]
            for i, piece in enumerate(pieces):
                last = i == len(pieces) - 1
                chunks.append(PlannedChunk(
                    index=len(chunks), text=segment.text if len(pieces) == 1 else piece, spoken=piece,
                    lead_s=lead if not chunks else 0.0,
                    pause_s=segment.pause_after_s if last else s.clause_pause_s,
                    boundary=segment.boundary if last else "clause"))
        if not chunks:
            raise ValueError(f"text {text[:80]!r} has nothing to speak (only pause marks or punctuation).")
        return self._short_first(chunks)

    def _short_first(self, chunks: list[PlannedChunk]) -> list[PlannedChunk]:
        """Cut a long first chunk after its last clause mark within `first_chunk_chars` (see the settings)."""
        limit, first = self.settings.first_chunk_chars, chunks[0]
        if limit is None or len(first.spoken) <= limit:
            return chunks
        cuts = [m.end() for m in _CLAUSE_END.finditer(first.spoken)
                if MIN_FIRST_CLAUSE_CHARS <= m.end() <= limit and len(first.spoken) - m.end() > MIN_FIRST_CLAUSE_CHARS]
        if not cuts:
            return chunks
        head, tail = first.spoken[: cuts[-1]].strip(), first.spoken[cuts[-1]:].strip()
        if not (_SPEAKABLE.search(head) and _SPEAKABLE.search(tail)):
            return chunks
        pieces = [replace(first, text=head, spoken=head, pause_s=self.settings.clause_pause_s, boundary="clause"),
                  replace(first, index=1, text=tail, spoken=tail, lead_s=0.0)]
        return pieces + [replace(c, index=c.index + 1) for c in chunks[1:]]

    def stream(self, text: str, *, voice: VoicePrompt | None = None, seed: int | None = None,
               plan: list[PlannedChunk] | None = None, **options: Any) -> Iterator[NarrationChunk]:
        """Yield each chunk as soon as it is synthesized (and, with a gate, accepted or out of attempts).

        `seed` None draws one (reported as each chunk's `base_seed`, so the narration can be repeated);
        chunk i's attempt k uses `chunk_seed(seed, i, k)`. `options` go to the engine (speaker, speed...).
        `plan`: this text's `plan()` when the caller already made it (a long text is planned only once).
        Bad input raises here, before anything is synthesized.
        """
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"seed={seed!r} must be a non-negative whole number or None.")
        plan = self.plan(text) if plan is None else plan
        base = int(seed) if seed is not None else secrets.randbits(_SEED_BITS)
        reference = self.gate.scorer.reference_for(voice) if self.gate is not None else None
        return self._generate(plan, base, voice, reference, options)

    def __call__(self, text: str, *, voice: VoicePrompt | None = None, seed: int | None = None,
                 **options: Any) -> Audio:
        """The whole narration as one Audio (chunks joined with short crossfades)."""
        chunks = [chunk.audio for chunk in self.stream(text, voice=voice, seed=seed, **options)]
        return join(chunks, self.settings.crossfade_s)

    def render(self, planned: PlannedChunk, *, voice: VoicePrompt | None = None, base_seed: int,
               reference_embedding: np.ndarray | None = None, first_seed: bool = False,
               **options: Any) -> NarrationChunk:
        """Synthesize one planned chunk (with the gate's retries): `stream` calls this for each chunk, and
        the studio calls it to redo a single chunk of an earlier narration. `first_seed` True: the first
        attempt uses `base_seed` itself (a seed copied from an earlier attempt gives that attempt again),
        retries `chunk_seed(base_seed, index, k)`."""
        gate = self.gate
        attempts: list[Attempt] = []
        for k in range(gate.max_attempts if gate is not None else 1):
            attempt_seed = int(base_seed) if first_seed and k == 0 else chunk_seed(base_seed, planned.index, k)
            started = time.perf_counter()
            raw = self.engine(planned.spoken, voice=voice, seed=attempt_seed, **options)
            synth_s = time.perf_counter() - started
            speech = self._trim(raw)
            scores, failures, score_s = None, (), 0.0
            if gate is not None:
                started = time.perf_counter()
                scores, problems = gate.check(speech, planned.spoken, reference_embedding)
                failures, score_s = tuple(problems), time.perf_counter() - started
            level = match_loudness(speech, self.settings.target_lufs)
            attempts.append(Attempt(attempt_seed, level, scores, failures, synth_s, score_s))
            if not failures:
                break
        kept = gate.best(attempts) if gate is not None else attempts[0]
        chosen = attempts.index(kept)
        return NarrationChunk(
            index=planned.index, text=planned.text, spoken=planned.spoken, audio=self._surround(planned, kept.audio),
            seed=kept.seed, base_seed=base_seed, attempts=tuple(attempts), chosen=chosen,
            lead_s=planned.lead_s, pause_s=planned.pause_s, speech_s=kept.audio.duration)

    def _generate(self, plan: list[PlannedChunk], base: int, voice: VoicePrompt | None,
                  reference: np.ndarray | None, options: dict[str, Any]) -> Iterator[NarrationChunk]:
        for planned in plan:
            yield self.render(planned, voice=voice, base_seed=base, reference_embedding=reference, **options)

    def _trim(self, raw: Audio) -> Audio:
        """Cut the engine's leading and trailing silence, keeping `edge_pad_s` of context; a take with no
        sound at all is kept as it is (the gate's checks flag it)."""
        trimmed = trim_silence(raw, threshold_db=_TRIM_THRESHOLD_DB, pad_seconds=self.settings.edge_pad_s)
        return trimmed if trimmed.num_samples else raw

    def _surround(self, planned: PlannedChunk, speech: Audio) -> Audio:
        return surround(speech, planned.lead_s, planned.pause_s, self.settings)


def surround(speech: Audio, lead_s: float, pause_s: float, settings: NarrationSettings) -> Audio:
    """Lead + speech + pause: one chunk ready to join. Each trimmed edge already carries up to `edge_pad_s` of
    near-silence and the join overlaps `crossfade_s`, so the added silence is what is left of the planned
    pause. Public so a narration can be re-assembled from stored chunk takes exactly as it was made."""
    rate = speech.sample_rate
    parts = []
    if lead_s > 0:
        parts.append(silence(max(0.0, lead_s - settings.edge_pad_s), rate))
    parts.append(speech)
    if pause_s > 0:
        parts.append(silence(max(0.0, pause_s - 2 * settings.edge_pad_s) + settings.crossfade_s, rate))
    return Audio(np.concatenate([p.samples for p in parts]), rate)

