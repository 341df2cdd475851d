"""How an engine will speak a narration: the loaded engine, the voice as it gets it, its options (speaker,
speed), the quality gate, and what to tell the person about choices made for them. Speaking a narration and
redoing one chunk of it prepare this the same way."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from pipelines.base import VoicePrompt
from pipelines.catalog import Engine
from pipelines.convert.matched import MatchedSpeak
from pipelines.manager import ModelManager
from pipelines.scoring import QualityGate, QualityThresholds, Scorer
from pipelines.speak import SpeakPipeline
from pipelines.speak.reference import fit_reference
from pipelines.speaker import SpeakerEncoder
from pipelines.transcribe import TranscribePipeline

from .media import TRANSCRIBER, Progress
from .voice_match import ENCODER, VoiceMatch, VoiceMatcher


@dataclass(frozen=True, eq=False)
class Voicing:
    """Everything a narration needs besides its text."""

    engine: Engine
    pipeline: SpeakPipeline
    prompt: VoicePrompt | None
    speaker: str | None
    options: dict[str, Any]
    quality: QualityGate | None
    match: VoiceMatch | None
    notices: tuple[str, ...]
    reference: dict[str, float] | None  # {"original_s", "used_s"} when the voice reference was trimmed

    @property
    def voice(self) -> VoicePrompt | None:
        """The voice as the engine takes it: only cloners get the reference clips."""
        return self.prompt if self.engine.clones else None


def prepare_voicing(models: ModelManager, matcher: VoiceMatcher, engine: Engine, *, voice_id: int | None,
                    speaker: str | None, speed: float, gate: bool, language: str, step: Progress,
                    closest: bool, match_voice: bool = True) -> Voicing:
    """Load the engine and, as needed, the voice, the closest built-in speaker (`closest`: look for one when
    a fixed-voice engine is given a voice) and the quality gate. With `match_voice` (and the embedded voice
    matcher installed) a fixed-voice engine given a stored voice speaks through the matcher: its built-in
    speaker re-rendered towards the voice. Bad speeds and speakers are refused here."""
    step(0.0, f"loading {engine.name}")
    pipeline = cast(SpeakPipeline, models.get(engine.id, step))
    options: dict[str, Any] = {}
    speed_range = pipeline.speed_range
    if speed_range is None:  # no speed control (the cloners): only natural speed can be honoured
        if speed != 1.0:
            raise ValueError(f"{engine.name} has no speed control; leave speed at 1.0.")
    elif not speed_range[0] <= speed <= speed_range[1]:
        raise ValueError(f"Speed must be from {speed_range[0]} to {speed_range[1]} for {engine.name} "
                         f"(1.0 = natural), got {speed}.")
    else:
        options["speed"] = speed
    prompt = matcher.prompt(voice_id, step, engine.speaker_embedding) if voice_id is not None else None
    if prompt is not None and voice_id is not None and engine.clones and pipeline.needs_transcripts:
        prompt = matcher.with_transcripts(voice_id, prompt, step)
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
        matched = None
        if match_voice and voice_id is not None and prompt is not None and matcher.can_match():
            step(0.05, "matching a built-in voice to the voice")
            try:
                match = matcher.matched_speaker(engine.id, voice_id, speaker)
                source = matcher.speaker_profile(engine, match.speaker)
                target = matcher.voice_profile(voice_id, prompt)
                matched = MatchedSpeak.wrap(pipeline, matcher.converter(), source, target)
            except ValueError as error:  # too little voiced speech to measure: the closest built-in voice instead
                match = None
                notices.append(f"The voice could not be matched ({error}); speaking in the closest built-in voice.")
        if matched is not None and match is not None:
            pipeline, speaker = matched, match.speaker
        elif prompt is not None and closest:
            step(0.05, "finding the closest built-in voice")
            match = matcher.closest_speaker(engine.id, prompt, voice_id)
            speaker = speaker or match.speaker
        speaker = speaker or (speakers[0] if speakers else None)
        if speaker:
            options["speaker"] = speaker
    quality = None
    if gate:
        step(0.08, "loading the quality gate")
        quality = _gate(models, engine, prompt, language, step)
        if not getattr(pipeline, "seed_dependent", True):
            notices.append(f"{engine.name} gives the same audio for every seed: the quality gate retries a failing "
                           "chunk at a slightly different speed" if speed_range is not None else
                           f"{engine.name} gives the same audio for every seed: the quality gate marks failing "
                           "chunks but cannot retry them")
    return Voicing(engine, pipeline, prompt, speaker, options, quality, match, tuple(notices), reference)


def _gate(models: ModelManager, engine: Engine, prompt: VoicePrompt | None, language: str,
          step: Progress) -> QualityGate:
    """The quality gate for this engine and voice. Similarity has one meaning: how like the voice the person
    chose (its reference clips' embedding) each chunk sounds; with no voice chosen it is not measured. It is
    judged only for cloners: a fixed-voice engine cannot come closer to a voice by trying again, so its
    similarity is shown (closest built-in voice, not a clone) and never fails a chunk."""
    target = prompt.embeddings.get(ENCODER) if prompt is not None else None
    encoder = cast(SpeakerEncoder, models.get(ENCODER, step)) if target is not None else None
    transcriber = cast(TranscribePipeline, models.get(TRANSCRIBER, step))
    thresholds = QualityThresholds() if engine.clones else QualityThresholds(min_similarity=None)
    return QualityGate(Scorer(encoder, transcriber, target, language=language), thresholds)
