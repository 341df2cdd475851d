"""Convert: a recording (a take or an upload) re-spoken in a voice of the library, same words and timing,
kept as a new "converted" take whose parent is the recording, scored for how like the voice it sounds and
whether the words survived."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import cast

from pipelines import audio as au
from pipelines.base import VoicePrompt
from pipelines.cancel import CancelToken, checkpoint
from pipelines.convert import ConvertPipeline
from pipelines.convert.world import MatchSettings, WorldMatcher
from pipelines.manager import ModelManager, Progress
from pipelines.scoring import word_error_rate
from pipelines.speaker import similarity
from pipelines.transcribe import TranscribePipeline
from storage import NewTake, Store, Take

from . import marking
from .config import Settings
from .media import TRANSCRIBER, Media, stepper
from .ownership import take_in, voice_in
from .recordings import load_recording
from .takes import recording_take
from .voice_match import ENCODER, MATCHER, VoiceMatcher

SAME_VOICE_SIMILARITY = 0.92  # an upload this close to the voice's own clips is that voice already


@dataclass(frozen=True)
class ConvertRequest:
    """What to convert (a take or an upload), into which voice, and how."""

    project_id: int
    voice_id: int
    take_id: int | None = None
    source: au.AudioSource | None = None
    engine_id: str = MATCHER
    pitch_shift: float = 0.0
    keep_loudness: bool = True
    keep_pauses: bool = True
    score: bool = True  # measure similarity and words before and after (two transcriptions)


@dataclass(frozen=True)
class ConvertResult:
    take: Take
    source: au.Audio
    converted: au.Audio
    scores: dict[str, float]


class Convert:
    def __init__(self, store: Store, models: ModelManager, settings: Settings, media: Media,
                 matcher: VoiceMatcher) -> None:
        self.store = store
        self.models = models
        self.settings = settings
        self.media = media
        self.matcher = matcher

    def convert(self, request: ConvertRequest, progress: Progress | None = None,
                cancel: CancelToken | None = None) -> ConvertResult:
        """The recording in the voice, stored as a new take (an upload is kept as its parent, both or
        neither). Refused: no speech in the source, a voice with too little speech, the source already
        being that voice. Nothing is stored when `cancel` is cancelled."""
        step = stepper(progress)
        if (request.take_id is None) == (request.source is None):
            raise ValueError("Choose either a take or an uploaded recording to convert.")
        engine = self.media.engine(request.engine_id, "convert")
        settings = MatchSettings(pitch_shift=float(request.pitch_shift), keep_loudness=bool(request.keep_loudness),
                                 keep_silence=bool(request.keep_pauses))
        voice = voice_in(self.store, request.voice_id, request.project_id)
        parent = take_in(self.store, request.take_id, request.project_id) if request.take_id is not None else None
        if parent is not None:
            if parent.voice_id == voice.id:
                raise ValueError(f"Take #{parent.id} is already in the voice '{voice.name}'; choose another voice.")
            source = self.media.editable_audio(parent)
        else:
            assert request.source is not None
            source = load_recording(request.source, max_seconds=self.settings.max_audio_seconds,
                                    what="The recording to convert")
        step(0.05, f"reading the voice '{voice.name}'")
        prompt = self.matcher.prompt(voice.id, step, engine.speaker_embedding)
        before = self._similarity(source, prompt)
        if before is not None and before >= SAME_VOICE_SIMILARITY:
            raise ValueError(f"This recording already sounds like '{voice.name}' (similarity {before:.2f}); "
                             "choose another voice.")
        checkpoint(cancel)
        step(0.15, f"converting with {engine.name}")
        pipeline = cast(ConvertPipeline, self.models.get(engine.id, step))
        if isinstance(pipeline, WorldMatcher):  # the matcher keeps the recording's rate and exact length
            converted = pipeline.convert(source, self.matcher.voice_profile(voice.id, prompt), settings=settings)
        else:
            if settings != MatchSettings():
                raise ValueError(f"{engine.name} has no pitch, loudness or pause options; leave them at their "
                                 "defaults.")
            converted = pipeline(source, voice=prompt)
        checkpoint(cancel)
        scores = {"duration_ratio": round(converted.duration / source.duration, 4)}
        if request.score:
            step(0.7, "checking the result")
            scores.update(self._scores(source, converted, prompt, before, self.matcher.language(voice.id)))
        checkpoint(cancel)
        converted = self.media.mark(converted)  # synthetic: watermarked before it is stored
        with self.store.unit_of_work() as uow:
            if parent is None:
                parent = uow.add_take(request.project_id, recording_take(source))
            take = uow.add_take(request.project_id, NewTake(
                kind="converted", audio=au.encode(converted, "flac"), sample_rate=converted.sample_rate,
                duration=converted.duration, text=parent.text, voice_id=voice.id, engine_id=engine.id,
                engine_revision=engine.weights_revision(), parent_id=parent.id,
                parameters={"settings": asdict(settings), "source_take": parent.id, **marking.note(self.settings)},
                scores=scores))
        step(1.0, "done")
        return ConvertResult(take, source, converted, scores)

    def _similarity(self, audio: au.Audio, prompt: VoicePrompt) -> float | None:
        target = prompt.embeddings.get(ENCODER)
        if target is None:
            return None
        trimmed = au.trim_silence(audio)
        if trimmed.duration < 0.5:
            return None
        return round(similarity(self.matcher.embed(trimmed), target), 4)

    def _scores(self, source: au.Audio, converted: au.Audio, prompt: VoicePrompt, before: float | None,
                language: str) -> dict[str, float]:
        """Similarity to the voice before and after, and the words heard in the result against the words
        heard in the source (WER: 0 means every word survived)."""
        scores: dict[str, float] = {}
        after = self._similarity(converted, prompt)
        if before is not None and after is not None:
            scores.update(similarity_before=before, similarity=after)
        transcriber = cast(TranscribePipeline, self.models.get(TRANSCRIBER))
        heard_source = transcriber(source, language=language).text
        heard = transcriber(converted, language=language).text
        wer = word_error_rate(heard_source, heard, language)
        if wer is not None:
            scores["wer_vs_source"] = round(wer, 4)
        return scores
