"""Long-form narration and the quality gate.

The first half uses stand-in engines and synthetic audio (fast, exact); the second half narrates with the
real embedded Piper voice and scores with the real Resemblyzer encoder and Whisper base, asserting what a
listener would check: one continuous take, consistent loudness, the pauses the script asks for, words a
recogniser understands, reproducible with a seed, and the first chunk ready long before the last.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from pipelines.audio import Audio, join, loudness, silence
from pipelines.base import Transcript
from pipelines.narration import NarrationSettings, Narrator, chunk_seed
from pipelines.scoring import (MAX_WORDS_PER_MINUTE, Attempt, QualityGate, QualityThresholds, Scorer, Scores,
                               clipping_ratio, longest_silence, word_error_rate)
from pipelines.speak import SpeakPipeline
from pipelines.transcribe import TranscribePipeline
from tests.conftest import NO_TTS

RATE = 16000


def tone(seconds: float, amplitude: float = 0.3, rate: int = RATE, freq: float = 220.0) -> Audio:
    t = np.arange(int(round(seconds * rate))) / rate
    return Audio((amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)


def concat(*parts: Audio) -> Audio:
    return Audio(np.concatenate([p.samples for p in parts]), parts[0].sample_rate)


class FakeSpeak(SpeakPipeline):
    """Deterministic stand-in: a seeded noisy tone, 60 ms per character, with silence around it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int | None]] = []

    @classmethod
    def from_pretrained(cls, model_path, *, device="cpu", dtype=None, **options):  # pragma: no cover
        return cls()

    @property
    def sample_rate(self) -> int:
        return RATE

    def __call__(self, text, *, voice=None, seed=None, **options) -> Audio:
        self.calls.append((text, seed))
        rng = np.random.default_rng(seed)
        body = tone(0.06 * len(text), amplitude=float(rng.uniform(0.05, 0.5))).samples
        body = body + rng.normal(0, 0.01, body.size).astype(np.float32)
        return concat(silence(0.3, RATE), Audio(body, RATE), silence(0.5, RATE))


class FakeASR(TranscribePipeline):
    """Hears a fixed text, whatever it is given."""

    def __init__(self, heard: str) -> None:
        self.heard = heard

    @classmethod
    def from_pretrained(cls, model_path, *, device="cpu", dtype=None, **options):  # pragma: no cover
        raise NotImplementedError

    @property
    def sample_rate(self) -> int:
        return RATE

    def __call__(self, audio, *, language=None) -> Transcript:
        return Transcript(self.heard, ())


# --------------------------------------------------------------------------------- scoring, synthetic


def test_clipping_is_measured_and_fails_the_gate() -> None:
    clean = tone(1.0, amplitude=0.5)
    clipped = Audio(np.clip(clean.samples * 4, -1, 1), RATE)
    assert clipping_ratio(clean) == 0.0
    assert clipping_ratio(clipped) > 0.5
    scores = Scorer().score(clipped, "a tone")
    assert scores.clipping_ratio == pytest.approx(clipping_ratio(clipped))
    assert QualityThresholds().failures(scores) == [f"clipping {scores.clipping_ratio:.2%} > 0.10%"]
    assert not QualityThresholds().failures(Scorer().score(clean, "a tone"))


def test_long_silences_inside_a_take_fail_the_gate() -> None:
    take = concat(silence(0.4, RATE), tone(0.5), silence(2.0, RATE), tone(0.5), silence(0.4, RATE))
    assert longest_silence(take) == pytest.approx(2.0, abs=0.02)  # edges do not count
    scores = Scorer().score(take, "two words")
    assert QualityThresholds().failures(scores) == ["silence 2.0 s > 1.5 s"]
    assert longest_silence(concat(tone(0.5), silence(0.3, RATE), tone(0.5))) == pytest.approx(0.3, abs=0.02)
    assert longest_silence(tone(1.0)) == 0.0
    assert longest_silence(silence(1.5, RATE)) == 1.5  # nothing at all: all silence


def test_speaking_rate_and_unmeasured_scores() -> None:
    thresholds = QualityThresholds()
    fast = Scores(None, None, words_per_minute=400.0, clipping_ratio=0.0, longest_silence_s=0.0, duration_s=1.5,
                  words=10)
    assert thresholds.failures(fast) == [f"rate 400 wpm > {MAX_WORDS_PER_MINUTE:.0f}"]
    slow = Scores(None, None, 60.0, 0.0, 0.0, 10.0, words=10)
    assert thresholds.failures(slow) == ["rate 60 wpm < 90"]
    assert (thresholds.rate_error(fast), thresholds.rate_error(slow), thresholds.rate_error(None)) == (1, -1, 0)
    assert thresholds.failures(Scores(None, None, 262.0, 0.0, 0.0, 5.0, words=20)) == []  # Piper's natural pace
    short = Scores(None, None, 400.0, 0.0, 0.0, 0.3, words=2)  # two words: a rate means nothing
    assert thresholds.failures(short) == []
    scores = Scorer().score(tone(2.0), "one two three four five six")
    assert scores.words == 6 and scores.words_per_minute == pytest.approx(180.0)
    assert scores.speaker_similarity is None and scores.wer is None and scores.transcript is None


def test_word_error_rate_ignores_spelling_of_numbers_and_punctuation() -> None:
    assert word_error_rate("Dr. Smith paid $5.50 at 3:30 pm on March 3, 2024.",
                           "Doctor Smith paid five dollars and fifty cents at 3.30 p.m. on March 3rd, 2024") == 0.0
    assert word_error_rate("It was 105 degrees.", "it was one hundred and five degrees") == 0.0
    assert word_error_rate("Don't stop-now!", "dont stop now") == 0.0
    assert word_error_rate("one two three four", "one two four") == pytest.approx(0.25)
    assert word_error_rate("one two", "") == 1.0
    assert word_error_rate("...", "anything") is None


def test_wer_reason_quotes_what_was_heard() -> None:
    scorer = Scorer(transcriber=FakeASR("the cat sat"))
    scores = scorer.score(tone(1.5), "the dog sat")
    assert scores.wer == pytest.approx(1 / 3) and scores.transcript == "the cat sat"
    assert QualityThresholds().failures(scores) == ["WER 33% > 20% (heard: 'the cat sat')"]


def test_best_attempt_ranking() -> None:
    def attempt(seed: int, failures: int, wer: float | None, sim: float | None) -> Attempt:
        scores = Scores(sim, wer, 150.0, 0.0, 0.0, 2.0, words=5)
        return Attempt(seed, tone(0.1), scores, tuple(f"problem {i}" for i in range(failures)))

    gate = QualityGate(Scorer())
    assert gate.best([attempt(1, 2, 0.0, 0.9), attempt(2, 1, 0.5, 0.5), attempt(3, 1, 0.4, 0.1)]).seed == 3
    assert gate.best([attempt(1, 1, 0.4, 0.7), attempt(2, 1, 0.4, 0.8)]).seed == 2
    assert gate.best([attempt(1, 0, None, None), attempt(2, 0, None, None)]).seed == 1  # ties: earliest
    with pytest.raises(ValueError, match="max_attempts"):
        QualityGate(Scorer(), max_attempts=0)


# -------------------------------------------------------------------------------- narrator, stand-in


def test_stream_is_lazy_and_validates_first() -> None:
    engine = FakeSpeak()
    narrator = Narrator(engine)
    stream = narrator.stream("One. Two. Three.", seed=1)
    assert engine.calls == []  # nothing is synthesized until asked
    first = next(stream)
    assert first.index == 0 and len(engine.calls) == 1
    assert [c.index for c in stream] == [1, 2]
    assert [seed for _, seed in engine.calls] == [chunk_seed(1, i) for i in range(3)]
    with pytest.raises(ValueError, match="seed"):
        narrator.stream("One.", seed=-1)
    with pytest.raises(ValueError, match="non-empty"):
        narrator.stream("")
    assert len(engine.calls) == 3


def test_chunks_are_trimmed_levelled_and_paused() -> None:
    settings = NarrationSettings(sentence_pause_s=0.4, paragraph_pause_s=1.0, crossfade_s=0.01, edge_pad_s=0.04)
    chunks = list(Narrator(FakeSpeak(), settings).stream("[pause 0.5s] One two.\n\nThree four. Five.", seed=3))
    assert [c.pause_s for c in chunks] == [1.0, 0.4, 0.0] and chunks[0].lead_s == 0.5
    for chunk in chunks:
        speech = chunk.attempts[chunk.chosen].audio
        assert loudness(speech) == pytest.approx(-20.0, abs=0.5)
        assert speech.duration == pytest.approx(0.06 * len(chunk.spoken) + 0.08, abs=0.03)  # 40 ms pads
        expected = speech.duration + max(0.0, chunk.lead_s - 0.04) + (chunk.pause_s - 0.08 + 0.01 if chunk.pause_s
                                                                      else 0.0)
        assert chunk.audio.duration == pytest.approx(expected, abs=0.002)
        assert chunk.attempts[0].scores is None and chunk.passed


def test_gate_retries_with_new_seeds_and_keeps_the_best() -> None:
    engine = FakeSpeak()
    thresholds = QualityThresholds(max_silence_s=-1.0)  # every take fails
    narrator = Narrator(engine, gate=QualityGate(Scorer(), thresholds, max_attempts=3))
    chunk = next(narrator.stream("A single sentence here.", seed=5))
    assert len(chunk.attempts) == 3 and len(engine.calls) == 3
    assert [a.seed for a in chunk.attempts] == [chunk_seed(5, 0, k) for k in range(3)]
    assert all(a.failures for a in chunk.attempts) and not chunk.passed
    assert chunk.chosen == 0 and chunk.seed == chunk.attempts[0].seed  # equal rank: the first is kept
    passing = Narrator(FakeSpeak(), gate=QualityGate(Scorer(), max_attempts=3))
    assert len(next(passing.stream("A single sentence here.", seed=5)).attempts) == 1


def test_reference_comes_from_the_voice_prompt() -> None:
    from pipelines.base import VoicePrompt

    class Encoder:
        engine_id = "toy-encoder"

        def __call__(self, audio: Audio) -> np.ndarray:
            return np.array([1.0, 0.0], dtype=np.float32)

    stored = VoicePrompt(clips=(tone(1.0),), embeddings={"toy-encoder": np.array([0.0, 1.0], np.float32)})
    assert Scorer(Encoder()).reference_for(stored).tolist() == [0.0, 1.0]  # type: ignore[arg-type]
    assert Scorer(Encoder()).reference_for(VoicePrompt(clips=(tone(1.0),))).tolist() == [1.0, 0.0]  # type: ignore
    assert Scorer(Encoder()).reference_for(None) is None  # type: ignore[arg-type]
    assert Scorer().reference_for(stored) is None


LONG_OPENING = ("Still, he said the quiet mornings made up for it: fog on the water, gulls, and a pot of strong "
                "coffee. He kept a logbook.")


def test_a_long_first_sentence_starts_with_its_first_clause() -> None:
    """The player can start after a short clause: the first sentence is cut at its last clause mark within
    first_chunk_chars; the words, their order and the rest of the plan are unchanged."""
    settings = NarrationSettings(first_chunk_chars=60, clause_pause_s=0.2, sentence_pause_s=0.35)
    plan = Narrator(FakeSpeak(), settings).plan(LONG_OPENING)
    whole = Narrator(FakeSpeak(), NarrationSettings(first_chunk_chars=None)).plan(LONG_OPENING)
    assert [c.spoken for c in plan] == ["Still, he said the quiet mornings made up for it:",  # "Still," is too short
                                        "fog on the water, gulls, and a pot of strong coffee.", "He kept a logbook."]
    assert [c.index for c in plan] == [0, 1, 2] and len(whole) == 2
    assert plan[0].pause_s == 0.2 and plan[0].boundary == "clause"
    assert plan[1].pause_s == whole[0].pause_s and plan[2] == whole[1].__class__(**{**whole[1].__dict__, "index": 2})
    assert " ".join(c.spoken for c in plan) == " ".join(c.spoken for c in whole)
    engine = FakeSpeak()
    first = next(Narrator(engine, settings).stream(LONG_OPENING, seed=1))
    assert engine.calls == [(plan[0].spoken, chunk_seed(1, 0))]  # only the clause was spoken before it came
    assert first.audio.duration < 0.06 * len(whole[0].spoken)


@pytest.mark.parametrize("text", ["The lighthouse keeper climbed the spiral stairs every evening at dusk, as always.",
                                  "A long first sentence without any clause mark in it keeps going to its very end."])
def test_a_first_sentence_without_a_usable_clause_mark_stays_whole(text) -> None:
    # the only comma leaves a tail under MIN_FIRST_CLAUSE_CHARS; the other has no mark at all
    plan = Narrator(FakeSpeak(), NarrationSettings(first_chunk_chars=80)).plan(text)
    assert [c.spoken for c in plan] == [text]


def test_first_chunk_chars_is_checked() -> None:
    with pytest.raises(ValueError, match="first_chunk_chars"):
        NarrationSettings(first_chunk_chars=5)


def test_render_can_start_from_an_exact_seed() -> None:
    """Redoing one chunk with a seed copied from an earlier attempt gives that attempt again."""
    engine = FakeSpeak()
    narrator = Narrator(engine, gate=QualityGate(Scorer(), QualityThresholds(max_silence_s=-1.0), max_attempts=2))
    planned = narrator.plan("One sentence to redo. Another one.")[1]
    chunk = narrator.render(planned, base_seed=1234, first_seed=True)
    assert [a.seed for a in chunk.attempts] == [1234, chunk_seed(1234, 1, 1)]
    again = narrator.render(planned, base_seed=1234, first_seed=True)
    assert np.array_equal(chunk.attempts[0].audio.samples, again.attempts[0].audio.samples)
    assert narrator.render(planned, base_seed=1234).attempts[0].seed == chunk_seed(1234, 1, 0)


# --------------------------------------------------------------------------------------- real engines

pytest.importorskip("onnxruntime")

SCRIPT = """Retake reads long scripts one sentence at a time. Each sentence gets its own seed.

The chunks are trimmed, levelled and joined. A paragraph ends with a longer pause [pause 1.0s] and a pause mark \
waits exactly as long as it says.

On March 3, 2024 the ticket cost $5.50. That was the end of it."""


@pytest.fixture(scope="module")
def piper():
    pytest.importorskip("piper", reason=NO_TTS)
    from pipelines.speak.piper import PiperSpeak

    return PiperSpeak.from_pretrained(None)


@pytest.fixture(scope="module")
def whisper(tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("faster_whisper")
    from pipelines.transcribe.faster_whisper import FasterWhisperTranscribe

    return FasterWhisperTranscribe.from_pretrained(None, cache_dir=Path(tmp_path_factory.mktemp("models")))


@pytest.fixture(scope="module")
def encoder():
    pytest.importorskip("resemblyzer")
    from pipelines.speaker.resemblyzer import ResemblyzerSpeaker

    return ResemblyzerSpeaker.from_pretrained(None)


@pytest.fixture(scope="module")
def reference(piper, encoder) -> np.ndarray:
    """The target voice for similarity: Piper's own voice on a different text."""
    return encoder(piper("A reference recording of the same voice, read calmly and clearly.", seed=99))


@pytest.fixture(scope="module")
def narration(piper) -> tuple[list, float, float, float]:
    """SCRIPT streamed once with seed 11: the chunks, seconds to the first chunk and to the last, and how
    many engine calls had been made when the first chunk arrived."""
    calls = []

    class Counting(SpeakPipeline):
        """Piper, counting calls."""

        @classmethod
        def from_pretrained(cls, model_path, **options):  # pragma: no cover
            raise NotImplementedError

        @property
        def sample_rate(self) -> int:
            return piper.sample_rate

        def __call__(self, text, **kwargs):
            calls.append(text)
            return piper(text, **kwargs)

    started = time.perf_counter()
    chunks, first_s, calls_at_first = [], 0.0, 0
    for chunk in Narrator(Counting()).stream(SCRIPT, seed=11):
        if not chunks:
            first_s, calls_at_first = time.perf_counter() - started, len(calls)
        chunks.append(chunk)
    return chunks, first_s, time.perf_counter() - started, calls_at_first


@pytest.mark.slow
def test_piper_narration_is_one_audio(piper, narration) -> None:
    """Narrating again with the same seed gives, sample for sample, the streamed chunks joined."""
    chunks, *_ = narration
    narrator = Narrator(piper)
    audio = narrator(SCRIPT, seed=11)
    assert len(chunks) == len(narrator.plan(SCRIPT)) == 7
    assert isinstance(audio, Audio) and audio.samples.dtype == np.float32 and audio.sample_rate == piper.sample_rate
    assert np.array_equal(audio.samples, join([c.audio for c in chunks], 0.01).samples)
    assert audio.duration == pytest.approx(sum(c.audio.duration for c in chunks) - 0.01 * (len(chunks) - 1), abs=1e-3)
    assert 15.0 < audio.duration < 40.0
    assert float(np.max(np.abs(audio.samples))) <= 10 ** (-1 / 20) + 1e-6


def test_stream_yields_the_first_chunk_early(narration) -> None:
    chunks, first_s, total_s, calls_at_first = narration
    assert calls_at_first == 1  # the first chunk came after one synthesis, not after the whole text
    print(f"\ntime to first chunk {first_s:.2f} s, whole narration {total_s:.2f} s, "
          f"{sum(c.audio.duration for c in chunks):.1f} s of audio")


def test_seed_decides_each_chunk(piper, narration) -> None:
    """Chunk i's take depends only on (seed, i): the same opening in a shorter script is the same take."""
    chunks, *_ = narration
    narrator = Narrator(piper)
    opening = "Retake reads long scripts one sentence at a time. Each sentence gets its own seed."
    same = next(narrator.stream(opening, seed=11))
    assert np.array_equal(same.audio.samples, chunks[0].audio.samples) and same.seed == chunks[0].seed
    other = next(narrator.stream(opening, seed=12))
    assert other.seed != same.seed
    assert other.audio.num_samples != same.audio.num_samples or not np.array_equal(other.audio.samples,
                                                                                   same.audio.samples)


def test_chunks_are_loudness_matched(narration) -> None:
    chunks, *_ = narration
    for chunk in chunks:
        speech = chunk.attempts[chunk.chosen].audio
        assert loudness(speech) == pytest.approx(-20.0, abs=1.0), chunk.spoken
        assert loudness(chunk.audio) == pytest.approx(-20.0, abs=1.0), chunk.spoken  # the pause adds nothing


def _quiet_run(samples: np.ndarray, rate: int, from_end: bool) -> float:
    """Seconds of near-silence (10 ms frames under -50 dBFS RMS) at the end or start of `samples`."""
    frame = rate // 100
    frames = samples[: samples.size // frame * frame].reshape(-1, frame)
    quiet = 20 * np.log10(np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)) + 1e-12) < -50
    if from_end:
        quiet = quiet[::-1]
    loud = np.flatnonzero(~quiet)
    return (loud[0] if loud.size else quiet.size) * frame / rate


def test_pauses_are_what_the_script_and_settings_say(narration) -> None:
    chunks, *_ = narration
    rate = chunks[0].audio.sample_rate
    gaps = [_quiet_run(a.audio.samples, rate, True) + _quiet_run(b.audio.samples, rate, False) - 0.01
            for a, b in zip(chunks, chunks[1:])]
    planned = [c.pause_s for c in chunks[:-1]]
    assert planned == [0.35, 0.8, 0.35, 1.0, 0.8, 0.35]
    mark = planned.index(1.0)
    assert chunks[mark].spoken.endswith("longer pause")
    assert gaps[mark] >= 0.95, gaps
    for gap, pause in zip(gaps, planned):
        assert pause - 0.05 <= gap <= pause + 0.15, (gaps, planned)


@pytest.mark.slow
def test_quality_gate_on_piper_speech(piper, encoder, whisper, reference) -> None:
    gate = QualityGate(Scorer(encoder, whisper, reference))
    started = time.perf_counter()
    chunks = list(Narrator(piper, gate=gate).stream(SCRIPT, seed=11))
    elapsed = time.perf_counter() - started
    audio_s = sum(c.audio.duration for c in chunks)
    scoring_s = sum(a.score_s for c in chunks for a in c.attempts)
    for chunk in chunks:
        scores = chunk.scores
        assert chunk.passed, (chunk.spoken, chunk.failures)
        assert scores.wer is not None and scores.wer <= 0.2, (chunk.spoken, scores.transcript)
        if scores.duration_s >= 1.0:
            assert scores.speaker_similarity is not None and scores.speaker_similarity >= 0.8, chunk.spoken
        if scores.words >= 8:
            assert 110 <= scores.words_per_minute <= MAX_WORDS_PER_MINUTE, (chunk.spoken, scores.words_per_minute)
        assert scores.clipping_ratio == 0.0 and scores.longest_silence_s < 1.0
    assert np.mean([c.scores.wer for c in chunks]) <= 0.1
    print(f"\ngate: {len(chunks)} chunks, {audio_s:.1f} s audio in {elapsed:.1f} s; scoring {scoring_s:.1f} s = "
          f"{scoring_s / audio_s * 60:.1f} s per minute of audio; attempts {[len(c.attempts) for c in chunks]}; "
          f"WER {[round(c.scores.wer, 2) for c in chunks]}; similarity "
          f"{[None if c.scores.speaker_similarity is None else round(c.scores.speaker_similarity, 2) for c in chunks]}")


@pytest.mark.slow
def test_failing_gate_makes_every_attempt_and_keeps_the_best(piper, encoder, whisper, reference) -> None:
    gate = QualityGate(Scorer(encoder, whisper, reference), QualityThresholds(max_wer=-1.0), max_attempts=3)
    chunk = next(Narrator(piper, gate=gate).stream("The quick brown fox jumps over the lazy dog.", seed=4))
    assert len(chunk.attempts) == 3
    assert len({a.seed for a in chunk.attempts}) == 3
    assert len({a.audio.num_samples for a in chunk.attempts}) > 1 or not np.array_equal(
        chunk.attempts[0].audio.samples, chunk.attempts[1].audio.samples)
    for attempt in chunk.attempts:
        assert attempt.scores is not None and attempt.scores.wer is not None
        assert any(f.startswith("WER ") and " > -100% (heard: " in f for f in attempt.failures)
    ranked = sorted(chunk.attempts, key=lambda a: (len(a.failures), a.scores.wer, -a.scores.speaker_similarity))
    assert chunk.attempts[chunk.chosen] is ranked[0]
    kept = chunk.attempts[chunk.chosen].audio.samples
    assert np.array_equal(chunk.audio.samples[: kept.size], kept) and chunk.seed == ranked[0].seed
