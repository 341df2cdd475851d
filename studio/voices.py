"""The voice library: voices made from consented reference recordings, cleaned before they are kept."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence, cast

from pipelines import audio as au
from pipelines.cancel import CancelToken, checkpoint
from pipelines.enhance import EnhancePipeline
from pipelines.manager import ModelManager, Progress
from storage import Consent, NewClip, Store, Voice

from .config import Settings
from .media import Media
from .ownership import voice_in
from .recordings import load_recording
from .text_input import clean_text

CONSENT_STATEMENT = (
    "I am the person speaking in these recordings, or I have their permission to create and use a "
    "synthetic copy of their voice."
)
MIN_REFERENCE_SECONDS = 1.0
MAX_CLIPS_PER_VOICE = 10
REFERENCE_LOUDNESS_LUFS = -20.0
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


class ConsentRequired(ValueError):
    """A voice may only be made from someone who agreed to it."""


def parse_consent(value: object) -> bool:
    """Consent as a real yes or no. An API client may send text: "true" and "false" are read as such, and
    anything else ("no", "0", "yes please", 1) is refused instead of counting as given because it is not
    empty."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ConsentRequired(f"Consent must be true or false, got {value!r}; confirm the speaker's consent "
                          "with a checkbox or the value true.")


@dataclass(frozen=True)
class ClipInput:
    """One reference recording as the caller has it: a path, encoded bytes or a (rate, samples) tuple."""

    source: au.AudioSource
    transcript: str | None = None
    name: str | None = None


class Voices:
    def __init__(self, store: Store, models: ModelManager, settings: Settings, media: Media) -> None:
        self.store = store
        self.models = models
        self.settings = settings
        self.media = media

    def create(
        self,
        project_id: int,
        name: str,
        clips: Sequence[ClipInput],
        *,
        language: str = "en",
        consent: bool | str = False,
        consented_by: str = "anonymous",
        denoise_with: str | None = None,
        progress: Progress | None = None,
        cancel: CancelToken | None = None,
    ) -> Voice:
        """Check consent, clean each reference clip (optionally denoise, then trim and level) and store the
        voice in one transaction. Noisy references make noisy clones: `denoise_with` names an enhancer.
        `cancel` is checked before each clip and before storing: a cancelled voice stores nothing."""
        if not parse_consent(consent):
            raise ConsentRequired("Confirm that you have the speaker's consent before creating a voice.")
        name = clean_text(name, "The voice name").strip()
        if not name:
            raise ValueError("Give the voice a name.")
        language = language.strip() or "en"
        if not LANGUAGE_RE.match(language):
            raise ValueError(f"Language must be a code such as 'en' or 'pt-BR', got {language!r}.")
        if not clips:
            raise ValueError("Add at least one reference recording (upload a file or record one).")
        if len(clips) > MAX_CLIPS_PER_VOICE:
            raise ValueError(f"A voice takes at most {MAX_CLIPS_PER_VOICE} reference clips, got {len(clips)}.")
        denoiser = cast(EnhancePipeline, self.models.get(denoise_with, progress)) if denoise_with else None
        prepared = []
        for position, clip in enumerate(clips, start=1):
            checkpoint(cancel)
            prepared.append(self._prepare_reference(clip, position, denoiser))
        checkpoint(cancel)
        record = Consent(
            statement=CONSENT_STATEMENT, confirmed_by=consented_by, confirmed_at=datetime.now(timezone.utc)
        )
        return self.store.create_voice(project_id, name, language, prepared, record)

    def _prepare_reference(self, clip: ClipInput, position: int, denoiser: EnhancePipeline | None) -> NewClip:
        label = clip.name or f"clip {position}"
        try:
            audio = load_recording(clip.source, max_seconds=self.settings.max_audio_seconds,
                                   min_seconds=MIN_REFERENCE_SECONDS, what="A reference")
        except au.AudioError as error:
            raise au.AudioError(f"{label}: {error}") from None
        if denoiser is not None:
            audio = denoiser(audio)
        audio = au.trim_silence(audio)
        if audio.duration < MIN_REFERENCE_SECONDS:
            raise au.AudioError(
                f"{label}: only {audio.duration:.1f} s of sound after trimming silence; "
                f"a reference needs at least {MIN_REFERENCE_SECONDS:.0f} s."
            )
        audio = au.normalize_loudness(audio, REFERENCE_LOUDNESS_LUFS)
        transcript = clean_text(clip.transcript or "", f"The transcript of {label}").strip() or None
        return NewClip(
            audio=au.encode(audio, "flac"),
            sample_rate=audio.sample_rate,
            duration=audio.duration,
            transcript=transcript,
            source_name=clip.name,
        )

    def list(self, project_id: int) -> list[Voice]:
        return self.store.list_voices(project_id)

    def get(self, voice_id: int, *, project_id: int | None = None) -> Voice:
        return voice_in(self.store, voice_id, project_id)

    def rename(self, voice_id: int, name: str, *, project_id: int | None = None) -> Voice:
        name = clean_text(name, "The voice name")
        if not name.strip():
            raise ValueError("Give the voice a name.")
        voice = voice_in(self.store, voice_id, project_id)
        return self.store.rename_voice(voice.id, name.strip())

    def delete(self, voice_id: int, *, project_id: int | None = None) -> None:
        voice = voice_in(self.store, voice_id, project_id)
        self.store.delete_voice(voice.id)

    def clip_audio(self, voice_id: int, index: int = 0, *, project_id: int | None = None) -> au.Audio:
        """The voice's reference clip number `index` (0 = first), ready to play."""
        voice = voice_in(self.store, voice_id, project_id)
        if not 0 <= index < len(voice.clips):
            raise ValueError(f"Voice '{voice.name}' has {len(voice.clips)} clip(s); there is no clip {index + 1}.")
        return self.media.audio(voice.clips[index].audio_sha)
