"""Sounds in a project: the person's own sound files kept as takes (kind "sound"), and a sound placed under a
narration take (at a time or a word, faded, looped, ducked under the speech) kept as a new take whose parent is
the narration and whose parameters name the sound, so the mix can be traced and redone.

Text-to-audio weights cannot be downloaded offline, so importing is the offline way to get sounds."""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from pipelines import audio as au
from pipelines.cancel import CancelToken, checkpoint
from pipelines.manager import ModelManager
from pipelines.sound.placement import PlacedSound, Placement, place
from pipelines.vad import VoiceActivityDetector
from storage import NewTake, Store, Take

from .config import Settings
from .media import Media, Progress, stepper
from .ownership import take_in
from .recordings import load_recording

VAD = "silero-vad"  # embedded: finds the speech the sound is ducked under, offline
SOUND_KIND = "sound"
MIN_SOUND_S = 0.05  # a click or a tick is a sound too


@dataclass(frozen=True)
class PlaceRequest:
    """Which sound goes under which narration take, and how (`at_word`: the index of a word of the take's
    transcript to start at; it wins over `placement.at_s`)."""

    project_id: int
    take_id: int
    sound_take_id: int
    placement: Placement = Placement()
    at_word: int | None = None


@dataclass(frozen=True)
class PlaceResult:
    take: Take
    placed: PlacedSound
    speech: tuple[tuple[float, float], ...]
    notices: tuple[str, ...]


class Sounds:
    def __init__(self, store: Store, models: ModelManager, settings: Settings, media: Media) -> None:
        self.store = store
        self.models = models
        self.settings = settings
        self.media = media

    def import_sound(self, project_id: int, source: au.AudioSource, name: str | None = None) -> Take:
        """Keep a sound file (any format the studio reads) as a take of kind "sound"; au.AudioError for a file
        that is not audio, empty, silent or too long."""
        audio = load_recording(source, max_seconds=self.settings.max_audio_seconds, min_seconds=MIN_SOUND_S,
                               what="The sound")
        label = (name or "").strip() or None
        return self.store.add_take(project_id, NewTake(
            kind=SOUND_KIND, audio=au.encode(audio, "flac"), sample_rate=audio.sample_rate, duration=audio.duration,
            text=label, parameters={"source_name": label, "origin": "imported"} if label else {"origin": "imported"}))

    def place(self, request: PlaceRequest, progress: Progress | None = None,
              cancel: CancelToken | None = None) -> PlaceResult:
        """The narration with the sound under it, stored as a new take (nothing is stored when cancelled).
        Refused with a readable message: the same take as both, a word the transcript lacks, a placement past
        the narration's end. A sound longer than the room left is cut at the narration's end (and faded)."""
        step = stepper(progress)
        narration = take_in(self.store, request.take_id, request.project_id)
        sound = take_in(self.store, request.sound_take_id, request.project_id)
        if sound.id == narration.id:
            raise ValueError("Choose a sound other than the narration itself.")
        placement = request.placement
        if request.at_word is not None:
            placement = replace(placement, at_s=self._word_start(narration, request.at_word))
        speech_audio = self.media.editable_audio(narration)
        sound_audio = self.media.editable_audio(sound)
        placement.checked(speech_audio.duration)
        step(0.1, "finding the speech to duck under")
        vad = self.models.get(VAD, step)
        if not isinstance(vad, VoiceActivityDetector):
            raise ValueError(f"{VAD} is not a voice activity detector.")
        speech = tuple(vad(speech_audio))
        checkpoint(cancel)
        step(0.5, "mixing")
        placed = place(speech_audio, sound_audio, speech, placement)
        notices = []
        if placed.cut_at_end:
            notices.append(f"The sound was cut at the narration's end ({placed.end_s:.1f} s) and faded out.")
        if placed.scaled_db:
            notices.append(f"The mix would have clipped: the span under the sound was lowered by "
                           f"{-placed.scaled_db:.1f} dB.")
        checkpoint(cancel)
        take = self.store.add_take(narration.project_id, NewTake(
            kind="mixed", audio=au.encode(placed.audio, "flac"), sample_rate=placed.audio.sample_rate,
            duration=placed.audio.duration, text=narration.text, voice_id=narration.voice_id,
            parent_id=narration.id,
            parameters={"sound_take": sound.id, "placement": asdict(placement), "at_word": request.at_word,
                        "start_s": round(placed.start_s, 4), "end_s": round(placed.end_s, 4),
                        "cut_at_end": placed.cut_at_end, "scaled_db": placed.scaled_db, "vad": VAD},
            scores={"speech_regions": len(speech), "duck_db": placement.duck_db}))
        step(1.0, "done")
        return PlaceResult(take, placed, speech, tuple(notices))

    def _word_start(self, take: Take, index: int) -> float:
        transcript = self.store.get_transcript(take.id)
        if transcript is None or not transcript.words:
            raise ValueError(f"Take #{take.id} has no transcript to place the sound at a word: transcribe it first "
                             "(Edit tab), or give a time.")
        if isinstance(index, bool) or not 0 <= int(index) < len(transcript.words):
            raise ValueError(f"Take #{take.id} has {len(transcript.words)} words; word {index} is not one of them "
                             f"(counting from 0).")
        _, start, _, _ = transcript.words[int(index)]
        return float(start)
