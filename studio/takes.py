"""Takes: bring a recording in, browse, star, download and delete what the project keeps."""
from __future__ import annotations

import builtins
from pathlib import Path

from pipelines import audio as au
from storage import NewTake, Store, Take

from . import housekeeping
from .config import Settings
from .media import Media, write_atomic
from .ownership import take_in
from .recordings import load_recording
from .text_input import clean_text

DOWNLOAD_FORMATS = ("wav", "flac", "mp3", "ogg")


def recording_take(audio: au.Audio, text: str | None = None, name: str | None = None) -> NewTake:
    """A recording someone brought in, as a take to keep (so it can be edited or enhanced)."""
    return NewTake(kind="recording", audio=au.encode(audio, "flac"), sample_rate=audio.sample_rate,
                   duration=audio.duration, text=(text or "").strip() or None,
                   parameters={"source_name": name} if name else {})


class Takes:
    def __init__(self, store: Store, settings: Settings, media: Media) -> None:
        self.store = store
        self.settings = settings
        self.media = media

    def import_recording(self, project_id: int, source: au.AudioSource, text: str | None = None,
                         name: str | None = None) -> Take:
        """Bring an existing recording into the project as a take, so it can be edited or enhanced."""
        text = clean_text(text or "", "The take's text")
        audio = load_recording(source, max_seconds=self.settings.max_audio_seconds)
        return self.store.add_take(project_id, recording_take(audio, text, name))

    def list(self, project_id: int, *, voice_id: int | None = None, starred_only: bool = False,
             page: int = 1, page_size: int = 50) -> list[Take]:
        """Newest first, one page at a time (pages start at 1)."""
        if page < 1:
            raise ValueError(f"Pages start at 1, got {page}.")
        return self.store.list_takes(
            project_id, voice_id=voice_id, starred=True if starred_only else None,
            limit=page_size, offset=(page - 1) * page_size,
        )

    def all(self, project_id: int) -> builtins.list[Take]:
        """Every take of the project, newest first."""
        takes: builtins.list[Take] = []
        page = 1
        while batch := self.list(project_id, page=page, page_size=500):
            takes.extend(batch)
            page += 1
        return takes

    def count(self, project_id: int, *, voice_id: int | None = None, starred_only: bool = False) -> int:
        return self.store.count_takes(project_id, voice_id=voice_id, starred=True if starred_only else None)

    def get(self, take_id: int, *, project_id: int | None = None) -> Take:
        return take_in(self.store, take_id, project_id)

    def audio(self, take_id: int, *, project_id: int | None = None) -> au.Audio:
        return self.media.take_audio(take_in(self.store, take_id, project_id))

    def set_starred(self, take_id: int, starred: bool, *, project_id: int | None = None) -> Take:
        take = take_in(self.store, take_id, project_id)
        return self.store.set_starred(take.id, starred)

    def delete(self, take_id: int, *, project_id: int | None = None) -> None:
        take = take_in(self.store, take_id, project_id)
        self.store.delete_take(take.id)

    def file(self, take_id: int, fmt: str = "wav", *, project_id: int | None = None) -> Path:
        """Encode a take for download; the file lives in the cache directory."""
        if fmt not in DOWNLOAD_FORMATS:
            raise ValueError(f"Download format must be one of {', '.join(DOWNLOAD_FORMATS)}, got {fmt!r}.")
        take = take_in(self.store, take_id, project_id)
        target = self.media.cache_file(f"retake-take-{take.id}.{fmt}")
        write_atomic(target, au.encode(self.media.take_audio(take), fmt))
        return target

    def collect_garbage(self, grace_seconds: float = housekeeping.GRACE_SECONDS) -> int:
        """Delete audio files no row refers to any more, and temp files crashes left; returns how many went."""
        return housekeeping.collect_garbage(self.store, self.settings, grace_seconds)
