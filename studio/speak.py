"""Speak: turn text into a narration in a voice, chunk by chunk, with an optional quality gate.

`Speak.speak` checks everything it can before any audio is made (text, language, engine, voice), then
streams narration chunks (so a player can start after the first clause) while the quality gate judges them
on its own thread, and, only once the whole narration succeeded, keeps it (`studio.narrations`): one speech
take plus every chunk attempt, in one unit of work. A failure or a cancel midway stores nothing; a listener who
only stops reading does not stop it (`studio.detached`), and one whose browser went away (a cancel for `LEFT`)
stops it at the next chunk with what was spoken so far kept as a shorter take, so nothing made is lost. A
fixed-voice engine given a voice speaks in its closest built-in voice (`studio.voice_match`) and says so."""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from pipelines import audio as au
from pipelines.cancel import LEFT, Cancelled, CancelToken, checkpoint
from pipelines.languages import check_language
from pipelines.manager import ModelManager
from pipelines.narration import NarrationChunk, NarrationEvent, NarrationSettings, Narrator
from pipelines.seeds import check_seed
from storage import NewTake, Store

from . import marking, narrations
from .detached import Detached
from .media import Media, Progress, stepper
from .narrations import SpeakEvent
from .quotas import Quotas, refund_on_failure
from .text_input import clean_text, spoken_words
from .voice_match import VoiceMatcher
from .voicing import Voicing, prepare_voicing

MAX_TEXT_CHARS = 100_000
DEFAULT_ENGINE = "piper-joe-embedded"
_SPEAKABLE = re.compile(r"\w")


@dataclass(frozen=True)
class SpeakRequest:
    """What to say and how, as one value: the Speak tab, the CLI and API callers each build it in one place."""
    project_id: int
    text: str
    voice_id: int | None = None
    engine_id: str = DEFAULT_ENGINE
    seed: int | None = None
    speaker: str | None = None
    speed: float = 1.0
    gate: bool = True
    match_voice: bool = True  # an offline fixed-voice engine given a voice is matched to it (voice matcher)


class Speak:
    def __init__(self, store: Store, models: ModelManager, media: Media, matcher: VoiceMatcher,
                 quotas: Quotas) -> None:
        self.store = store
        self.models = models
        self.media = media
        self.matcher = matcher
        self.quotas = quotas

    def start(self, request: SpeakRequest, progress: Progress | None = None,
              cancel: CancelToken | None = None) -> Detached[SpeakEvent]:
        """`speak` for a request built elsewhere (a form, a command line)."""
        return self.speak(**dataclasses.asdict(request), progress=progress, cancel=cancel)

    def speak(self, project_id: int, text: str, *, voice_id: int | None = None, engine_id: str = DEFAULT_ENGINE,
              seed: int | None = None, speaker: str | None = None, speed: float = 1.0, gate: bool = True,
              match_voice: bool = True, on_saved: narrations.OnSaved | None = None,
              progress: Progress | None = None, cancel: CancelToken | None = None) -> Detached[SpeakEvent]:
        """Check the request now (ValueError with a readable message), then start the narration on its own
        thread and return an iterator over its events: "chunk" as each chunk is synthesised (play it),
        "replaced" when the gate swapped a better attempt into an earlier chunk, and "done" once the take is
        stored. Nothing is stored if synthesis fails or `cancel` is cancelled (checked at every event), except
        that a cancel because the asker left keeps the chunks already spoken; a reader that stops early leaves
        the narration to finish and be stored (`Detached.wait()` returns when it has). `on_saved` runs in the
        unit of work that stores it (a script segment's link to its new take)."""
        text = clean_text(text, "The text to speak")
        if len(text) > MAX_TEXT_CHARS:
            raise ValueError(f"The text has {len(text):,} characters; at most {MAX_TEXT_CHARS:,} can be spoken "
                             f"at once. Split it into parts.")
        words = spoken_words(text)  # pause marks checked here, and kept out of language detection
        if not _SPEAKABLE.search(words):
            raise ValueError("Type some text to speak: words, not only spaces, punctuation or pause marks.")
        check_seed(seed)
        try:
            speed = float(speed)
        except (TypeError, ValueError):
            raise ValueError(f"Speed must be a number, got {speed!r}.") from None
        self.store.get_project(project_id)
        engine = self.media.engine(engine_id, "speak")
        check_language(words, engine.languages, engine.name)
        if engine.clones and voice_id is None:
            raise ValueError(f"{engine.name} clones a voice: choose a voice to speak in.")
        if voice_id is not None:
            voice = self.store.get_voice(voice_id)
            if voice.project_id != project_id:
                raise ValueError(f"Voice '{voice.name}' belongs to another project.")
            if not voice.clips:
                raise ValueError(f"Voice '{voice.name}' has no reference clips; add a recording first.")
        step = stepper(progress)
        language = self.matcher.language(voice_id)
        voicing = prepare_voicing(self.models, self.matcher, engine, voice_id=voice_id, speaker=speaker,
                                  speed=speed, gate=gate, language=language, step=step, closest=True,
                                  match_voice=match_voice)
        settings = NarrationSettings(language=language)
        narrator = Narrator(voicing.pipeline, settings, voicing.quality)
        plan = narrator.plan(text)
        events = narrator.events(text, voice=voicing.voice, seed=seed, plan=plan, **voicing.options)
        refund = self.quotas.spend(len(words))  # last: a refused request counts nothing
        # The narration runs on its own thread: a reader that goes away (a closed browser) does not stop it,
        # and it is stored when it ends; progress reaches `progress` in the reader's thread.
        return Detached(lambda report: refund_on_failure(
            self._run(project_id, text, voice_id, voicing, speed, settings, events, len(plan), report, cancel,
                      on_saved), refund), step, name="retake-speak")

    def _run(self, project_id: int, text: str, voice_id: int | None, voicing: Voicing, speed: float,
             settings: NarrationSettings, events: Iterator[NarrationEvent], total: int,
             step: Progress, cancel: CancelToken | None = None,
             on_saved: narrations.OnSaved | None = None) -> Iterator[SpeakEvent]:
        final: dict[int, NarrationChunk] = {}
        played: list[NarrationChunk] = []  # as first synthesised, in order (what a listener heard)
        gated = voicing.quality is not None
        stopped: str | None = None
        # Each final chunk's attempts are encoded for storage on a worker thread while the next chunk is
        # synthesised (FLAC encoding and onnxruntime both release the GIL), so saving at the end only waits for
        # the last.
        with ThreadPoolExecutor(1, thread_name_prefix="retake-encode") as encoder:
            encoded: dict[int, Future[tuple[NarrationChunk, list[bytes]]]] = {}
            try:
                for event in events:
                    checkpoint(cancel)
                    if event.final:
                        final[event.index] = event.chunk
                        encoded[event.index] = encoder.submit(_encode_attempts, event.chunk, self.media.mark, settings)
                    if event.kind == "chunk":
                        played.append(event.chunk)
                        step(_fraction(len(played), len(final), total, gated), f"chunk {len(played)} of {total}")
                        yield SpeakEvent("chunk", event.index, total, event.chunk.audio, chunk=event.chunk,
                                         match=voicing.match, notices=voicing.notices)
                    else:
                        step(_fraction(len(played), len(final), total, gated), f"checked {len(final)} of {total}")
                        if event.kind == "replaced":
                            yield SpeakEvent("replaced", event.index, total, event.chunk.audio,
                                             chunk=event.chunk, match=voicing.match, notices=voicing.notices)
            except Cancelled:
                if cancel is None or cancel.reason != LEFT or not played:
                    raise
                stopped = f"stopped after chunk {len(played)} of {total}: the browser went away"
            finally:
                _close(events)  # stops the gate's scoring thread of an abandoned narration
            step(0.97, "saving")
            # Chunks the gate had not judged yet are kept as they were heard.
            done = [final.get(i) or played[i] for i in range(len(played) if stopped else total)]
            for chunk in done:
                if chunk.index not in encoded:
                    encoded[chunk.index] = encoder.submit(_encode_attempts, chunk, self.media.mark, settings)
            done = [encoded[c.index].result()[0] for c in done]  # synthetic: watermarked (studio/marking.py)
            whole = au.join([c.audio for c in done], settings.crossfade_s)
            flac = encoder.submit(au.encode, whole, "flac")
            attempt_audio = [data for c in done for data in encoded[c.index].result()[1]]
            whole_audio = flac.result()
        if not stopped:
            checkpoint(cancel)
        parameters = {"speaker": voicing.speaker, "speed": speed, "settings": dataclasses.asdict(settings),
                      "gate": gated, "chunks": len(done), **marking.note(self.media.settings)}
        if stopped:
            parameters["stopped"] = stopped
        if voicing.match is not None:
            parameters["voice_match"] = dataclasses.asdict(voicing.match)
        if voicing.reference is not None:
            parameters["reference"] = voicing.reference
        engine = voicing.engine
        speech = NewTake(kind="speech", audio=whole_audio, sample_rate=whole.sample_rate,
                         duration=whole.duration, text=" ".join(c.text for c in done) if stopped else text,
                         voice_id=voice_id, engine_id=engine.id, engine_revision=engine.weights_revision(),
                         parameters=parameters, seed=done[0].base_seed,
                         scores=narrations.aggregate(done, voicing.match))
        attempts = narrations.attempt_takes(done, voice_id, engine, parameters, encoded=attempt_audio)
        take, stored = narrations.save(self.store, project_id, speech, attempts, on_saved)
        step(1.0, "done")
        yield SpeakEvent("done", len(done) - 1, total, whole, take=take, attempts=stored, match=voicing.match,
                         notices=voicing.notices + ((f"The narration {stopped}.",) if stopped else ()))


def _close(events: Iterator) -> None:
    close = getattr(events, "close", None)
    if close is not None:
        close()


def _fraction(played: int, judged: int, total: int, gated: bool) -> float:
    """Progress between 0.1 (loaded) and 0.95: chunks played, and with the gate, chunks judged as well."""
    return 0.1 + 0.85 * ((played + judged) / (2 * total) if gated else played / total)


def _encode_attempts(chunk: NarrationChunk, mark: Callable[[au.Audio], au.Audio],
                     settings: NarrationSettings) -> tuple[NarrationChunk, list[bytes]]:
    chunk = marking.marked_chunk(chunk, mark, settings)
    return chunk, [au.encode(attempt.audio, "flac") for attempt in chunk.attempts]
