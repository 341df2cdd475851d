"""The gate never stalls the listener: chunks are handed out as soon as they are synthesised, the gate scores
them on its own thread, failing chunks are spoken again behind the player and swapped in ("replaced"), and a
deterministic engine is retried by varying its speed, not its seed. Stand-in engines and the real signal-level
gate (no models), synchronised with events, never with sleeps."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from pipelines.audio import Audio, silence
from pipelines.base import Transcript
from pipelines.narration import NarrationSettings, Narrator, ScoringWorker, chunk_seed
from pipelines.scoring import Attempt, QualityGate, QualityThresholds, Scorer
from pipelines.transcribe import TranscribePipeline
from tests.integration.test_narration import RATE, FakeSpeak, concat, tone

TEXT = "One sentence here. Another one there. A third one to end."


class Stumbling(FakeSpeak):
    """FakeSpeak that leaves a 2 s hole in the middle of the takes made with `bad_seeds` (the gate's silence
    check fails them); `speed` stretches the take, as a real engine's would."""

    speed_range = (0.5, 2.0)

    def __init__(self, bad_seeds: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        super().__init__()
        self.bad_seeds = set(bad_seeds)
        self.speeds: list[float | None] = []

    def __call__(self, text, *, voice=None, seed=None, speed=None, **options) -> Audio:
        self.speeds.append(speed)
        audio = super().__call__(text, voice=voice, seed=seed)
        if speed is not None:
            audio = Audio(np.interp(np.arange(0, audio.num_samples, speed), np.arange(audio.num_samples),
                                    audio.samples).astype(np.float32), RATE)
        if seed in self.bad_seeds:
            middle = audio.num_samples // 2
            audio = concat(Audio(audio.samples[:middle], RATE), silence(2.0, RATE), Audio(audio.samples[middle:], RATE))
        return audio


class Deterministic(Stumbling):
    """The same audio for every seed: the seed only chooses nothing (like Kokoro)."""

    seed_dependent = False


class HeldASR(TranscribePipeline):
    """Hears the right words, but only once `release` is set: a gate slower than any engine."""

    def __init__(self, texts: list[str]) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.heard = 0
        self.texts = texts

    @classmethod
    def from_pretrained(cls, model_path, *, device="cpu", dtype=None, **options):  # pragma: no cover
        raise NotImplementedError

    @property
    def sample_rate(self) -> int:
        return RATE

    def __call__(self, audio, *, language=None) -> Transcript:
        self.entered.set()
        assert self.release.wait(30), "the test never released the gate"
        self.heard += 1
        return Transcript(self.texts[0], ())


def test_every_chunk_reaches_the_player_before_the_gate_has_scored_one() -> None:
    """With a gate that cannot answer yet, all chunks still stream: nothing waits for a score."""
    engine = FakeSpeak()
    asr = HeldASR(["anything"])
    narrator = Narrator(engine, gate=QualityGate(Scorer(transcriber=asr), QualityThresholds(max_wer=1.0)))
    events = narrator.events(TEXT, seed=3)
    first = [next(events) for _ in range(3)]
    assert [(e.kind, e.index, e.final) for e in first] == [("chunk", i, False) for i in range(3)]
    assert asr.heard == 0 and len(engine.calls) == 3
    assert all(e.chunk.attempts[0].scores is None for e in first)
    asr.release.set()
    rest = list(events)
    assert sorted((e.kind, e.index, e.final) for e in rest) == [("scored", i, True) for i in range(3)]
    assert asr.heard == 3 and all(e.chunk.scores is not None and e.chunk.passed for e in rest)
    for played, judged in zip(first, sorted(rest, key=lambda e: e.index)):
        assert np.array_equal(played.chunk.audio.samples, judged.chunk.audio.samples)  # the same take, now scored


def test_a_failing_chunk_is_spoken_again_behind_the_player_and_replaced() -> None:
    bad = chunk_seed(5, 1, 0)
    engine = Stumbling({bad})
    narrator = Narrator(engine, gate=QualityGate(Scorer(), max_attempts=3))
    events = list(narrator.events(TEXT, seed=5))
    played = {e.index: e.chunk for e in events if e.kind == "chunk"}
    final = {e.index: e for e in events if e.final}
    assert sorted(played) == sorted(final) == [0, 1, 2]
    assert [final[i].kind for i in range(3)] == ["scored", "replaced", "scored"]
    replaced = final[1].chunk
    assert [a.seed for a in replaced.attempts] == [bad, chunk_seed(5, 1, 1)] and replaced.chosen == 1
    assert replaced.attempts[0].failures == ("silence 2.0 s > 1.5 s",) and replaced.passed
    assert played[1].audio.duration > replaced.audio.duration + 1.9  # the hole was played, the take has none
    # the ordered stream of final chunks is what the narration keeps, and reruns keep the same
    again = list(Narrator(Stumbling({bad}), gate=QualityGate(Scorer())).stream(TEXT, seed=5))
    assert [c.seed for c in again] == [final[i].chunk.seed for i in range(3)]
    assert all(np.array_equal(a.audio.samples, final[a.index].chunk.audio.samples) for a in again)


def test_a_deterministic_engine_is_retried_at_another_speed_not_another_seed() -> None:
    engine = Deterministic()
    slow_enough = QualityThresholds(words_per_minute=(10.0, 60.0), min_words_for_rate=2)  # FakeSpeak: ~110 wpm
    narrator = Narrator(engine, NarrationSettings(), QualityGate(Scorer(), slow_enough, max_attempts=3))
    chunk = next(narrator.stream("One two three four.", seed=1))
    assert [a.speed for a in chunk.attempts] == [None, 0.94, 0.88]  # too fast: slower each time
    assert engine.speeds == [None, 0.94, 0.88]
    assert all(a.failures and a.failures[0].startswith("rate ") for a in chunk.attempts)
    assert chunk.attempts[2].scores.words_per_minute < chunk.attempts[0].scores.words_per_minute

    class NoSpeed(Deterministic):
        speed_range = None

    fixed = NoSpeed()
    stuck = next(Narrator(fixed, gate=QualityGate(Scorer(), slow_enough)).stream("One two three four.", seed=1))
    assert len(stuck.attempts) == 1 and len(fixed.calls) == 1 and not stuck.passed  # stopped, and it says why


def test_a_seed_dependent_engine_keeps_its_speed_on_retries() -> None:
    engine = Stumbling({chunk_seed(2, 0, 0), chunk_seed(2, 0, 1)})
    chunk = next(Narrator(engine, gate=QualityGate(Scorer())).stream("Only one.", seed=2, speed=1.25))
    assert engine.speeds == [1.25] * 3 and [a.speed for a in chunk.attempts] == [None] * 3
    assert chunk.chosen == 2 and chunk.passed


def test_a_gate_that_breaks_stops_the_narration_with_its_error() -> None:
    class Broken(Scorer):
        def score(self, audio, text, reference_embedding=None):
            raise RuntimeError("encoder exploded")

    events = Narrator(FakeSpeak(), gate=QualityGate(Broken())).events(TEXT, seed=1)
    with pytest.raises(RuntimeError, match="encoder exploded"):
        list(events)


def test_the_scoring_worker_takes_what_is_waiting_as_one_batch() -> None:
    asr = HeldASR(["one"])
    scorer = Scorer(transcriber=asr)
    plan = Narrator(FakeSpeak()).plan("One. Two. Three. Four.")
    worker = ScoringWorker(lambda planned, attempt: replace_scores(scorer, planned, attempt))
    try:
        attempt = Attempt(1, tone(0.5))
        worker.submit(plan[0], 0, attempt)
        assert asr.entered.wait(30)  # the worker is busy with the first
        for planned in plan[1:]:
            worker.submit(planned, 0, attempt)
        asr.release.set()
        results = []
        while worker.pending:
            results += worker.results(block=True)
        assert [p.index for p, _, _ in results] == [0, 1, 2, 3]
        assert worker.batches == [1, 3]
    finally:
        worker.close()


def replace_scores(scorer: Scorer, planned, attempt: Attempt) -> Attempt:
    return Attempt(attempt.seed, attempt.audio, scorer.score(attempt.audio, planned.spoken))
