"""The quality gate: measure a synthesized take and say, in words, what is wrong with it.

Generative TTS sometimes mumbles, skips or repeats words, drifts to another voice, clips, or stalls in a
long silence. Those are cheap to detect after the fact: an ASR pass gives a word error rate against the
script, a speaker encoder gives similarity to the reference voice, and the samples themselves show
clipping, silences and speaking rate. `QualityGate` turns the numbers into pass/fail with readable
reasons, and ranks several attempts at the same text so the best one is kept.
"""
from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .audio import SILENCE_DBFS, Audio
from .speaker import SpeakerEncoder, similarity
from .phonemes import phoneme_parts
from .textnorm import normalize, spelling_key

if TYPE_CHECKING:
    from .base import VoicePrompt
    from .transcribe import TranscribePipeline

__all__ = ["Scores", "Scorer", "QualityThresholds", "QualityGate", "Attempt", "wer_words", "word_error_rate",
           "clipping_ratio", "longest_silence"]

CLIP_LEVEL = 0.999
_FRAME_S = 0.01
_SILENCE_BELOW_PEAK_DB = 40.0  # a 10 ms frame this far under the loudest one is a pause, not speech
_MIN_EMBED_S = 0.5  # shorter audio gives no speaker embedding at all (Resemblyzer refuses it)
_NUMBER_WORDS = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty",
    "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "million", "billion",
    "trillion",
}


# --------------------------------------------------------------------------------------------- measures

_ANY_WORD = "xxphonemespanxx"  # stands for a phoneme span in a WER's reference (survives normalisation)


def wer_words(text: str, language: str = "en") -> list[str]:
    """The words a WER counts: numbers and abbreviations spelled out (`textnorm.normalize`), lower case,
    punctuation gone (hyphens and slashes split words), and the British "and" inside a number dropped,
    so "105", "one hundred five" and "one hundred and five" are the same three words; British spellings
    are American ones ("harbour" and "harbor" are one word)."""
    text = normalize(text, language).lower()
    text = re.sub(r"[’'`]", "", text)  # don't -> dont on both sides
    words = re.sub(r"[^\w\s]|_", " ", text).split()
    return [spelling_key(w) for i, w in enumerate(words)
            if not (w == "and" and 0 < i < len(words) - 1 and words[i - 1] in _NUMBER_WORDS
                    and words[i + 1] in _NUMBER_WORDS)]


def word_error_rate(reference: str, hypothesis: str, language: str = "en") -> float | None:
    """jiwer's WER on normalised words; None when the reference has no words to count. A phoneme span of the
    reference (/ˈdʒɪf/, from a lexicon) matches whatever one word the recogniser wrote for it."""
    import jiwer

    reference = "".join(f" {_ANY_WORD} " if is_ipa else piece for piece, is_ipa in phoneme_parts(reference))
    ref, hyp = wer_words(reference, language), wer_words(hypothesis, language)
    if not ref:
        return None
    if not hyp:
        return 1.0
    if _ANY_WORD not in ref:
        return float(jiwer.wer(" ".join(ref), " ".join(hyp)))
    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    errors = out.substitutions + out.deletions + out.insertions
    errors -= sum(ref[chunk.ref_start_idx:chunk.ref_end_idx].count(_ANY_WORD)
                  for chunk in out.alignments[0] if chunk.type == "substitute")
    return errors / len(ref)


def clipping_ratio(audio: Audio, level: float = CLIP_LEVEL) -> float:
    """Fraction of samples at or above full scale: flat-topped waves the engine (or a gain) clipped."""
    if audio.num_samples == 0:
        return 0.0
    return float(np.count_nonzero(np.abs(audio.samples) >= level)) / audio.num_samples


def longest_silence(audio: Audio) -> float:
    """Longest pause between the first and last sound, in seconds (10 ms frames more than 40 dB under the
    loudest frame, or under the -60 dBFS floor). Audio with nothing above the floor is all silence."""
    frame = max(1, int(round(_FRAME_S * audio.sample_rate)))
    count = audio.num_samples // frame
    if count == 0:
        return audio.duration
    frames = audio.samples[: count * frame].astype(np.float64).reshape(count, frame)
    with np.errstate(divide="ignore"):
        levels = 10.0 * np.log10(np.mean(frames**2, axis=1))
    loudest = float(levels.max())
    if loudest < SILENCE_DBFS:
        return audio.duration
    sound = levels >= max(loudest - _SILENCE_BELOW_PEAK_DB, SILENCE_DBFS)
    voiced = np.flatnonzero(sound)
    inside = ~sound[voiced[0]: voiced[-1] + 1]
    if not inside.any():
        return 0.0
    # longest run of True in `inside`
    padded = np.concatenate([[False], inside, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    runs = edges[1::2] - edges[0::2]
    return float(runs.max()) * frame / audio.sample_rate


# ---------------------------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Scores:
    """What one take measured. None means "not measured" (no reference voice, no transcriber, or the
    take was too short for a speaker embedding), never "bad"."""

    speaker_similarity: float | None
    wer: float | None
    words_per_minute: float
    clipping_ratio: float
    longest_silence_s: float
    duration_s: float
    words: int = 0  # words in the script (after normalisation): a rate over 2 words means little
    transcript: str | None = None  # what the transcriber heard, to show next to a high WER


class Scorer:
    """Measures takes against their script and, if given, a reference voice.

    Components (both optional): a `SpeakerEncoder` for voice similarity and a `TranscribePipeline` for
    the word error rate; `reference_embedding` is the target voice's embedding from that encoder.
    Without them the signal-level measures (rate, clipping, silences) are still computed.
    Similarity is only measured on takes of at least `min_voice_s` seconds: GE2E embeddings of half-second
    words scatter widely (Piper's own voice scored 0.71 on "She waited", 0.87-0.95 on full sentences).
    """

    def __init__(self, encoder: SpeakerEncoder | None = None, transcriber: TranscribePipeline | None = None,
                 reference_embedding: np.ndarray | None = None, *, language: str = "en",
                 min_voice_s: float = 1.0) -> None:
        self.encoder = encoder
        self.transcriber = transcriber
        self.reference_embedding = None if reference_embedding is None else np.asarray(reference_embedding,
                                                                                       dtype=np.float32)
        self.language = language
        self.min_voice_s = max(_MIN_EMBED_S, float(min_voice_s))

    def score(self, audio: Audio, text: str, reference_embedding: np.ndarray | None = None) -> Scores:
        """Measure `audio` as a reading of `text`. `reference_embedding` overrides the scorer's own."""
        if not isinstance(audio, Audio):
            raise ValueError(f"audio must be an Audio value, got {type(audio).__name__}.")
        if not isinstance(text, str):
            raise ValueError(f"text must be a string, got {type(text).__name__}.")
        reference = self.reference_embedding if reference_embedding is None else reference_embedding
        duration = audio.duration
        words = len(wer_words(text, self.language))
        similarity_score = None
        if self.encoder is not None and reference is not None and duration >= self.min_voice_s:
            try:
                similarity_score = similarity(self.encoder(audio), reference)
            except ValueError:  # silent or too little voice: not measurable, and the other checks catch silence
                similarity_score = None
        wer = transcript = None
        if self.transcriber is not None and audio.num_samples:
            transcript = self.transcriber(audio, language=self._asr_language()).text
            wer = word_error_rate(text, transcript, self.language)
        return Scores(
            speaker_similarity=similarity_score,
            wer=wer,
            words_per_minute=words / (duration / 60.0) if duration > 0 else 0.0,
            clipping_ratio=clipping_ratio(audio),
            longest_silence_s=longest_silence(audio),
            duration_s=duration,
            words=words,
            transcript=transcript,
        )

    def reference_for(self, voice: VoicePrompt | None) -> np.ndarray | None:
        """The embedding to compare takes with: the scorer's own, else the voice prompt's stored embedding
        for this encoder, else the mean embedding of the prompt's clips. None without an encoder or voice."""
        if self.encoder is None:
            return None
        if self.reference_embedding is not None:
            return self.reference_embedding
        if voice is None:
            return None
        for key in _encoder_ids(self.encoder):
            if key in voice.embeddings:
                return np.asarray(voice.embeddings[key], dtype=np.float32)
        vectors = [self.encoder(clip) for clip in voice.clips if clip.duration >= _MIN_EMBED_S]
        if not vectors:
            return None
        mean = np.mean(vectors, axis=0)
        return (mean / np.linalg.norm(mean)).astype(np.float32)

    def _asr_language(self) -> str | None:
        """Tell the ASR the language (short chunks are easily misdetected), as a bare ISO code."""
        return (self.language or "").replace("_", "-").split("-")[0].lower() or None


def _encoder_ids(encoder: Any) -> list[str]:
    """How a VoicePrompt may key this encoder's embeddings: its engine id (class or module constant)."""
    ids = [getattr(encoder, "engine_id", None), getattr(sys.modules.get(type(encoder).__module__), "ENGINE_ID", None)]
    return [i for i in ids if isinstance(i, str)]


# ------------------------------------------------------------------------------------------------- gate


# Words per minute above which a chunk is "too fast". Measured with bench/rates.py (47 texts: every shared
# English transcript and the speak benchmark's sentences, narrated, normalised and trimmed as a narration is;
# chunks of 8+ words, as the gate judges): Piper at speed 1.0 (3 seeds, 144 chunks) median 202, p95 257, max
# 281 words/min; Kokoro's five speakers (240 chunks) median 171, p95 231, max 283. The old ceiling, 220, failed
# Piper at its natural pace; 290 sits above both engines' p95 and above every natural chunk measured, so a
# chunk spoken at an engine's own pace passes and a gabbled one (a skipped clause reads as a burst) still fails.
MAX_WORDS_PER_MINUTE = 290.0


@dataclass
class QualityThresholds:
    """Pass marks for a take. min_similarity suits Resemblyzer, whose cosine scores sit high (different
    speakers often reach 0.6-0.75); other encoders need their own. None: similarity is measured and shown but
    not judged (a fixed-voice engine cannot come closer to a voice by trying again). The speaking rate is only
    judged on takes of at least `min_words_for_rate` words: in short sentences word length dominates (Piper
    reads "That was the end of it." at 300 words/min and its 13-17 word sentences at 150-190)."""

    min_similarity: float | None = 0.75
    max_wer: float = 0.2
    words_per_minute: tuple[float, float] = (90.0, MAX_WORDS_PER_MINUTE)
    max_clipping_ratio: float = 0.001
    max_silence_s: float = 1.5
    min_words_for_rate: int = 8

    def failures(self, scores: Scores) -> list[str]:
        """Why the take fails, one short reason per failed check naming the measure and its threshold
        ("rate 262 wpm > 280"); empty when it passes."""
        problems = []
        if (self.min_similarity is not None and scores.speaker_similarity is not None
                and scores.speaker_similarity < self.min_similarity):
            problems.append(f"similarity {scores.speaker_similarity:.2f} < {self.min_similarity:.2f}")
        if scores.wer is not None and scores.wer > self.max_wer:
            heard = f" (heard: {scores.transcript!r})" if scores.transcript is not None else ""
            problems.append(f"WER {scores.wer:.0%} > {self.max_wer:.0%}{heard}")
        low, high = self.words_per_minute
        if scores.words >= self.min_words_for_rate and scores.words_per_minute > high:
            problems.append(f"rate {scores.words_per_minute:.0f} wpm > {high:.0f}")
        elif scores.words >= self.min_words_for_rate and scores.words_per_minute < low:
            problems.append(f"rate {scores.words_per_minute:.0f} wpm < {low:.0f}")
        if scores.clipping_ratio > self.max_clipping_ratio:
            problems.append(f"clipping {scores.clipping_ratio:.2%} > {self.max_clipping_ratio:.2%}")
        if scores.longest_silence_s > self.max_silence_s:
            problems.append(f"silence {scores.longest_silence_s:.1f} s > {self.max_silence_s:.1f} s")
        return problems

    def rate_error(self, scores: Scores | None) -> int:
        """+1 when the take is judged too fast, -1 too slow, 0 otherwise (which way to vary the speed)."""
        if scores is None or scores.words < self.min_words_for_rate:
            return 0
        low, high = self.words_per_minute
        return 1 if scores.words_per_minute > high else -1 if scores.words_per_minute < low else 0


@dataclass(frozen=True, eq=False)
class Attempt:
    """One try at a chunk: the seed that made it, its audio (speech only, loudness-matched), and its
    measures. Every attempt is kept so the studio can store them all as takes."""

    seed: int
    audio: Audio
    scores: Scores | None = None
    failures: tuple[str, ...] = ()
    synth_s: float = 0.0  # seconds spent in the engine
    score_s: float = 0.0  # seconds spent scoring
    speed: float | None = None  # the speed it was spoken at, where a retry varied it (deterministic engines)

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class QualityGate:
    """Scorer + thresholds + how many tries a chunk gets. The narrator regenerates a failing chunk up to
    `max_attempts` times in all (a new seed, or for a deterministic engine a slightly different speed) and
    keeps the best attempt (`best`)."""

    scorer: Scorer
    thresholds: QualityThresholds = field(default_factory=QualityThresholds)
    max_attempts: int = 3

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ValueError(f"max_attempts must be a whole number of at least 1, got {self.max_attempts!r}.")

    def check(self, audio: Audio, text: str, reference_embedding: np.ndarray | None = None,
              ) -> tuple[Scores, list[str]]:
        scores = self.scorer.score(audio, text, reference_embedding)
        return scores, self.thresholds.failures(scores)

    @staticmethod
    def rank_key(attempt: Attempt) -> tuple[int, float, float]:
        """Fewest failures first, then lowest WER, then highest similarity (unmeasured counts as neutral)."""
        scores = attempt.scores
        wer = scores.wer if scores is not None and scores.wer is not None else 0.0
        sim = scores.speaker_similarity if scores is not None and scores.speaker_similarity is not None else 0.0
        return len(attempt.failures), wer, -sim

    def best(self, attempts: Sequence[Attempt]) -> Attempt:
        """The attempt to keep; the earliest wins a tie, so a rerun keeps the same one."""
        if not attempts:
            raise ValueError("best() needs at least one attempt.")
        return min(attempts, key=self.rank_key)  # min() returns the first of equals
