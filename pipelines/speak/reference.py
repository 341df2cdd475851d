"""Fit a voice reference to what a cloner takes: at most its `max_reference_s` of speech.

A cloner conditions every call on the whole reference, so a long one costs time on each sentence (and CSM
runs out of positions), while past a few seconds it rarely sounds closer. Whole clips are kept in order while
they fit; the clip that overflows is cut at the quietest point shortly before the limit (a pause between
words, found with the editing package's `low_energy_point`) with a short fade, so the prompt never ends in
the middle of a sound. Its transcript no longer matches, so it is dropped (engines that need one say so).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..audio import Audio, AudioError, join, resample, trim_silence
from ..base import VoicePrompt
from ..editing import fade, low_energy_point, trim

MIN_REFERENCE_S = 1.0  # under a second of speech says too little about a voice
SEARCH_S = 1.5  # where to look for a quiet cut point: this much before the limit
FADE_S = 0.02
MIN_PIECE_S = 1.0  # a clip would be cut to less than this: leave it out instead


@dataclass(frozen=True)
class FittedReference:
    """The reference as given to the engine, and how much was left out (`trimmed` False: none)."""

    voice: VoicePrompt
    original_s: float
    used_s: float

    @property
    def trimmed(self) -> bool:
        return self.used_s < self.original_s

    def notice(self, engine_name: str, limit_s: float) -> str:
        return (f"The voice reference is {self.original_s:.1f} s long; {engine_name} uses at most {limit_s:g} s, "
                f"so it was trimmed to {self.used_s:.1f} s at a pause.")


def fit_reference(voice: VoicePrompt, max_seconds: float) -> FittedReference:
    """The voice with at most `max_seconds` of reference audio (see the module doc). AudioError when the
    reference holds less than `MIN_REFERENCE_S` seconds in all."""
    if not max_seconds >= MIN_REFERENCE_S:
        raise ValueError(f"max_seconds must be at least {MIN_REFERENCE_S:g}, got {max_seconds!r}.")
    total = sum(clip.duration for clip in voice.clips)
    if total < MIN_REFERENCE_S:
        raise AudioError(f"The voice reference holds {total:.2f} s of audio; a voice needs at least "
                         f"{MIN_REFERENCE_S:g} s of speech. Add a longer recording.")
    if total <= max_seconds:
        return FittedReference(voice, total, total)
    clips, transcripts, used = [], [], 0.0
    for index, clip in enumerate(voice.clips):
        transcript = voice.transcripts[index] if index < len(voice.transcripts) else None
        room = max_seconds - used
        if clip.duration <= room:
            clips.append(clip)
            transcripts.append(transcript)
            used += clip.duration
            continue
        if room >= MIN_PIECE_S or not clips:  # the first clip alone is too long: it is cut, whatever remains
            at = low_energy_point(clip, max(0.0, room - SEARCH_S), room)
            piece = fade(trim(clip, 0.0, at), fade_out_s=FADE_S)
            clips.append(piece)
            transcripts.append(None)
            used += piece.duration
        break
    kept = replace(voice, clips=tuple(clips), transcripts=tuple(transcripts))
    return FittedReference(kept, total, used)


@dataclass(frozen=True)
class ReferenceClips:
    """The clips a cloner conditions on: at its rate, silence trimmed, whole and in order while they fit in its
    limit (the first always, however long: the engine cuts or refuses it), with their words when asked for."""

    clips: tuple[Audio, ...]
    words: tuple[str, ...]

    @property
    def seconds(self) -> float:
        return sum(clip.duration for clip in self.clips)

    def joined(self, limit_s: float | None = None) -> Audio:
        """One clip (crossfaded joins), cut to `limit_s` when given."""
        audio = join(list(self.clips)) if len(self.clips) > 1 else self.clips[0]
        if limit_s is None:
            return audio
        return Audio(audio.samples[: int(limit_s * audio.sample_rate)], audio.sample_rate)


def whole_clips(voice: VoicePrompt | None, sample_rate: int, max_seconds: float, *, engine: str,
                min_seconds: float, with_words: bool = False) -> ReferenceClips:
    """`voice`'s clips as a cloner takes them (see ReferenceClips). ValueError, naming `engine`, for no voice, a
    clip without words when `with_words`, or less than `min_seconds` of sound. With `with_words` a first clip
    longer than `max_seconds` is refused too: cut, it would no longer match its words."""
    if voice is None or not voice.clips:
        raise ValueError(f"voice with at least one reference clip{' and its transcript' if with_words else ''} is "
                         f"required: {engine} speaks in the voice of reference recordings.")
    clips: list[Audio] = []
    words: list[str] = []
    total = 0.0
    for index, clip in enumerate(voice.clips):
        said = voice.transcripts[index] if index < len(voice.transcripts) else None
        said = " ".join(said.split()) if isinstance(said, str) else ""
        if with_words and not said:
            raise ValueError(f"voice clip {index + 1} of {len(voice.clips)} has no transcript: {engine} needs the "
                             "words spoken in every reference clip. Transcribe the clip first.")
        clip = trim_silence(resample(clip, sample_rate))
        if clip.num_samples == 0:
            continue
        if clips and total + clip.duration > max_seconds:
            break
        clips.append(clip)
        words.append(said)
        total += clip.duration
    if not clips or total < min_seconds:
        raise ValueError(f"voice clips hold {total:.2f} s of sound after trimming silence; {engine} needs at least "
                         f"{min_seconds:g} s of speech.")
    if with_words and clips[0].duration > max_seconds:
        raise ValueError(f"voice clip 1 is {clips[0].duration:.1f} s long, over max_voice_seconds={max_seconds:g}; "
                         f"{engine} uses whole clips with their words, so give a shorter clip.")
    return ReferenceClips(tuple(clips), tuple(words))
