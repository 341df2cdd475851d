"""Speaking a planned narration: each chunk synthesized with its own derived seed (retried through the
quality gate when there is one), trimmed, brought to one loudness and surrounded by its pauses, and yielded
as soon as it is ready so playback can start after the first sentence."""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..audio import Audio, join, match_loudness, silence, trim_silence
from ..base import VoicePrompt
from ..scoring import Attempt, QualityGate, Scores
from ..seeds import check_seed, derive_seed, random_seed
from ..speak import SpeakPipeline
from .planning import NarrationSettings, PlannedChunk, plan_chunks
from .script import DEFAULT_MAX_CHARS

__all__ = ["NarrationChunk", "Narrator", "chunk_seed", "surround"]

TRIM_THRESHOLD_DB = -45.0


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


def chunk_seed(base_seed: int, index: int, attempt: int = 0) -> int:
    """The seed of chunk `index` (attempt `attempt`) of a narration seeded with `base_seed`: a hash, so
    neighbouring chunks get unrelated seeds, the same inputs always the same one (`seeds.derive_seed`)."""
    return derive_seed(base_seed, index, attempt)


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
        limit = self.engine.max_chars
        wanted = self.settings.max_chars or limit or DEFAULT_MAX_CHARS
        return min(wanted, limit) if limit else wanted

    def plan(self, text: str) -> list[PlannedChunk]:
        """The chunks a narration of `text` will have, without synthesizing anything (see `plan_chunks`)."""
        return plan_chunks(text, self.settings, self.max_chars)

    def stream(self, text: str, *, voice: VoicePrompt | None = None, seed: int | None = None,
               plan: list[PlannedChunk] | None = None, **options: Any) -> Iterator[NarrationChunk]:
        """Yield each chunk as soon as it is synthesized (and, with a gate, accepted or out of attempts).

        `seed` None draws one (reported as each chunk's `base_seed`, so the narration can be repeated);
        chunk i's attempt k uses `chunk_seed(seed, i, k)`. `options` go to the engine (speaker, speed...).
        `plan`: this text's `plan()` when the caller already made it (a long text is planned only once).
        Bad input raises here, before anything is synthesized.
        """
        seed = check_seed(seed)
        plan = self.plan(text) if plan is None else plan
        base = seed if seed is not None else random_seed()
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
            scores, score_s = None, 0.0
            failures: tuple[str, ...] = ()
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
        trimmed = trim_silence(raw, threshold_db=TRIM_THRESHOLD_DB, pad_seconds=self.settings.edge_pad_s)
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
