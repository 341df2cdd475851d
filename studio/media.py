"""What most use cases need besides the store's rows: a take's audio, an engine checked for its task,
seeds a person typed or the studio draws, progress reports and files handed to the browser."""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Callable

from pipelines import audio as au
from pipelines.catalog import Catalog, Engine
from storage import NotFoundError, Store, Take

from . import marking
from .config import Settings

Progress = Callable[[float, str], None]
TRANSCRIBER = "whisper-base-embedded"  # embedded, so transcripts and the quality gate work offline

# How to say "this engine is for something else", by the task that was wanted.
_WRONG_TASK = {
    "speak": "is not a speech engine",
    "transcribe": "does not transcribe",
    "enhance": "is not an enhancement engine",
    "convert": "is not a voice converter",
}


class Media:
    """Audio and engines as use cases want them: decoded, checked and explained when missing."""

    def __init__(self, store: Store, catalog: Catalog, settings: Settings) -> None:
        self.store = store
        self.catalog = catalog
        self.settings = settings

    def audio(self, sha: str) -> au.Audio:
        """Stored audio (a take's or a clip's), decoded whatever its length; NotFoundError if missing."""
        return au.load(self.store.read_audio(sha), max_seconds=None, allow_silent=True)

    def take_audio(self, take: Take) -> au.Audio:
        return self.audio(take.audio_sha)

    def editable_audio(self, take: Take) -> au.Audio:
        """The take's audio for work that holds all of it in memory several times (editing), with readable
        errors for an over-long take or a missing file."""
        limit = self.settings.max_audio_seconds
        if take.duration > limit:
            raise ValueError(f"Take #{take.id} lasts {take.duration:.0f} s; editing is limited to "
                             f"{limit:.0f} s (RETAKE_MAX_AUDIO_SECONDS).")
        try:
            return self.take_audio(take)
        except NotFoundError:
            raise ValueError(f"The audio of take #{take.id} is missing from the project's files; it cannot be "
                             f"edited. Restore the project from an export or delete the take.") from None

    def mark(self, audio: au.Audio, parameters: dict | None = None) -> au.Audio:
        """Synthetic audio, watermarked before it is stored (studio/marking.py); `parameters` records it."""
        return marking.mark(self.settings, audio, parameters)

    def engine_ids(self, task: str) -> list[str]:
        return [e.id for e in self.catalog.for_task(task)]

    def engine(self, engine_id: str | None, task: str) -> Engine:
        """The catalog entry for `engine_id`, which must do `task`; a ValueError naming the choices otherwise."""
        engine = self.catalog.get(engine_id or "")
        if engine.task != task:
            wrong = _WRONG_TASK.get(task, f"is not a {task} engine")
            raise ValueError(f"{engine.name} {wrong}; choose one of {', '.join(self.engine_ids(task))}.")
        return engine

    def cache_file(self, name: str) -> Path:
        """Where to put a file handed to the browser (downloads, exports); safe to delete at any time."""
        self.settings.cache_dir.mkdir(parents=True, exist_ok=True)
        return self.settings.cache_dir / name


def stepper(progress: Progress | None) -> Progress:
    """`progress`, or a callable that ignores reports when nobody listens."""
    def step(fraction: float, message: str) -> None:
        if progress:
            progress(fraction, message)
    return step


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "project"


TEMP_SUFFIX = ".tmp"


def write_atomic(path: Path, data: bytes) -> None:
    """Readers never see half a file, a full disk leaves no partial file behind, and writers of one path at
    once (twenty people downloading one take) each get their own temp file: the last rename wins, whole."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=TEMP_SUFFIX)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
