"""Speak use cases: turn text into a take in a voice, chunk by chunk, with an optional quality gate.

`Speaking.speak` checks everything it can before any audio is made (text, language, engine, voice), then
streams narration chunks (so a player can start after the first clause) and, only once the whole narration
succeeded, keeps one "speech" take plus every chunk attempt as an "attempt" take whose parent is that speech
take. A failure midway stores nothing.

A stored narration can then be fixed one chunk at a time without re-synthesising the rest: `regenerate_chunk`
speaks one chunk again with a new (or given) seed, `choose_attempt` swaps in another stored attempt. Each
makes a new speech take (parent: the one it came from) re-joined from the kept chunks' stored audio, with the
new attempts as its children and, in its parameters, `chunk_takes`: the attempt take kept for every chunk.
`compare_takes` lays two takes side by side (scores, engine, seed, duration) for an A/B choice.

Fixed-voice engines (not `clones`) cannot imitate a voice. Given one anyway, the studio picks the engine's
built-in speaker that sounds closest to it (Resemblyzer similarity of a short probe sentence) and says so:
"closest built-in voice, not a clone".
"""
from __future__ import annotations

import dataclasses
import re
import secrets
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from pipelines import audio as au
from pipelines.base import VoicePrompt
from pipelines.languages import check_language
from pipelines.narration import NarrationChunk, NarrationSettings, Narrator, PlannedChunk, surround
from pipelines.scoring import QualityGate, Scorer, Scores
from pipelines.speak.reference import fit_reference
from pipelines.speaker import similarity
from storage import NewTake, Take
from storage.errors import NotFoundError

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
_SEED_BITS = 31

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
    notices: tuple[str, ...] = ()  # things the person should know, e.g. "the reference was trimmed to 15 s"


@dataclass(frozen=True)
class ComparisonRow:
    """One line of an A/B comparison; `better` is "A", "B" or "" (equal, not comparable, or no direction)."""

    label: str
    a: Any
    b: Any
    better: str = ""


@dataclass(frozen=True)
class TakeComparison:
    a: Take
    b: Take
    rows: tuple[ComparisonRow, ...]


@dataclass(frozen=True, eq=False)
class _Setup:
    """Everything a narration needs besides its text: the loaded engine, the voice as the engine gets it,
    the engine's options, the gate, and what to tell the person about choices made for them."""

    engine: Any
    pipeline: Any
    prompt: VoicePrompt | None
    speaker: str | None
    options: dict[str, Any]
    quality: QualityGate | None
    match: VoiceMatch | None
    notices: tuple[str, ...]
    reference: dict[str, float] | None  # {"original_s", "used_s"} when the voice reference was trimmed


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
        check_seed(seed)
        try:
            speed = float(speed)
        except (TypeError, ValueError):
            raise ValueError(f"Speed must be a number, got {speed!r}.") from None
        self.studio.store.get_project(project_id)
        engine = self._speak_engine(engine_id)
        check_language(text, engine.languages, engine.name)
        if engine.clones and voice_id is None:
            raise ValueError(f"{engine.name} clones a voice: choose a voice to speak in.")
        if voice_id is not None:
            voice = self.studio.store.get_voice(voice_id)
            if voice.project_id != project_id:
                raise ValueError(f"Voice '{voice.name}' belongs to another project.")
            if not voice.clips:
                raise ValueError(f"Voice '{voice.name}' has no reference clips; add a recording first.")
        step = _stepper(progress)
        setup = self._setup(engine, voice_id, speaker, speed, gate, step, closest=True)
        settings = NarrationSettings(language=_language(voice_id, self))
        narrator = Narrator(setup.pipeline, settings, setup.quality)
        plan = narrator.plan(text)
        chunks = narrator.stream(text, voice=setup.prompt if engine.clones else None, seed=seed, plan=plan,
                                 **setup.options)
        return self._run(project_id, text, voice_id, setup, speed, settings, narrator, chunks, len(plan), step)

    def _setup(self, engine, voice_id: int | None, speaker: str | None, speed: float, gate: bool,
               step: Callable[[float, str], None], *, closest: bool) -> _Setup:
        """Load the engine and, as needed, the voice, the closest built-in speaker and the quality gate."""
        step(0.0, f"loading {engine.name}")
        pipeline = self.studio.models.get(engine.id, step)
        options: dict[str, Any] = {}
        speed_range = getattr(pipeline, "speed_range", None)
        if speed_range is None:  # no speed control (the cloners): only natural speed can be honoured
            if speed != 1.0:
                raise ValueError(f"{engine.name} has no speed control; leave speed at 1.0.")
        elif not speed_range[0] <= speed <= speed_range[1]:
            raise ValueError(f"Speed must be from {speed_range[0]} to {speed_range[1]} for {engine.name} "
                             f"(1.0 = natural), got {speed}.")
        else:
            options["speed"] = speed
        prompt = self.voice_prompt(voice_id, step) if voice_id is not None else None
        match, notices, reference = None, [], None
        if engine.clones and prompt is not None and engine.max_reference_s is not None:
            fitted = fit_reference(prompt, engine.max_reference_s)
            if fitted.trimmed:
                notices.append(fitted.notice(engine.name, engine.max_reference_s))
                reference = {"original_s": round(fitted.original_s, 3), "used_s": round(fitted.used_s, 3)}
            prompt = fitted.voice
        if not engine.clones:
            speakers = pipeline.speakers()
            if speaker and speaker not in speakers:
                raise ValueError(f"{engine.name} has no speaker {speaker!r}; choose one of {', '.join(speakers)}.")
            if prompt is not None and closest:
                step(0.05, "finding the closest built-in voice")
                match = self.closest_speaker(engine.id, prompt)
                speaker = speaker or match.speaker
            speaker = speaker or (speakers[0] if speakers else None)
            if speaker:
                options["speaker"] = speaker
        quality = None
        if gate:
            step(0.08, "loading the quality gate")
            encoder = self.studio.models.get(ENCODER, step)
            transcriber = self.studio.models.get(TRANSCRIBER, step)
            if engine.clones:
                target = prompt.embeddings[ENCODER] if prompt is not None else None
            else:  # a fixed voice is judged against its own speaker: is it still that voice?
                target = self._probe(engine, pipeline, speaker) if speaker else None
            quality = QualityGate(Scorer(encoder, transcriber, target, language=_language(voice_id, self)))
        return _Setup(engine, pipeline, prompt, speaker, options, quality, match, tuple(notices), reference)

    def _run(self, project_id, text, voice_id, setup: _Setup, speed, settings, narrator, chunks, total,
             step) -> Iterator[SpeakEvent]:
        done: list[NarrationChunk] = []
        # Each chunk's attempts are encoded for storage on a worker thread while the next chunk is synthesised
        # (FLAC encoding and onnxruntime both release the GIL), so saving at the end only waits for the last.
        with ThreadPoolExecutor(1, thread_name_prefix="retake-encode") as encoder:
            encoded: list[Future] = []
            for chunk in chunks:
                done.append(chunk)
                encoded.append(encoder.submit(lambda c=chunk: [au.encode(a.audio, "flac") for a in c.attempts]))
                step(0.1 + 0.85 * len(done) / total, f"chunk {len(done)} of {total}")
                yield SpeakEvent("chunk", chunk.index, total, chunk.audio, chunk=chunk, match=setup.match,
                                 notices=setup.notices)
            step(0.97, "saving")
            whole = au.join([c.audio for c in done], settings.crossfade_s)
            flac = encoder.submit(au.encode, whole, "flac")
            attempt_audio = [data for future in encoded for data in future.result()]
            whole_audio = flac.result()
        parameters = {"speaker": setup.speaker, "speed": speed, "settings": dataclasses.asdict(settings),
                      "gate": setup.quality is not None, "chunks": len(done)}
        if setup.match is not None:
            parameters["voice_match"] = dataclasses.asdict(setup.match)
        if setup.reference is not None:
            parameters["reference"] = setup.reference
        engine = setup.engine
        speech = NewTake(kind="speech", audio=whole_audio, sample_rate=whole.sample_rate,
                         duration=whole.duration, text=text, voice_id=voice_id, engine_id=engine.id,
                         engine_revision=engine.weights_revision(), parameters=parameters, seed=done[0].base_seed,
                         scores=aggregate(done, setup.match))
        attempts = _attempt_takes(done, voice_id, engine, parameters, encoded=attempt_audio)
        take, stored = self._store(project_id, speech, attempts)
        step(1.0, "done")
        yield SpeakEvent("done", total - 1, total, whole, take=take, attempts=stored, match=setup.match,
                         notices=setup.notices)

    def _store(self, project_id: int, speech: NewTake, attempts: list[NewTake]) -> tuple[Take, tuple[Take, ...]]:
        """The speech take, then its attempts as its children; if any write fails, what was written is removed
        again, so a narration is kept whole or not at all."""
        store = self.studio.store
        created: list[Take] = []
        try:
            take = store.add_take(project_id, speech)
            created.append(take)
            for attempt in attempts:
                created.append(store.add_take(project_id, dataclasses.replace(attempt, parent_id=take.id)))
        except BaseException:
            for written in reversed(created):
                try:
                    store.delete_take(written.id)
                except Exception:  # pragma: no cover - best effort; garbage collection removes the blobs
                    pass
            raise
        return take, tuple(created[1:])

    # Fixing one chunk -------------------------------------------------------------------------------
    def chunk_attempts(self, take_id: int) -> list[Take]:
        """The attempt takes a chunk of this narration can be switched to: its own attempts and those of the
        narrations it was made from, by chunk, then oldest first."""
        seen: set[int] = set()
        found: list[Take] = []
        take: Take | None = self._speech_take(take_id)
        while take is not None and take.id not in seen and take.kind == "speech":
            seen.add(take.id)
            found.extend(t for t in self.studio.store.take_children(take.id) if t.kind == "attempt")
            take = self.studio.store.get_take(take.parent_id) if take.parent_id is not None else None
        return sorted(found, key=lambda t: (t.parameters.get("chunk", 0), t.id))

    def regenerate_chunk(self, take_id: int, chunk: int, *, seed: int | None = None, gate: bool = True,
                         progress: Progress | None = None) -> SpeakEvent:
        """Speak chunk `chunk` (0-based) of a stored narration again and keep the result as a new speech take.

        `seed` None draws a new one; a given seed is the first attempt's exact seed (so a seed copied from an
        attempt reproduces it), and the gate's retries derive theirs from it. The other chunks come from their
        stored attempt takes, untouched. Returns a "done" event: the new take, its attempts, the whole audio."""
        take = self._speech_take(take_id)
        kept = self._kept_chunks(take)
        index = _chunk_index(chunk, len(kept))
        check_seed(seed)
        engine = self._speak_engine(take.engine_id or "")
        step = _stepper(progress)
        p = take.parameters
        setup = self._setup(engine, take.voice_id, p.get("speaker"), float(p.get("speed", 1.0)), gate, step,
                            closest=False)
        settings = _stored_settings(p)
        narrator = Narrator(setup.pipeline, settings, setup.quality)
        layout = self._layout(take, kept, narrator)
        old = kept[index]
        planned = PlannedChunk(index=index, text=old.text or "", spoken=old.parameters.get("spoken") or old.text or "",
                               lead_s=layout[index][0], pause_s=layout[index][1],
                               boundary=old.parameters.get("boundary", "sentence"))
        first = int(seed) if seed is not None else secrets.randbits(_SEED_BITS)
        step(0.2, f"speaking chunk {index + 1} of {len(kept)} again")
        target = setup.quality.scorer.reference_for(setup.prompt) if setup.quality is not None else None
        redone = narrator.render(planned, voice=setup.prompt if engine.clones else None, base_seed=first,
                                 first_seed=True, reference_embedding=target, **setup.options)
        step(0.9, "joining")
        parts = [redone.audio if i == index else surround(self._attempt_audio(t), *layout[i], settings)
                 for i, t in enumerate(kept)]
        whole = au.join(parts, settings.crossfade_s)
        rows = [_score_row(t) for t in kept]
        rows[index] = (_score_dict(redone.scores), not redone.passed, redone.speech_s)
        parameters = {**p, "gate": setup.quality is not None, "chunk_takes": [t.id for t in kept],
                      "regenerated": {"chunk": index, "seed": first, "from_take": take.id}}
        parameters["chunk_takes"][index] = None  # among this take's own attempts
        parameters.pop("chosen", None)
        if setup.reference is not None:
            parameters["reference"] = setup.reference
        scores = aggregate_rows(rows, attempts=len(redone.attempts), match=_stored_match(p))
        speech = self._derived(take, engine, whole, parameters, scores)
        attempts = _attempt_takes([redone], take.voice_id, engine, {**p, **parameters}, layout=layout)
        new, stored = self._store(take.project_id, speech, attempts)
        step(1.0, "done")
        return SpeakEvent("done", index, len(kept), whole, chunk=redone, take=new, attempts=stored,
                          match=_stored_match(p), notices=setup.notices)

    def choose_attempt(self, attempt_take_id: int, take_id: int | None = None) -> SpeakEvent:
        """Keep another stored attempt for its chunk: a new speech take made from `take_id` (default: the
        attempt's own narration) with that chunk swapped, re-joined from stored audio; nothing is synthesised."""
        attempt = self.studio.store.get_take(attempt_take_id)
        if attempt.kind != "attempt":
            raise ValueError(f"Take #{attempt.id} is a {attempt.kind} take, not an attempt at a narration chunk.")
        if attempt.parent_id is None and take_id is None:
            raise ValueError(f"Attempt #{attempt.id} no longer belongs to a narration (it was deleted); choose the "
                             "narration to put it in as well.")
        take = self._speech_take(take_id if take_id is not None else attempt.parent_id)
        if attempt.id not in {t.id for t in self.chunk_attempts(take.id)}:
            raise ValueError(f"Attempt #{attempt.id} is not an attempt at a chunk of take #{take.id}.")
        kept = self._kept_chunks(take)
        index = _chunk_index(attempt.parameters.get("chunk"), len(kept))
        if kept[index].id == attempt.id:
            raise ValueError(f"Attempt #{attempt.id} is already the one kept for chunk {index + 1} of take #{take.id}.")
        p = take.parameters
        engine = self.studio.models.catalog.get(take.engine_id or "")
        settings = _stored_settings(p)
        layout = self._layout(take, kept)
        chosen = [attempt if i == index else t for i, t in enumerate(kept)]
        parts = [surround(self._attempt_audio(t), *layout[i], settings) for i, t in enumerate(chosen)]
        whole = au.join(parts, settings.crossfade_s)
        parameters = {**p, "chunk_takes": [t.id for t in chosen],
                      "chosen": {"chunk": index, "attempt_take": attempt.id, "from_take": take.id}}
        parameters.pop("regenerated", None)
        scores = aggregate_rows([_score_row(t) for t in chosen], attempts=0, match=_stored_match(p))
        new, _ = self._store(take.project_id, self._derived(take, engine, whole, parameters, scores), [])
        return SpeakEvent("done", index, len(kept), whole, take=new, attempts=(), match=_stored_match(p))

    def kept_attempts(self, take_id: int) -> list[Take]:
        """The attempt take each chunk of this narration is made of, in order."""
        return self._kept_chunks(self._speech_take(take_id))

    def _speech_take(self, take_id: int | None) -> Take:
        if take_id in (None, ""):
            raise ValueError("Choose a narration (a speech take) first.")
        take = self.studio.store.get_take(int(take_id))
        if take.kind != "speech":
            raise ValueError(f"Take #{take.id} is a {take.kind} take; only narrations (speech takes) are made of "
                             "chunks that can be redone.")
        return take

    def _kept_chunks(self, take: Take) -> list[Take]:
        """The attempt take kept for every chunk: the take's own kept attempt for a chunk, else the one its
        `chunk_takes` names. A readable error when one is missing (deleted)."""
        count = int(take.parameters.get("chunks") or 0)
        own = {t.parameters.get("chunk"): t for t in self.studio.store.take_children(take.id)
               if t.kind == "attempt" and t.parameters.get("kept")}
        named = list(take.parameters.get("chunk_takes") or [])
        kept = []
        for index in range(count):
            found = own.get(index)
            if found is None and index < len(named) and named[index] is not None:
                try:
                    found = self.studio.store.get_take(int(named[index]))
                except NotFoundError:
                    found = None
            if found is None:
                raise ValueError(f"Chunk {index + 1} of take #{take.id} has no stored audio any more (its attempt "
                                 "take was deleted), so this narration cannot be re-joined. Speak it again.")
            kept.append(found)
        if not kept:
            raise ValueError(f"Take #{take.id} records no chunks; speak the text again to fix it chunk by chunk.")
        return kept

    def _layout(self, take: Take, kept: list[Take], narrator: Narrator | None = None) -> list[tuple[float, float]]:
        """(lead, pause) seconds around each chunk: stored with each attempt; for narrations kept before that
        was stored, planned again from the text with the narration's settings (needs the engine's limits)."""
        if all("pause_s" in t.parameters for t in kept):
            return [(float(t.parameters.get("lead_s", 0.0)), float(t.parameters["pause_s"])) for t in kept]
        if narrator is None:
            engine = self._speak_engine(take.engine_id or "")
            narrator = Narrator(self.studio.models.get(engine.id), _stored_settings(take.parameters))
        plan = narrator.plan(take.text or "")
        if len(plan) != len(kept):
            raise ValueError(f"Take #{take.id} was made with settings this version plans differently; speak it "
                             "again to fix it chunk by chunk.")
        return [(c.lead_s, c.pause_s) for c in plan]

    def _attempt_audio(self, take: Take) -> au.Audio:
        return self.studio._blob_audio(take.audio_sha)

    def _derived(self, take: Take, engine, whole: au.Audio, parameters: dict, scores: dict) -> NewTake:
        return NewTake(kind="speech", audio=au.encode(whole, "flac"), sample_rate=whole.sample_rate,
                       duration=whole.duration, text=take.text, voice_id=take.voice_id, engine_id=engine.id,
                       engine_revision=engine.weights_revision(), parameters=parameters, seed=take.seed,
                       parent_id=take.id, scores=scores)

    # Comparing --------------------------------------------------------------------------------------
    def compare_takes(self, a_id: int, b_id: int) -> TakeComparison:
        """Two takes side by side: what made them (engine, revision, speaker, seed, speed) and how they
        measure (duration and every score either has), with the better one marked where "better" is clear."""
        a, b = self.studio.store.get_take(int(a_id)), self.studio.store.get_take(int(b_id))
        rows = [ComparisonRow("take", f"#{a.id} {a.kind}", f"#{b.id} {b.kind}"),
                ComparisonRow("engine", a.engine_id, b.engine_id),
                ComparisonRow("engine revision", a.engine_revision, b.engine_revision),
                ComparisonRow("speaker", a.parameters.get("speaker"), b.parameters.get("speaker")),
                ComparisonRow("seed", a.seed, b.seed),
                ComparisonRow("speed", a.parameters.get("speed"), b.parameters.get("speed")),
                ComparisonRow("quality gate", a.parameters.get("gate"), b.parameters.get("gate")),
                ComparisonRow("seconds", round(a.duration, 2), round(b.duration, 2)),
                ComparisonRow("made from", _origin(a), _origin(b))]
        for key in [*a.scores, *(k for k in b.scores if k not in a.scores)]:
            x, y = a.scores.get(key), b.scores.get(key)
            if isinstance(x, (dict, list)) or isinstance(y, (dict, list)) or key == "transcript":
                continue
            rows.append(ComparisonRow(key.replace("_", " "), _rounded(x), _rounded(y), _better(key, x, y)))
        return TakeComparison(a, b, tuple(rows))

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
    rows = [(_score_dict(c.scores), not c.passed, c.speech_s) for c in chunks]
    return aggregate_rows(rows, attempts=sum(len(c.attempts) for c in chunks), match=match)


def aggregate_rows(rows: list[tuple[dict[str, Any], bool, float]], *, attempts: int,
                   match: VoiceMatch | None = None) -> dict[str, Any]:
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


def _attempt_takes(chunks: list[NarrationChunk], voice_id: int | None, engine, parameters: dict[str, Any],
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
                            "speed": parameters.get("speed"), "lead_s": lead, "pause_s": pause},
                seed=attempt.seed, scores=_score_dict(attempt.scores)))
    return out


def _score_row(attempt: Take) -> tuple[dict[str, Any], bool, float]:
    return dict(attempt.scores), bool(attempt.parameters.get("failures")), attempt.duration


def _stored_settings(parameters: dict[str, Any]) -> NarrationSettings:
    """The narration's settings as stored; takes from before `first_chunk_chars` existed kept whole first
    sentences, so that is what a missing value means."""
    stored = parameters.get("settings") or {}
    known = {f.name for f in dataclasses.fields(NarrationSettings)}
    return NarrationSettings(**{"first_chunk_chars": None, **{k: v for k, v in stored.items() if k in known}})


def _stored_match(parameters: dict[str, Any]) -> VoiceMatch | None:
    match = parameters.get("voice_match")
    return VoiceMatch(**match) if isinstance(match, dict) else None


def _chunk_index(chunk: Any, count: int) -> int:
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or not 0 <= chunk < count:
        raise ValueError(f"Chunk must be a number from 1 to {count} (this narration has {count} chunk(s)), "
                         f"got {chunk + 1 if isinstance(chunk, (int, np.integer)) else chunk!r}.")
    return int(chunk)


def check_seed(seed: Any) -> None:
    """A seed a person typed: empty, or a whole number that fits the store's 64-bit seed column."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0
                             or seed >= 2**63):
        raise ValueError(f"Seed must be a non-negative whole number or empty, got {seed!r}.")


def _stepper(progress: Progress | None) -> Callable[[float, str], None]:
    def step(fraction: float, message: str) -> None:
        if progress:
            progress(fraction, message)
    return step


def _origin(take: Take) -> str:
    p = take.parameters
    if "regenerated" in p:
        return f"#{take.parent_id}, chunk {p['regenerated']['chunk'] + 1} spoken again"
    if "chosen" in p:
        return f"#{take.parent_id}, chunk {p['chosen']['chunk'] + 1} from attempt #{p['chosen']['attempt_take']}"
    return f"#{take.parent_id}" if take.parent_id is not None else "—"


_HIGHER_IS_BETTER = ("similarity", "voice_match_similarity")
_LOWER_IS_BETTER = ("wer", "chunks_failed", "clipping_ratio", "longest_silence_s")


def _better(key: str, a: Any, b: Any) -> str:
    """Which of two measures is better, for measures that have a direction (similarity up, errors down)."""
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b)) or a == b:
        return ""
    if key.startswith(_HIGHER_IS_BETTER) or key.endswith("similarity"):
        return "A" if a > b else "B"
    if key.startswith(_LOWER_IS_BETTER):
        return "A" if a < b else "B"
    return ""


def _rounded(value: Any) -> Any:
    return round(value, 3) if isinstance(value, float) else value
