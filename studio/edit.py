"""Edit use cases: fix a recording by editing its transcript, and plain waveform edits.

A take is transcribed once (word timings kept with the take); the person edits the text; the changed
words are cut, or synthesised in the recording's voice and spliced in, all in one pass
(`pipelines.editing`). The result is always a new "edit" take whose parent is the take it came from, with
the list of edits (what, where, which engine and seed) in its parameters, so going back is choosing the
parent. Deletions need no model. Insertions use the chosen speech engine: a cloner gets a voice prompt cut
from the recording itself; a fixed-voice engine speaks in its built-in voice closest to the recording, and
the new take's `inserted_similarity` score says how alike the inserted words sound.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from contextlib import nullcontext
from typing import Any, Callable, ContextManager, Sequence, cast

from pipelines import audio as au
from pipelines.base import Transcript, VoicePrompt, Word
from pipelines.cancel import CancelToken, checkpoint
from pipelines.catalog import Engine
from pipelines.editing import (EditResult, SpokenAligner, SynthesisRequest, Synthesize, TranscriptEditor,
                               WordEdit, fade, highlight, insert_silence, join_takes, seam_click_ratio,
                               new_words_heard, speak_in_context, trim)
from pipelines.languages import check_language
from pipelines.manager import ModelManager
from pipelines.narration import chunk_seed
from pipelines.seeds import check_seed, random_seed
from pipelines.speak import SpeakPipeline
from pipelines.speaker import similarity
from pipelines.transcribe import TranscribePipeline
from pipelines.zerogpu import on_gpu
from storage import NewTake, NewTranscript, NotFoundError, Store, Take, TakeTranscript

from .config import Settings
from .edit_limits import check_edit_length, check_new_words
from .edit_notices import seam_notices
from .waveform_input import cut_region, seconds_value
from .quotas import Quotas
from .media import TRANSCRIBER, Media, Progress, stepper
from .ownership import take_in
from .text_input import clean_text
from .voice_match import RecordingMatch, VoiceMatcher

DEFAULT_INSERT_ENGINE = "piper-joe-embedded"
# How inserted words are said on each try (TranscriptEditor tries again where the recogniser did not make them
# out): amid their neighbouring words (by a voice that marks its phrases; others say them alone), matched to
# the recording's voice ("voice": pitch, timbre, breath), to its pitch only ("pitch": the timbre warp is what
# blurs some words, "harbour" heard "hover"), or not at all; the last try says them alone.
SAYINGS = (("in context", "voice"), ("in context", "pitch"), ("in context", "none"), ("alone", "none"))
ALIGNING_VOICE = "piper-joe-embedded"  # speaks a transcript with known word boundaries (speak_marked)
WAVEFORM_OPERATIONS = ("trim", "cut", "silence", "fade")
MAX_JOIN = 20
MIN_EMBED_S = 0.5  # shorter inserted speech says too little about a voice to score it


@dataclass(frozen=True)
class EditPreview:
    """What an edited text would change, before anything is synthesised."""

    edits: tuple[WordEdit, ...]
    segments: tuple[tuple[str, str | None], ...]  # (text, "deleted" | "inserted" | None) for highlighting

    @property
    def needs_engine(self) -> bool:
        return any(e.kind != "delete" for e in self.edits)


@dataclass(frozen=True)
class EditOutcome:
    """The new take, the audio before and after, and where the edits landed (for markers)."""

    take: Take
    original: au.Audio
    result: EditResult
    notices: tuple[str, ...] = ()


class Edit:
    """Edit use cases: transcripts, edits by text (with words spoken in the recording's voice) and waveform
    edits, each making a new child take."""

    def __init__(self, store: Store, models: ModelManager, settings: Settings, media: Media,
                 matcher: VoiceMatcher, quotas: Quotas) -> None:
        self.store = store
        self.models = models
        self.settings = settings
        self.media = media
        self.matcher = matcher
        self.quotas = quotas

    # Transcripts ----------------------------------------------------------------------------------
    def transcript(self, take_id: int, *, engine_id: str = TRANSCRIBER, refresh: bool = False,
                   progress: Progress | None = None, project_id: int | None = None,
                   cancel: CancelToken | None = None) -> Transcript:
        """The take's transcript with word timings: the stored one, or transcribed now (by `engine_id`:
        the embedded Whisper base offline, a Hub Whisper once downloaded) and stored. `cancel` is checked
        before and after the recogniser runs (one call it cannot interrupt): a cancelled one stores nothing."""
        take = take_in(self.store, take_id, project_id)
        stored = None if refresh else self.store.get_transcript(take.id)
        if stored is not None:
            return to_transcript(stored)
        engine = self.media.engine(engine_id or TRANSCRIBER, "transcribe")
        audio = self.media.editable_audio(take)
        language = self._language(take)
        transcriber = cast(TranscribePipeline, self.models.get(engine.id, progress))
        checkpoint(cancel)
        heard = transcriber(audio, language=language)
        checkpoint(cancel)
        if not heard.words:
            raise ValueError(f"No speech was found in take #{take.id}; there are no words to edit.")
        self.store.set_transcript(take.id, text=heard.text, words=_word_rows(heard.words),
                                         engine_id=engine.id, language=heard.language or language)
        return heard

    def stored_transcript(self, take_id: int, *, project_id: int | None = None) -> Transcript | None:
        """The take's transcript if it was transcribed before (nothing is run), else None."""
        stored = self.store.get_transcript(take_in(self.store, take_id, project_id).id)
        return None if stored is None else to_transcript(stored)

    def preview(self, take_id: int, edited_text: str, *, project_id: int | None = None) -> EditPreview:
        """The word edits the text implies, and the text marked up for highlighting; no edits (and the text
        unmarked) while it still says what the recording says."""
        take = take_in(self.store, take_id, project_id)
        edited_text = clean_text(edited_text or "", "The edited text")
        transcript = to_transcript(self._stored(take.id))
        check_edit_length(transcript, edited_text)
        edits = tuple(TranscriptEditor().changes(transcript, edited_text or ""))
        return EditPreview(edits, highlight(transcript.words, edits))

    # Editing by text ------------------------------------------------------------------------------
    def apply(self, take_id: int, edited_text: str, *, engine_id: str | None = DEFAULT_INSERT_ENGINE,
              seed: int | None = None, progress: Progress | None = None,
              project_id: int | None = None, cancel: CancelToken | None = None,
              match_voice: bool = True, check: bool = True) -> EditOutcome:
        """Apply every change of `edited_text` to the take in one pass; the result is a new child take.
        `cancel`: checked before every insertion is spoken and before saving; a cancelled edit stores nothing.
        `match_voice`: a fixed-voice engine's new words go through the voice matcher (when installed).
        `check`: listen to every seam with the embedded recogniser, moving a deletion's cuts until the words
        around it are heard cleanly (pipelines.editing.check); each edit records its verdict."""
        take = take_in(self.store, take_id, project_id)
        edited_text = clean_text(edited_text or "", "The edited text")
        stored = self._stored(take.id)
        transcript = to_transcript(stored)
        check_edit_length(transcript, edited_text)
        original = self.media.editable_audio(take)
        editor = TranscriptEditor()
        edits = editor.plan(transcript, edited_text or "")
        check_new_words(transcript, edits)
        notices: list[str] = []
        voice_notices: list[str] = []  # which voice says new words, if any were said
        synthesize = None
        check_seed(seed)
        base_seed = random_seed() if seed is None else int(seed)
        engine = None
        charge: ContextManager = nullcontext()
        hear = self._hearing(transcript.language, progress) if check else None
        align = self._aligner(transcript.language, progress) if check else None
        if any(e.kind != "delete" for e in edits):
            engine = self._speak_engine(engine_id)
            new_words = " ".join(e.new_text for e in edits if e.new_text)
            check_language(new_words, engine.languages, engine.name)
            charge = self.quotas.charged(len(new_words))  # the spoken words count, as in Speak
        elif check and engine_id:  # deletions alone: the engine only says the kept words beside one no cut leaves
            engine = self._respeaking_engine(engine_id, transcript.language)  # clean (TranscriptEditor._respeak)
        with charge:
            if engine is not None:
                checkpoint(cancel)
                synthesize = self._synthesizer(take, original, engine, base_seed, progress, cancel,
                                               match_voice=match_voice, hear=hear, notices=voice_notices)
            step = stepper(progress)
            step(0.3, "editing")
            result = TranscriptEditor(synthesize, hear=hear, align=align).apply(original, transcript, edited_text)
            checkpoint(cancel)
            scores = self._scores(take, original, result)
            engine = engine if any(e.kind != "delete" for e in result.edits) else None  # words were spoken
            notices += (voice_notices if engine else []) + seam_notices(result)
            parameters: dict[str, Any] = {
                "edits": [e.to_dict() for e in result.edits],
                "source_take": take.id,
                "transcriber": stored.engine_id,
            }
            if engine is not None:
                parameters["insert_engine"] = engine.id
            marked = self.media.mark(result.audio, parameters) if engine is not None else result.audio  # new words
            step(0.9, "saving")
            checkpoint(cancel)
            new = self.store.add_take(take.project_id, NewTake(
                kind="edit", audio=au.encode(marked, "flac"), sample_rate=result.audio.sample_rate,
                duration=result.audio.duration, text=result.text, voice_id=take.voice_id,
                engine_id=engine.id if engine else None,
                engine_revision=engine.weights_revision() if engine else None,
                parameters=parameters, seed=base_seed if engine else None, parent_id=take.id, scores=scores,
            ), transcript=NewTranscript(text=result.text, words=_word_rows(result.words), engine_id="edit",
                                        language=transcript.language))
        step(1.0, "done")
        return EditOutcome(new, original, result, tuple(notices))

    # Plain waveform edits -------------------------------------------------------------------------
    def waveform(self, take_id: int, operation: str, *, start: float = 0.0, end: float = 0.0,
                 seconds: float = 0.0, project_id: int | None = None) -> Take:
        """Trim to [start, end], cut [start, end] out, insert `seconds` of silence at `start`, or fade in
        over `start` seconds and out over `end` seconds. The result is a new child take."""
        if operation not in WAVEFORM_OPERATIONS:
            raise ValueError(f"Unknown waveform edit {operation!r}; choose one of {', '.join(WAVEFORM_OPERATIONS)}.")
        take = take_in(self.store, take_id, project_id)
        audio = self.media.editable_audio(take)
        start, end = seconds_value(start, "start"), seconds_value(end, "end")
        seconds = seconds_value(seconds, "seconds")
        if operation == "trim":
            edited = trim(audio, start, end)
        elif operation == "cut":
            edited = cut_region(audio, start, end)
        elif operation == "silence":
            edited = insert_silence(audio, start, seconds).audio
        else:
            edited = fade(audio, fade_in_s=start, fade_out_s=end)
        return self._store_plain(take, edited, {"operation": operation, "start": start, "end": end,
                                                "seconds": seconds, "source_take": take.id})

    def join(self, take_ids: Sequence[int], *, gap_s: float = 0.3, project_id: int | None = None) -> Take:
        """One take from several, in order, with a gap between them; its parent is the first."""
        ids = [int(i) for i in take_ids]
        if len(ids) < 2:
            raise ValueError("Choose at least two takes to join.")
        if len(ids) > MAX_JOIN:
            raise ValueError(f"At most {MAX_JOIN} takes can be joined at once, got {len(ids)}.")
        takes = [take_in(self.store, i, project_id) for i in ids]
        if len({t.project_id for t in takes}) != 1:
            raise ValueError("Takes from different projects cannot be joined.")
        gap_s = seconds_value(gap_s, "gap")
        if gap_s > 10:
            raise ValueError(f"The gap between takes can be at most 10 s, got {gap_s}.")
        joined = join_takes([self.media.editable_audio(t) for t in takes], gap_s=gap_s).audio
        if joined.duration > self.settings.max_audio_seconds:
            raise ValueError(f"The joined take would last {joined.duration:.0f} s; the limit is "
                             f"{self.settings.max_audio_seconds:.0f} s.")
        text = " ".join(t.text for t in takes if t.text) or None
        return self._store_plain(takes[0], joined, {"operation": "join", "takes": ids, "gap_s": gap_s},
                                 text=text)

    def origin(self, take_id: int, *, project_id: int | None = None) -> Take:
        """The take an edit was made from ("go back"); a ValueError if the take is an original."""
        take = take_in(self.store, take_id, project_id)
        if take.parent_id is None:
            raise ValueError(f"Take #{take.id} is an original; there is nothing to go back to.")
        return self.store.get_take(take.parent_id)

    def audio(self, take_id: int, *, project_id: int | None = None) -> au.Audio:
        """The take's audio for editing; readable errors for a missing file or an over-long take."""
        return self.media.editable_audio(take_in(self.store, take_id, project_id))

    # Helpers --------------------------------------------------------------------------------------
    def _store_plain(self, parent: Take, audio: au.Audio, parameters: dict[str, Any], *,
                     text: str | None = None) -> Take:
        if audio.num_samples == 0:
            raise ValueError("That edit would leave no audio at all.")
        return self.store.add_take(parent.project_id, NewTake(
            kind="edit", audio=au.encode(audio, "flac"), sample_rate=audio.sample_rate, duration=audio.duration,
            text=text if text is not None else None, voice_id=parent.voice_id, parameters=parameters,
            parent_id=parent.id))

    def _stored(self, take_id: int) -> TakeTranscript:
        stored = self.store.get_transcript(take_id)
        if stored is None:
            raise ValueError(f"Take #{take_id} has no transcript yet: transcribe it first.")
        return stored

    def _language(self, take: Take) -> str | None:
        """The voice's language; for a take without one, the only language of the engine that spoke it (a
        short English line from a fixed-voice engine is otherwise easily heard as another language)."""
        if take.voice_id is not None:
            try:
                return (self.store.get_voice(take.voice_id).language or "en").split("-")[0]
            except NotFoundError:
                return None
        try:
            languages = self.media.catalog.get(take.engine_id or "").languages
        except ValueError:  # a recording, or an engine this version no longer lists
            return None
        return languages[0] if len(languages) == 1 and languages[0] != "*" else None

    def _respeaking_engine(self, engine_id: str, language: str | None) -> Engine | None:
        """The engine that may say the kept words beside a deletion, or None where it cannot say them at once
        (not listed, not on this machine, another language): the deletion is then kept as its cuts leave it."""
        try:
            engine = self.media.engine(engine_id, "speak")
        except ValueError:
            return None
        here = engine.package_installed() if engine.embedded else self.models.cached(engine)
        return engine if here and engine.speaks((language or "en").lower()) else None

    def _speak_engine(self, engine_id: str | None) -> Engine:
        if not engine_id:
            raise ValueError("Inserted or replaced words must be spoken by an engine: choose one.")
        return self.media.engine(engine_id, "speak")

    def _synthesizer(self, take: Take, original: au.Audio, engine: Engine, base_seed: int,
                     progress: Progress | None, cancel: CancelToken | None = None,
                     match_voice: bool = True, hear: Callable[[au.Audio], list[str]] | None = None,
                     notices: list[str] | None = None) -> Synthesize:
        """The callback that speaks inserted words in the recording's voice. A voice that marks its phrases
        (Piper) says them between their neighbouring words, cut out after (in_context.py). With `hear`, matched
        words said alone that the recogniser cannot make out are spoken unmatched instead, if those it can; the
        editor's later tries (after the words were not heard in place) say them the other ways SAYINGS lists.
        The engine is loaded and the voice matched on the first call (an edit of deletions alone may never make
        one), which adds the notice for the user (which voice speaks) to `notices`."""
        @functools.cache
        def ready() -> tuple[SpeakPipeline, dict[str, Any], RecordingMatch | None]:
            pipeline = cast(SpeakPipeline, self.models.get(engine.id, progress))
            options: dict[str, Any] = {}
            notice = None
            matched = self._recording_match(engine, take, original) if match_voice else None
            if matched is not None:
                options["speaker"] = matched.speaker
                notice = (f"{engine.name} is not a cloner: new words use its built-in voice '{matched.speaker}' "
                          "matched to this recording (pitch, timbre and speaking rate): matched, not cloned.")
            elif not engine.clones:
                prompt = self._recording_prompt(take, original, progress)
                match = self.matcher.closest_speaker(engine.id, prompt)
                options["speaker"] = match.speaker
                notice = (f"{engine.name} is not a cloner: new words use its built-in voice "
                          f"'{match.speaker}', the closest to this recording (similarity {match.similarity:.2f}).")
            if notice and notices is not None:
                notices.append(notice)
            return pipeline, options, matched

        counter = iter(range(1_000_000))

        def synthesize(request: SynthesisRequest) -> tuple[au.Audio, dict[str, Any]]:
            checkpoint(cancel)
            pipeline, options, matched = ready()
            seed = chunk_seed(base_seed, next(counter))
            voice = None
            if engine.clones:
                embeddings = ({engine.speaker_embedding: self.matcher.conditioning(engine.speaker_embedding,
                                                                                   (request.prompt,))}
                              if engine.speaker_embedding else {})
                voice = VoicePrompt(clips=(request.prompt,), transcripts=(request.prompt_text or None,),
                                    embeddings=embeddings)
            call = dict(options)
            if matched is not None and (speed := matched.speed(request.words_per_second, pipeline.speed_range)):
                call["speed"] = speed
            where, match = SAYINGS[min(request.attempt, len(SAYINGS) - 1)]
            marked = getattr(pipeline, "speak_marked", None) if where == "in context" and voice is None else None
            in_context = marked is not None
            if marked is not None:  # said amid its neighbours, cut out
                speech = speak_in_context(lambda phrases: marked(phrases, seed=seed, **call), request.text,
                                          request.before, request.after)
                call["in_context"] = True
            else:
                speech = on_gpu(pipeline)(request.text, voice=voice, seed=seed, **call)
            if matched is not None:
                rendered = (matched.render(speech, request.prompt, timbre=match == "voice") if match != "none"
                            else speech)
                said = request.text.split()
                # words cut from their context are heard in place by the editor's check, not alone (a cut-out
                # fragment is no sentence to the recogniser); words said alone are heard alone first
                keep = match != "none" and (hear is None or in_context or new_words_heard(hear(rendered), said)
                                            or not new_words_heard(hear(speech), said))
                speech = rendered if keep else speech
                call["matched_to_recording"] = match if keep else False
            return speech, {"engine_id": engine.id, "seed": seed, "attempt": request.attempt, **call}

        return synthesize

    def _recording_match(self, engine: Engine, take: Take, original: au.Audio) -> RecordingMatch | None:
        """The voice matcher set up for this recording, or None: a cloner, no matcher installed, or too little
        voiced speech to measure (the closest built-in voice is used then)."""
        if engine.clones or not self.matcher.can_match():
            return None
        try:
            return self.matcher.recording_match(engine, take, original)
        except ValueError:
            return None

    def _recording_prompt(self, take: Take, original: au.Audio, progress: Progress | None) -> VoicePrompt:
        """The take's voice if it has one, else the recording itself as the voice to match."""
        if take.voice_id is not None:
            try:
                return self.matcher.prompt(take.voice_id, progress)
            except NotFoundError:
                pass
        return self.matcher.recording_prompt(take, original)

    def _hearing(self, language: str | None, progress: Progress | None) -> Callable[[au.Audio], list[str]]:
        """The embedded recogniser as the edit check's ears."""
        transcriber = cast(TranscribePipeline, self.models.get(TRANSCRIBER, progress))
        return lambda piece: transcriber.hear(piece, language=language)

    def _aligner(self, language: str | None, progress: Progress | None) -> SpokenAligner | None:
        """The seam check's second alignment by the embedded English voice (pipelines.editing.align), None for
        other languages or without the voice (GPL-free core). Loaded only when a deletion's plan fails; if it
        cannot load, the check logs that and moves cuts without it."""
        if language not in (None, "en") or not self.models.catalog.get(ALIGNING_VOICE).package_installed():
            return None
        def speak_marked(phrases: Sequence[str]) -> tuple[au.Audio, list[float]]:
            return self.models.get(ALIGNING_VOICE, progress).speak_marked(phrases)  # type: ignore[attr-defined]

        return SpokenAligner(speak_marked)

    def _scores(self, take: Take, original: au.Audio, result: EditResult) -> dict[str, Any]:
        """Seam quality for every edit, how many the recogniser heard as intended, and how alike inserted
        speech sounds to the recording."""
        clicks = [seam_click_ratio(result.audio, at) for at in result.seams]
        checked = [e.check for e in result.edits if e.check is not None]
        scores: dict[str, Any] = {
            "edits": len(result.edits),
            "seams": len(result.seams),
            "worst_seam_click": max(clicks) if clicks else None,
            "edits_checked": len(checked),
            "edits_heard_clean": sum(c.ok for c in checked),
        }
        inserted = [au.Audio(result.audio.samples[int(e.out_start * result.audio.sample_rate):
                                                  int(e.out_end * result.audio.sample_rate)],
                             result.audio.sample_rate) for e in result.edits if e.kind != "delete"]
        inserted = [piece for piece in inserted if piece.num_samples]
        if inserted:
            speech = au.join(inserted, 0.0)
            if speech.duration >= MIN_EMBED_S:
                try:
                    scores["inserted_similarity"] = round(similarity(
                        self.matcher.embed(speech), self.matcher.recording_embedding(take.audio_sha, original)), 4)
                except ValueError:
                    scores["inserted_similarity"] = None
        return scores


def to_transcript(stored: TakeTranscript) -> Transcript:
    words = tuple(Word(text, start, end, confidence) for text, start, end, confidence in stored.words)
    return Transcript(text=stored.text, words=words, language=stored.language)


def _word_rows(words: Sequence[Word]) -> list[tuple[str, float, float, float]]:
    return [(w.text, float(w.start), float(w.end), float(w.confidence)) for w in words]
