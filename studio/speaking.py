"""Speak use cases: turn text into a take in a voice, chunk by chunk, with an optional quality gate.

`Speaking.speak` checks everything it can before any audio is made, then streams narration chunks (so a
player can start after the first sentence) and, only once the whole narration succeeded, keeps one
"speech" take plus every chunk attempt as an "attempt" take whose parent is that speech take. A failure
midway stores nothing.

Fixed-voice engines (not `clones`) cannot imitate a voice. Given one anyway, the studio picks the engine's
built-in speaker that sounds closest to it (Resemblyzer similarity of a short probe sentence) and says so:
"closest built-in voice, not a clone".
"""
from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from pipelines import audio as au
from pipelines.base import VoicePrompt
from pipelines.narration import NarrationChunk, NarrationSettings, Narrator
from pipelines.scoring import QualityGate, Scorer, Scores
from pipelines.speaker import similarity
from storage import NewTake, Take

if TYPE_CHECKING:
    from .service import Studio

MAX_TEXT_CHARS = 100_000
DEFAULT_ENGINE = "piper-joe-embedded"
ENCODER = "resemblyzer"
TRANSCRIBER = "whisper-base-embedded"
PROBE_TEXT = "The quick brown fox jumps over the lazy dog, and then it rests in the warm afternoon sun."
PROBE_SEED = 0
CLOSEST_LABEL = "closest built-in voice, not a clone"
_SPEAKABLE = re.compile(r"\w")

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class VoiceMatch:
    """For a fixed-voice engine asked for a voice: the built-in speaker chosen and how alike they sound."""

    speaker: str
    similarity: float
    label: str = CLOSEST_LABEL


@dataclass(frozen=True, eq=False)
class SpeakEvent:
    """What `speak` reports as it goes. kind "chunk": one narration chunk is ready (`audio` is that chunk,
    for a streaming player); kind "done": the narration is stored (`take`, `attempts`, `audio` the whole)."""

    kind: str
    index: int
    total: int
    audio: au.Audio
    chunk: NarrationChunk | None = None
    take: Take | None = None
    attempts: tuple[Take, ...] = ()
    match: VoiceMatch | None = None


class Speaking:
    """Speak use cases over a `Studio` (its store, settings and model manager)."""

    def __init__(self, studio: "Studio") -> None:
        self.studio = studio
        self._probes: dict[tuple[str, str, str], np.ndarray] = {}
        self._lock = threading.Lock()

    # Engines --------------------------------------------------------------------------------------
    def engines(self) -> list[str]:
        return [e.id for e in self.studio.models.catalog.for_task("speak")]

    def speakers(self, engine_id: str) -> list[str]:
        """Built-in speakers of a fixed-voice engine (loads it); empty for cloners."""
        engine = self._speak_engine(engine_id)
        return [] if engine.clones else list(self.studio.models.get(engine.id).speakers())

    # Voices ---------------------------------------------------------------------------------------
    def voice_prompt(self, voice_id: int, progress: Progress | None = None) -> VoicePrompt:
        """The voice's clips, transcripts and Resemblyzer embedding (computed once, then read from the store)."""
        voice = self.studio.store.get_voice(voice_id)
        if not voice.clips:
            raise ValueError(f"Voice '{voice.name}' has no reference clips; add a recording first.")
        clips = tuple(self.studio._blob_audio(c.audio_sha) for c in voice.clips)
        transcripts = tuple(c.transcript for c in voice.clips)
        embedding = self.studio.store.get_embedding(voice_id, ENCODER)
        if embedding is None:
            encoder = self.studio.models.get(ENCODER, progress)
            embedding = Scorer(encoder).reference_for(VoicePrompt(clips=clips))
            if embedding is None:
                raise ValueError(f"Voice '{voice.name}' has too little speech for a speaker embedding.")
            self.studio.store.set_embedding(voice_id, ENCODER, embedding)
        return VoicePrompt(clips=clips, transcripts=transcripts, embeddings={ENCODER: embedding})

    def closest_speaker(self, engine_id: str, prompt: VoicePrompt) -> VoiceMatch:
        """The fixed-voice engine's built-in speaker most like the voice (closest built-in voice, not a clone)."""
        engine = self._speak_engine(engine_id)
        pipeline = self.studio.models.get(engine.id)
        target = prompt.embeddings[ENCODER]
        scored = [(similarity(self._probe(engine, pipeline, name), target), name) for name in pipeline.speakers()]
        if not scored:
            raise ValueError(f"{engine.name} lists no built-in speakers to choose from.")
        best, name = max(scored)
        return VoiceMatch(name, round(best, 4))

    def _probe(self, engine, pipeline, speaker: str) -> np.ndarray:
        """Embedding of one probe sentence in a built-in speaker, cached in memory per engine and speaker."""
        key = (engine.id, engine.weights_revision(), speaker)
        with self._lock:
            if key in self._probes:
                return self._probes[key]
        audio = pipeline(PROBE_TEXT, seed=PROBE_SEED, speaker=speaker)
        vector = self.studio.models.get(ENCODER)(au.trim_silence(audio))
        with self._lock:
            self._probes[key] = vector
        return vector

    # Speaking -------------------------------------------------------------------------------------
    def speak(self, project_id: int, text: str, *, voice_id: int | None = None, engine_id: str = DEFAULT_ENGINE,
              seed: int | None = None, speaker: str | None = None, speed: float = 1.0, gate: bool = True,
              progress: Progress | None = None) -> Iterator[SpeakEvent]:
        """Check the request now (ValueError with a readable message), then return an iterator of events:
        one per chunk, and a final one once the takes are stored. Nothing is stored if synthesis fails."""
        if not isinstance(text, str) or not _SPEAKABLE.search(text):
            raise ValueError("Type some text to speak: words, not only spaces or punctuation.")
        if len(text) > MAX_TEXT_CHARS:
            raise ValueError(f"The text has {len(text):,} characters; at most {MAX_TEXT_CHARS:,} can be spoken "
                             f"at once. Split it into parts.")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"Seed must be a non-negative whole number or empty, got {seed!r}.")
        try:
            speed = float(speed)
        except (TypeError, ValueError):
            raise ValueError(f"Speed must be a number, got {speed!r}.") from None
        self.studio.store.get_project(project_id)
        engine = self._speak_engine(engine_id)
        if engine.clones and voice_id is None:
            raise ValueError(f"{engine.name} clones a voice: choose a voice to speak in.")
        if voice_id is not None:
            voice = self.studio.store.get_voice(voice_id)
            if voice.project_id != project_id:
                raise ValueError(f"Voice '{voice.name}' belongs to another project.")
            if not voice.clips:
                raise ValueError(f"Voice '{voice.name}' has no reference clips; add a recording first.")

        def step(fraction: float, message: str) -> None:
            if progress:
                progress(fraction, message)

        step(0.0, f"loading {engine.name}")
        pipeline = self.studio.models.get(engine.id, progress)
        low, high = getattr(pipeline, "speed_range", (0.5, 2.0))
        if not low <= speed <= high:
            raise ValueError(f"Speed must be from {low} to {high} for {engine.name} (1.0 = natural), got {speed}.")
        prompt = self.voice_prompt(voice_id, progress) if voice_id is not None else None
        match = None
        options: dict[str, Any] = {"speed": speed}
        if not engine.clones:
            speakers = pipeline.speakers()
            if speaker and speaker not in speakers:
                raise ValueError(f"{engine.name} has no speaker {speaker!r}; choose one of {', '.join(speakers)}.")
            if prompt is not None:
                step(0.05, "finding the closest built-in voice")
                match = self.closest_speaker(engine.id, prompt)
                speaker = speaker or match.speaker
            speaker = speaker or (speakers[0] if speakers else None)
            if speaker:
                options["speaker"] = speaker
        quality = None
        if gate:
            step(0.08, "loading the quality gate")
            encoder = self.studio.models.get(ENCODER, progress)
            transcriber = self.studio.models.get(TRANSCRIBER, progress)
            if engine.clones:
                reference = prompt.embeddings[ENCODER] if prompt is not None else None
            else:  # a fixed voice is judged against its own speaker: is it still that voice?
                reference = self._probe(engine, pipeline, speaker) if speaker else None
            quality = QualityGate(Scorer(encoder, transcriber, reference, language=_language(voice_id, self)))
        settings = NarrationSettings(language=_language(voice_id, self))
        narrator = Narrator(pipeline, settings, quality)
        total = len(narrator.plan(text))
        chunks = narrator.stream(text, voice=prompt if engine.clones else None, seed=seed, **options)
        return self._run(project_id, text, voice_id, engine, speaker, speed, settings, quality is not None,
                         narrator, chunks, total, match, step)

    def _run(self, project_id, text, voice_id, engine, speaker, speed, settings, gated, narrator, chunks, total,
             match, step) -> Iterator[SpeakEvent]:
        done: list[NarrationChunk] = []
        for chunk in chunks:
            done.append(chunk)
            step(0.1 + 0.85 * len(done) / total, f"chunk {len(done)} of {total}")
            yield SpeakEvent("chunk", chunk.index, total, chunk.audio, chunk=chunk, match=match)
        step(0.97, "saving")
        whole = au.join([c.audio for c in done], settings.crossfade_s)
        parameters = {"speaker": speaker, "speed": speed, "settings": dataclasses.asdict(settings),
                      "gate": gated, "chunks": len(done)}
        if match is not None:
            parameters["voice_match"] = dataclasses.asdict(match)
        take, attempts = self._store(project_id, text, voice_id, engine, parameters, done, whole, match)
        step(1.0, "done")
        yield SpeakEvent("done", total - 1, total, whole, take=take, attempts=attempts, match=match)

    def _store(self, project_id, text, voice_id, engine, parameters, chunks, whole, match):
        """The speech take, then its attempts; if any write fails, what was written is removed again."""
        store, revision = self.studio.store, engine.weights_revision()
        created: list[Take] = []
        try:
            take = store.add_take(project_id, NewTake(
                kind="speech", audio=au.encode(whole, "flac"), sample_rate=whole.sample_rate,
                duration=whole.duration, text=text, voice_id=voice_id, engine_id=engine.id,
                engine_revision=revision, parameters=parameters, seed=chunks[0].base_seed,
                scores=aggregate(chunks, match)))
            created.append(take)
            for chunk in chunks:
                for k, attempt in enumerate(chunk.attempts):
                    created.append(store.add_take(project_id, NewTake(
                        kind="attempt", audio=au.encode(attempt.audio, "flac"),
                        sample_rate=attempt.audio.sample_rate, duration=attempt.audio.duration, text=chunk.text,
                        voice_id=voice_id, engine_id=engine.id, engine_revision=revision,
                        parameters={"chunk": chunk.index, "attempt": k, "kept": k == chunk.chosen,
                                    "spoken": chunk.spoken, "failures": list(attempt.failures),
                                    "speaker": parameters["speaker"], "speed": parameters["speed"]},
                        seed=attempt.seed, parent_id=take.id, scores=_score_dict(attempt.scores))))
        except BaseException:
            for written in reversed(created):
                try:
                    store.delete_take(written.id)
                except Exception:  # pragma: no cover - best effort; garbage collection removes the blobs
                    pass
            raise
        return take, tuple(created[1:])

    def _speak_engine(self, engine_id: str):
        engine = self.studio.models.catalog.get(engine_id or "")
        if engine.task != "speak":
            raise ValueError(f"{engine.name} is not a speech engine; choose one of {', '.join(self.engines())}.")
        return engine


def _language(voice_id: int | None, speaking: Speaking) -> str:
    if voice_id is None:
        return "en"
    return speaking.studio.store.get_voice(voice_id).language or "en"


def _score_dict(scores: Scores | None) -> dict[str, Any]:
    return {} if scores is None else {k: v for k, v in dataclasses.asdict(scores).items()}


def aggregate(chunks: list[NarrationChunk], match: VoiceMatch | None = None) -> dict[str, Any]:
    """The speech take's scores: similarity (mean, min) and WER (mean) over the kept chunks, the speaking rate
    over the whole narration's speech, and how many chunks failed the gate or needed retries."""
    kept = [c.scores for c in chunks if c.scores is not None]
    sims = [s.speaker_similarity for s in kept if s.speaker_similarity is not None]
    wers = [s.wer for s in kept if s.wer is not None]
    words = sum(s.words for s in kept)
    speech_s = sum(c.speech_s for c in chunks)
    scores: dict[str, Any] = {
        "similarity_mean": float(np.mean(sims)) if sims else None,
        "similarity_min": float(min(sims)) if sims else None,
        "wer_mean": float(np.mean(wers)) if wers else None,
        "words_per_minute": words / (speech_s / 60.0) if kept and speech_s > 0 else None,
        "chunks": len(chunks),
        "chunks_failed": sum(1 for c in chunks if not c.passed),
        "attempts": sum(len(c.attempts) for c in chunks),
    }
    if match is not None:
        scores["voice_match_similarity"] = match.similarity
    return scores
