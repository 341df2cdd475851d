"""Speaking a planned narration: each chunk synthesized with its own derived seed (retried through the
quality gate when there is one), trimmed, brought to one loudness and surrounded by its pauses, and yielded
as soon as it is ready so playback can start after the first sentence."""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np

from ..audio import Audio, join, match_loudness, silence, trim_silence
from ..base import VoicePrompt
from ..scoring import Attempt, QualityGate
from ..seeds import check_seed, derive_seed, random_seed
from ..speak import SpeakPipeline
from ..zerogpu import on_gpu
from .chunks import NarrationChunk, NarrationEvent, in_order
from .live import live_events
from .planning import NarrationSettings, PlannedChunk, plan_chunks
from .script import DEFAULT_MAX_CHARS

__all__ = ["Narrator", "chunk_seed", "surround", "TRIM_THRESHOLD_DB", "RETRY_SPEED_STEP"]

TRIM_THRESHOLD_DB = -45.0
RETRY_SPEED_STEP = 0.06  # a deterministic engine's retry is spoken this much slower or faster per retry


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

    def events(self, text: str, *, voice: VoicePrompt | None = None, seed: int | None = None,
               plan: list[PlannedChunk] | None = None, **options: Any) -> Iterator[NarrationEvent]:
        """The narration as it happens: a "chunk" event as soon as each chunk is synthesised (play it), and,
        with a gate, one "scored" or "replaced" event per chunk once it is judged (see `NarrationEvent`).

        The gate never holds a chunk back: it scores on its own thread while the next chunks are spoken,
        and failing chunks are spoken again between new ones, while the player is ahead (`live`).
        `seed` None draws one (reported as each chunk's `base_seed`, so the narration can be repeated);
        chunk i's attempt k uses `chunk_seed(seed, i, k)`. `options` go to the engine (speaker, speed...).
        `plan`: this text's `plan()` when the caller already made it (a long text is planned only once).
        Bad input raises here, before anything is synthesized."""
        seed = check_seed(seed)
        plan = self.plan(text) if plan is None else plan
        base = seed if seed is not None else random_seed()
        if self.gate is None:
            return self._ungated(plan, base, voice, options)
        reference = self.gate.scorer.reference_for(voice)

        def attempt(planned: PlannedChunk, k: int, previous: Attempt | None) -> Attempt | None:
            return self.attempt(planned, k, voice=voice, base_seed=base, options=options, previous=previous)

        return live_events(plan, attempt, lambda planned, a: self.judge(planned, a, reference),
                           lambda planned, attempts: self.finish(planned, attempts, base), self.gate.max_attempts)

    def stream(self, text: str, *, voice: VoicePrompt | None = None, seed: int | None = None,
               plan: list[PlannedChunk] | None = None, **options: Any) -> Iterator[NarrationChunk]:
        """Each chunk in order once it is final (with a gate: judged, and retried where it failed); the
        arguments are those of `events`. Bad input raises here, before anything is synthesized."""
        return in_order(self.events(text, voice=voice, seed=seed, plan=plan, **options))

    def __call__(self, text: str, *, voice: VoicePrompt | None = None, seed: int | None = None,
                 **options: Any) -> Audio:
        """The whole narration as one Audio (chunks joined with short crossfades)."""
        chunks = [chunk.audio for chunk in self.stream(text, voice=voice, seed=seed, **options)]
        return join(chunks, self.settings.crossfade_s)

    def render(self, planned: PlannedChunk, *, voice: VoicePrompt | None = None, base_seed: int,
               reference_embedding: np.ndarray | None = None, first_seed: bool = False,
               **options: Any) -> NarrationChunk:
        """Synthesize one planned chunk, judging each attempt before the next (the studio calls this to redo a
        single chunk of an earlier narration). `first_seed` True: the first attempt uses `base_seed` itself
        (a seed copied from an earlier attempt gives that attempt again), retries `chunk_seed(base_seed,
        index, k)`."""
        attempts: list[Attempt] = []
        for k in range(self.gate.max_attempts if self.gate is not None else 1):
            attempt = self.attempt(planned, k, voice=voice, base_seed=base_seed, first_seed=first_seed,
                                   previous=attempts[-1] if attempts else None, options=options)
            if attempt is None:
                break
            attempts.append(self.judge(planned, attempt, reference_embedding))
            if attempts[-1].passed:
                break
        return self.finish(planned, attempts, base_seed)

    def attempt(self, planned: PlannedChunk, k: int, *, voice: VoicePrompt | None, base_seed: int,
                options: dict[str, Any], first_seed: bool = False,
                previous: Attempt | None = None) -> Attempt | None:
        """Attempt `k` at a chunk, synthesised, trimmed and loudness-matched but not judged. A retry (k > 0)
        of a seed-dependent engine gets a new seed; a deterministic engine's gets a slightly different speed
        (slower after a chunk judged too fast, faster after one too slow), and None when it has no speed
        control or no new speed is left: trying again would give the same audio."""
        attempt_seed = int(base_seed) if first_seed and k == 0 else chunk_seed(base_seed, planned.index, k)
        speed = None
        if k > 0 and not getattr(self.engine, "seed_dependent", True):
            speed = self._varied_speed(k, options, previous)
            if speed is None:
                return None
        call = options if speed is None else {**options, "speed": speed}
        started = time.perf_counter()
        raw = on_gpu(self.engine)(planned.spoken, voice=voice, seed=attempt_seed, **call)
        synth_s = time.perf_counter() - started
        level = match_loudness(self._trim(raw), self.settings.target_lufs)
        return Attempt(attempt_seed, level, None, (), synth_s, 0.0, speed)

    def judge(self, planned: PlannedChunk, attempt: Attempt, reference_embedding: np.ndarray | None) -> Attempt:
        """The attempt with the gate's scores and reasons (as it is, without a gate). Thread-safe as far as
        the scorer's models are: the live narration calls it on its scoring thread."""
        if self.gate is None:
            return attempt
        started = time.perf_counter()
        scores, problems = self.gate.check(attempt.audio, planned.spoken, reference_embedding)
        return replace(attempt, scores=scores, failures=tuple(problems), score_s=time.perf_counter() - started)

    def finish(self, planned: PlannedChunk, attempts: list[Attempt], base_seed: int) -> NarrationChunk:
        """The chunk made of these attempts: the gate's best (the first without a gate), with its pauses."""
        kept = self.gate.best(attempts) if self.gate is not None else attempts[0]
        return NarrationChunk(
            index=planned.index, text=planned.text, spoken=planned.spoken, audio=self._surround(planned, kept.audio),
            seed=kept.seed, base_seed=base_seed, attempts=tuple(attempts), chosen=attempts.index(kept),
            lead_s=planned.lead_s, pause_s=planned.pause_s, speech_s=kept.audio.duration)

    def _ungated(self, plan: list[PlannedChunk], base: int, voice: VoicePrompt | None,
                 options: dict[str, Any]) -> Iterator[NarrationEvent]:
        for planned in plan:  # one checkpoint per chunk: a cancel token would be checked here
            attempt = self.attempt(planned, 0, voice=voice, base_seed=base, options=options)
            assert attempt is not None  # the first attempt is always made
            yield NarrationEvent("chunk", self.finish(planned, [attempt], base), final=True)

    def _varied_speed(self, k: int, options: dict[str, Any], previous: Attempt | None) -> float | None:
        """Retry k's speed for a deterministic engine: RETRY_SPEED_STEP per retry, away from a rate the gate
        judged too fast or too slow (alternating when the rate was fine), within the engine's range."""
        speed_range = self.engine.speed_range
        if speed_range is None:
            return None
        base = float(options.get("speed", 1.0))
        direction = self.gate.thresholds.rate_error(previous.scores if previous else None) if self.gate else 0
        if direction:
            factor = 1.0 - direction * RETRY_SPEED_STEP * k
        else:
            factor = 1.0 + RETRY_SPEED_STEP * ((k + 1) // 2) * (-1 if k % 2 else 1)
        speed = round(min(max(base * factor, speed_range[0]), speed_range[1]), 3)
        tried = {base} | ({previous.speed} if previous is not None and previous.speed is not None else set())
        return None if speed in tried else speed

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
