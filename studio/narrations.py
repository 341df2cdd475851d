"""A narration as the project keeps it, shared by speaking one and fixing one.

A narration is one "speech" take (the whole audio, the text, engine, seed, settings and aggregated scores)
with every chunk attempt as an "attempt" take whose parent is the speech take. Each attempt records what
re-joining the narration later needs: its chunk's index, the spoken text, the pauses around it and whether
it is the one kept. A narration re-joined from stored attempts (a fixed chunk) names, in `chunk_takes`, the
attempt take kept for every chunk. The speech take and its attempts are stored in one unit of work."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipelines import audio as au
from pipelines.catalog import Engine
from pipelines.narration import NarrationChunk, NarrationSettings
from pipelines.scoring import Scores
from storage import NewTake, NotFoundError, Store, Take, UnitOfWork

from .voice_match import VoiceMatch


@dataclass(frozen=True, eq=False)
class SpeakEvent:
    """What `speak` reports as it goes. kind "chunk": one narration chunk is synthesised (`audio` is that
    chunk, for a streaming player; with the gate on it is judged meanwhile); "replaced": the gate found chunk
    `index` failing and a retry better, so the take will hold `audio` there instead of what was played (`chunk`
    says why: its attempts and their failures); "done": the narration is stored (`take`, `attempts`, `audio`
    the whole)."""

    kind: str
    index: int
    total: int
    audio: au.Audio
    chunk: NarrationChunk | None = None
    take: Take | None = None
    attempts: tuple[Take, ...] = ()
    match: VoiceMatch | None = None
    notices: tuple[str, ...] = ()  # things the person should know, e.g. "the reference was trimmed to 15 s"


ScoreRow = tuple[dict[str, Any], bool, float]  # (kept attempt's scores, failed the gate, seconds of speech)


OnSaved = Callable[[UnitOfWork, Take], None]
"""Runs inside the unit of work that stores a narration, e.g. to tie it to a script segment: all or nothing."""


def save(store: Store, project_id: int, speech: NewTake, attempts: list[NewTake],
         on_saved: OnSaved | None = None) -> tuple[Take, tuple[Take, ...]]:
    """The speech take and its attempts as its children, in one unit of work: kept whole or not at all."""
    for new in (speech, *attempts):  # the audio first, outside the transaction, so it holds the lock briefly
        store.blobs.put(new.audio)
    with store.unit_of_work() as uow:
        take = uow.add_take(project_id, speech)
        stored = tuple(uow.add_take(project_id, dataclasses.replace(a, parent_id=take.id)) for a in attempts)
        if on_saved is not None:
            on_saved(uow, take)
    return take, stored


def speech_take(store: Store, take_id: int | str | None) -> Take:
    """The narration `take_id` names; a readable error for nothing chosen or a take of another kind."""
    if take_id is None or take_id == "":
        raise ValueError("Choose a narration (a speech take) first.")
    take = store.get_take(int(take_id))
    if take.kind != "speech":
        raise ValueError(f"Take #{take.id} is a {take.kind} take; only narrations (speech takes) are made of "
                         "chunks that can be redone.")
    return take


def kept_chunks(store: Store, take: Take) -> list[Take]:
    """The attempt take kept for every chunk: the take's own kept attempt for a chunk, else the one its
    `chunk_takes` names. A readable error when one is missing (deleted)."""
    count = int(take.parameters.get("chunks") or 0)
    own = {t.parameters.get("chunk"): t for t in store.take_children(take.id)
           if t.kind == "attempt" and t.parameters.get("kept")}
    named = list(take.parameters.get("chunk_takes") or [])
    kept = []
    for index in range(count):
        found = own.get(index)
        if found is None and index < len(named) and named[index] is not None:
            try:
                found = store.get_take(int(named[index]))
            except NotFoundError:
                found = None
        if found is None:
            raise ValueError(f"Chunk {index + 1} of take #{take.id} has no stored audio any more (its attempt "
                             "take was deleted), so this narration cannot be re-joined. Speak it again.")
        kept.append(found)
    if not kept:
        raise ValueError(f"Take #{take.id} records no chunks; speak the text again to fix it chunk by chunk.")
    return kept


def score_dict(scores: Scores | None) -> dict[str, Any]:
    return {} if scores is None else dict(dataclasses.asdict(scores))


def aggregate(chunks: list[NarrationChunk], match: VoiceMatch | None = None) -> dict[str, Any]:
    """The speech take's scores: similarity (mean, min) and WER (mean) over the kept chunks, the speaking rate
    over the whole narration's speech, and how many chunks failed the gate or needed retries."""
    rows = [(score_dict(c.scores), not c.passed, c.speech_s) for c in chunks]
    return aggregate_rows(rows, attempts=sum(len(c.attempts) for c in chunks), match=match)


def aggregate_rows(rows: list[ScoreRow], *, attempts: int, match: VoiceMatch | None = None) -> dict[str, Any]:
    """`aggregate` over (kept attempt's scores, failed the gate, seconds of speech) per chunk: what a fresh
    narration and one re-joined from stored attempt takes have in common. `attempts`: synthesised for it."""
    kept = [s for s, _, _ in rows if s]
    sims = [s["speaker_similarity"] for s in kept if s.get("speaker_similarity") is not None]
    wers = [s["wer"] for s in kept if s.get("wer") is not None]
    words = sum(int(s.get("words") or 0) for s in kept)
    speech_s = sum(seconds for _, _, seconds in rows)
    scores: dict[str, Any] = {
        "similarity_mean": float(np.mean(sims)) if sims else None,
        "similarity_min": float(min(sims)) if sims else None,
        "wer_mean": float(np.mean(wers)) if wers else None,
        "words_per_minute": words / (speech_s / 60.0) if kept and speech_s > 0 else None,
        "chunks": len(rows),
        "chunks_failed": sum(1 for _, failed, _ in rows if failed),
        "attempts": attempts,
    }
    if match is not None:
        scores["voice_match_similarity"] = match.similarity
    return scores


def score_row(attempt: Take) -> ScoreRow:
    return dict(attempt.scores), bool(attempt.parameters.get("failures")), attempt.duration


def attempt_takes(chunks: list[NarrationChunk], voice_id: int | None, engine: Engine, parameters: dict[str, Any],
                  layout: list[tuple[float, float]] | None = None,
                  encoded: list[bytes] | None = None) -> list[NewTake]:
    """Every attempt of these chunks as a take to store under the speech take, with what re-joining the
    narration later needs: the chunk's index, spoken text, the pauses around it, and whether it is kept.
    `encoded`: the attempts' FLAC bytes in the same order, when already made."""
    revision = engine.weights_revision()
    audio = iter(encoded) if encoded is not None else None
    out = []
    for chunk in chunks:
        lead, pause = layout[chunk.index] if layout is not None else (chunk.lead_s, chunk.pause_s)
        for k, attempt in enumerate(chunk.attempts):
            out.append(NewTake(
                kind="attempt", audio=next(audio) if audio is not None else au.encode(attempt.audio, "flac"),
                sample_rate=attempt.audio.sample_rate,
                duration=attempt.audio.duration, text=chunk.text, voice_id=voice_id, engine_id=engine.id,
                engine_revision=revision,
                parameters={"chunk": chunk.index, "attempt": k, "kept": k == chunk.chosen, "spoken": chunk.spoken,
                            "failures": list(attempt.failures), "speaker": parameters.get("speaker"),
                            "speed": parameters.get("speed") if attempt.speed is None else attempt.speed,
                            "lead_s": lead, "pause_s": pause},
                seed=attempt.seed, scores=score_dict(attempt.scores)))
    return out


def derived_take(take: Take, engine: Engine, whole: au.Audio, parameters: dict[str, Any],
                 scores: dict[str, Any]) -> NewTake:
    """A new speech take made from `take` (one chunk redone or swapped): same text, voice and seed."""
    return NewTake(kind="speech", audio=au.encode(whole, "flac"), sample_rate=whole.sample_rate,
                   duration=whole.duration, text=take.text, voice_id=take.voice_id, engine_id=engine.id,
                   engine_revision=engine.weights_revision(), parameters=parameters, seed=take.seed,
                   parent_id=take.id, scores=scores)


def stored_settings(parameters: dict[str, Any]) -> NarrationSettings:
    """The narration's settings as stored; takes from before `first_chunk_chars` existed kept whole first
    sentences, so that is what a missing value means."""
    stored = parameters.get("settings") or {}
    known = {f.name for f in dataclasses.fields(NarrationSettings)}
    return NarrationSettings(**{"first_chunk_chars": None, **{k: v for k, v in stored.items() if k in known}})


def stored_match(parameters: dict[str, Any]) -> VoiceMatch | None:
    match = parameters.get("voice_match")
    return VoiceMatch(**match) if isinstance(match, dict) else None


def chunk_index(chunk: Any, count: int) -> int:
    """A 0-based chunk number checked against the narration's `count` chunks (the message counts from 1)."""
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or not 0 <= chunk < count:
        raise ValueError(f"Chunk must be a number from 1 to {count} (this narration has {count} chunk(s)), "
                         f"got {chunk + 1 if isinstance(chunk, (int, np.integer)) else chunk!r}.")
    return int(chunk)
