"""Use cases: what a person can do in the studio, shared by the UI, the API and the CLI.

Each method takes and returns plain values (paths, bytes, records) and joins `pipelines` (audio) with
`storage` (rows and blobs). Errors are raised as the domain's own exceptions; the edges (UI, CLI) turn them
into readable messages.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from pipelines import audio as au
from pipelines import mastering
from pipelines.catalog import Catalog
from pipelines.manager import EngineStatus, ModelManager, Progress
from storage import Consent, NewClip, NewTake, Project, Store, Take, Voice

from .config import Settings
from .editing import Editing
from .speaking import Speaking

CONSENT_STATEMENT = (
    "I am the person speaking in these recordings, or I have their permission to create and use a "
    "synthetic copy of their voice."
)
MIN_REFERENCE_SECONDS = 1.0
MAX_CLIPS_PER_VOICE = 10
REFERENCE_LOUDNESS_LUFS = -20.0
DOWNLOAD_FORMATS = ("wav", "flac", "mp3", "ogg")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


NO_ENGINE = "none"  # enhancement without a denoiser: clean-up and loudness only


@dataclass(frozen=True)
class EnhanceResult:
    """The new take and the levels measured before and after, for the loudness report."""

    take: Take
    original: au.Audio
    enhanced: au.Audio
    before: mastering.LevelReport
    after: mastering.LevelReport


class ConsentRequired(ValueError):
    """A voice may only be made from someone who agreed to it."""


@dataclass(frozen=True)
class ClipInput:
    """One reference recording as the caller has it: a path, encoded bytes or a (rate, samples) tuple."""

    source: au.AudioSource
    transcript: str | None = None
    name: str | None = None


class Studio:
    """The studio's use cases over one store."""

    def __init__(self, store: Store, settings: Settings, models: ModelManager | None = None) -> None:
        self.store = store
        self.settings = settings
        self.models = models or ModelManager(
            Catalog.load(), memory_budget_mb=settings.memory_budget_mb, device=settings.device,
            dtype=settings.dtype, local_paths=dict(settings.engine_paths),
        )
        self.speaking = Speaking(self)  # speak use cases: studio/speaking.py
        self.editing = Editing(self)  # edit by transcript and waveform edits: studio/editing.py

    @classmethod
    def open(cls, settings: Settings) -> "Studio":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(Store.open(settings.data_dir, settings.database_url), settings)

    def close(self) -> None:
        self.store.close()

    # Projects -------------------------------------------------------------------------------------
    def projects(self) -> list[Project]:
        projects = self.store.list_projects()
        return projects or [self.store.default_project()]

    def create_project(self, name: str) -> Project:
        return self.store.create_project(name.strip())

    def export_project(self, project_id: int) -> Path:
        project = self.store.get_project(project_id)
        target = self._cache_file(f"{_slug(project.name)}.retake.zip")
        return self.store.export_project(project_id, target)

    def import_project(self, archive: str | os.PathLike) -> Project:
        return self.store.import_project(Path(archive))

    # Voices ---------------------------------------------------------------------------------------
    def create_voice(
        self,
        project_id: int,
        name: str,
        clips: Sequence[ClipInput],
        *,
        language: str = "en",
        consent: bool = False,
        consented_by: str = "anonymous",
        denoise_with: str | None = None,
        progress: Progress | None = None,
    ) -> Voice:
        """Check consent, clean each reference clip (optionally denoise, then trim and level) and store the
        voice in one transaction. Noisy references make noisy clones: `denoise_with` names an enhancer."""
        if not consent:
            raise ConsentRequired("Confirm that you have the speaker's consent before creating a voice.")
        name = name.strip()
        if not name:
            raise ValueError("Give the voice a name.")
        language = language.strip() or "en"
        if not LANGUAGE_RE.match(language):
            raise ValueError(f"Language must be a code such as 'en' or 'pt-BR', got {language!r}.")
        if not clips:
            raise ValueError("Add at least one reference recording (upload a file or record one).")
        if len(clips) > MAX_CLIPS_PER_VOICE:
            raise ValueError(f"A voice takes at most {MAX_CLIPS_PER_VOICE} reference clips, got {len(clips)}.")
        denoiser = self.models.get(denoise_with, progress) if denoise_with else None
        prepared = [self._prepare_reference(clip, position, denoiser)
                    for position, clip in enumerate(clips, start=1)]
        record = Consent(
            statement=CONSENT_STATEMENT, confirmed_by=consented_by, confirmed_at=datetime.now(timezone.utc)
        )
        return self.store.create_voice(project_id, name, language, prepared, record)

    def _prepare_reference(self, clip: ClipInput, position: int, denoiser=None) -> NewClip:
        label = clip.name or f"clip {position}"
        try:
            audio = au.load(clip.source, max_seconds=self.settings.max_audio_seconds)
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
        transcript = (clip.transcript or "").strip() or None
        return NewClip(
            audio=au.encode(audio, "flac"),
            sample_rate=audio.sample_rate,
            duration=audio.duration,
            transcript=transcript,
            source_name=clip.name,
        )

    def voices(self, project_id: int) -> list[Voice]:
        return self.store.list_voices(project_id)

    def voice(self, voice_id: int) -> Voice:
        return self.store.get_voice(voice_id)

    def rename_voice(self, voice_id: int, name: str) -> Voice:
        if not name.strip():
            raise ValueError("Give the voice a name.")
        return self.store.rename_voice(voice_id, name.strip())

    def delete_voice(self, voice_id: int) -> None:
        self.store.delete_voice(voice_id)

    def clip_audio(self, voice_id: int, index: int = 0) -> au.Audio:
        """The voice's reference clip number `index` (0 = first), ready to play."""
        voice = self.store.get_voice(voice_id)
        if not 0 <= index < len(voice.clips):
            raise ValueError(f"Voice '{voice.name}' has {len(voice.clips)} clip(s); there is no clip {index + 1}.")
        return self._blob_audio(voice.clips[index].audio_sha)

    # Takes ----------------------------------------------------------------------------------------
    def import_recording(self, project_id: int, source: au.AudioSource, text: str | None = None,
                         name: str | None = None) -> Take:
        """Bring an existing recording into the project as a take, so it can be edited or enhanced."""
        audio = au.load(source, max_seconds=self.settings.max_audio_seconds)
        return self.store.add_take(
            project_id,
            NewTake(
                kind="recording",
                audio=au.encode(audio, "flac"),
                sample_rate=audio.sample_rate,
                duration=audio.duration,
                text=(text or "").strip() or None,
                parameters={"source_name": name} if name else {},
            ),
        )

    def takes(self, project_id: int, *, voice_id: int | None = None, starred_only: bool = False,
              page: int = 1, page_size: int = 50) -> list[Take]:
        if page < 1:
            raise ValueError(f"Pages start at 1, got {page}.")
        return self.store.list_takes(
            project_id, voice_id=voice_id, starred=True if starred_only else None,
            limit=page_size, offset=(page - 1) * page_size,
        )

    def count_takes(self, project_id: int, *, voice_id: int | None = None, starred_only: bool = False) -> int:
        return self.store.count_takes(project_id, voice_id=voice_id, starred=True if starred_only else None)

    def take(self, take_id: int) -> Take:
        return self.store.get_take(take_id)

    def take_audio(self, take_id: int) -> au.Audio:
        return self._blob_audio(self.store.get_take(take_id).audio_sha)

    def set_starred(self, take_id: int, starred: bool) -> Take:
        return self.store.set_starred(take_id, starred)

    def delete_take(self, take_id: int) -> None:
        self.store.delete_take(take_id)

    def take_file(self, take_id: int, fmt: str = "wav") -> Path:
        """Encode a take for download; the file lives in the cache directory."""
        if fmt not in DOWNLOAD_FORMATS:
            raise ValueError(f"Download format must be one of {', '.join(DOWNLOAD_FORMATS)}, got {fmt!r}.")
        take = self.store.get_take(take_id)
        target = self._cache_file(f"retake-take-{take.id}.{fmt}")
        data = au.encode(self._blob_audio(take.audio_sha), fmt)
        _write_atomic(target, data)
        return target

    def collect_garbage(self) -> int:
        return self.store.collect_garbage()

    # Enhancement ----------------------------------------------------------------------------------
    def enhancers(self) -> list[str]:
        return [e.id for e in self.models.catalog.for_task("enhance")]

    def enhance(self, project_id: int, *, take_id: int | None = None, source: au.AudioSource | None = None,
                engine_id: str = "deepfilternet3", target: str | None = "podcast",
                progress: Progress | None = None) -> EnhanceResult:
        """Denoise and master a take (or an upload, imported first so it has lineage) into a new take."""
        if (take_id is None) == (source is None):
            raise ValueError("Choose either a take or an uploaded recording to enhance.")
        if target is not None and target not in mastering.TARGETS:
            raise ValueError(f"Unknown delivery target {target!r}; choose one of {', '.join(mastering.TARGETS)}.")
        parent = self.store.get_take(take_id) if take_id is not None else None
        if parent is not None and parent.project_id != project_id:
            raise ValueError(f"Take {parent.id} belongs to another project.")
        original = self._blob_audio(parent.audio_sha) if parent else \
            au.load(source, max_seconds=self.settings.max_audio_seconds)
        engine = None if engine_id == NO_ENGINE else self.models.catalog.get(engine_id)
        if engine is not None and engine.task != "enhance":
            raise ValueError(f"{engine.name} is not an enhancement engine.")
        cleaned = self.models.get(engine.id, progress)(original) if engine else original
        if target:
            result = mastering.master(cleaned, target)
            enhanced, after = result.audio, result.after
        else:
            enhanced, after = cleaned, mastering.measure(cleaned)
        before = mastering.measure(original)
        if parent is None:  # only now that the work succeeded: keep the upload as the original take
            parent = self.import_recording(project_id, original)
        take = self.store.add_take(project_id, NewTake(
            kind="enhanced", audio=au.encode(enhanced, "flac"), sample_rate=enhanced.sample_rate,
            duration=enhanced.duration, text=parent.text, voice_id=parent.voice_id,
            engine_id=engine.id if engine else None, engine_revision=engine.weights_revision() if engine else None,
            parameters={"target": target}, parent_id=parent.id,
            scores={"lufs_before": before.integrated_lufs, "lufs_after": after.integrated_lufs,
                    "true_peak_after_dbfs": after.true_peak_dbfs, "noise_floor_before_db": before.noise_floor_db,
                    "noise_floor_after_db": after.noise_floor_db},
        ))
        return EnhanceResult(take, original, enhanced, before, after)

    def enhance_all(self, project_id: int, *, engine_id: str = "deepfilternet3", target: str | None = "podcast",
                    progress: Progress | None = None) -> list[Take]:
        """Enhance every take of the project that is not itself an enhancement result."""
        originals = [t for t in self._all_takes(project_id) if t.kind != "enhanced"]
        done = []
        for index, take in enumerate(originals):
            if progress:
                progress(index / max(1, len(originals)), f"take {index + 1} of {len(originals)}")
            done.append(self.enhance(project_id, take_id=take.id, engine_id=engine_id, target=target).take)
        return done

    def _all_takes(self, project_id: int) -> list[Take]:
        takes, page = [], 1
        while batch := self.takes(project_id, page=page, page_size=500):
            takes.extend(batch)
            page += 1
        return takes

    # Engines --------------------------------------------------------------------------------------
    def engines(self) -> list[EngineStatus]:
        return self.models.status()

    def download_engine(self, engine_id: str, progress: Progress | None = None) -> EngineStatus:
        self.models.download(engine_id, progress)
        return self._engine_status(engine_id)

    def load_engine(self, engine_id: str, progress: Progress | None = None) -> EngineStatus:
        self.models.get(engine_id, progress)
        return self._engine_status(engine_id)

    def unload_engine(self, engine_id: str) -> EngineStatus:
        self.models.catalog.get(engine_id)
        self.models.unload(engine_id)
        return self._engine_status(engine_id)

    def _engine_status(self, engine_id: str) -> EngineStatus:
        return next(s for s in self.models.status() if s.engine.id == engine_id)

    # Helpers --------------------------------------------------------------------------------------
    def _blob_audio(self, sha: str) -> au.Audio:
        return au.load(self.store.read_audio(sha), max_seconds=None, allow_silent=True)

    def _cache_file(self, name: str) -> Path:
        self.settings.cache_dir.mkdir(parents=True, exist_ok=True)
        return self.settings.cache_dir / name


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "project"


def _write_atomic(path: Path, data: bytes) -> None:
    """Readers never see half a file, and a full disk leaves no partial file behind."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
