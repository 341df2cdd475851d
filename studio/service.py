"""The studio: every use case, built once over one store, one model manager and the settings.

`Studio` only builds and holds the use cases, each given exactly what it needs; the UI, the API and the CLI
call them (`studio.speak.speak(...)`, `studio.voices.create(...)`). Use cases take and return plain values
(paths, bytes, records) and raise the domain's own exceptions; the edges turn those into readable messages.
"""
from __future__ import annotations

from pipelines.catalog import Catalog
from pipelines.manager import ModelManager
from storage import Store

from . import housekeeping
from .compare import Compare
from .config import Settings
from .convert import Convert
from .edit import Edit
from .engines import Engines
from .enhance import Enhance
from .fix import Fix
from .marking import Marking
from .media import Media
from .projects import Projects
from .quotas import Quotas
from .script_jobs import ScriptJobs, make_queue
from .scripts import Scripts
from .sound_generation import SoundGeneration
from .sounds import Sounds
from .speak import Speak
from .takes import Takes
from .voice_match import VoiceMatcher
from .voices import Voices


class Studio:
    """The studio's use cases over one store."""

    def __init__(self, store: Store, settings: Settings, models: ModelManager | None = None) -> None:
        self.store = store
        self.settings = settings
        self.models = models or ModelManager(
            Catalog.load(), memory_budget_mb=settings.memory_budget_mb, device=settings.device,
            dtype=settings.dtype, local_paths=dict(settings.engine_paths),
        )
        self.media = Media(store, self.models.catalog, settings)
        self.quotas = Quotas(store, settings)
        self.voice_match = VoiceMatcher(store, self.models, self.media)
        self.projects = Projects(store, self.media)
        self.voices = Voices(store, self.models, settings, self.media)
        self.takes = Takes(store, settings, self.media)
        self.engines = Engines(self.models, self.media)
        self.speak = Speak(store, self.models, self.media, self.voice_match, self.quotas)
        self.fix = Fix(store, self.models, self.media, self.voice_match)
        self.compare = Compare(store)
        self.edit = Edit(store, self.models, settings, self.media, self.voice_match, self.quotas)
        self.convert = Convert(store, self.models, settings, self.media, self.voice_match)
        self.sounds = Sounds(store, self.models, settings, self.media)
        self.sound_generation = SoundGeneration(store, self.models, self.media)
        self.scripts = Scripts(store, self.speak, self.edit, self.media)
        self.script_jobs = ScriptJobs(self.scripts, make_queue(settings))
        self.enhance = Enhance(store, self.models, settings, self.media, self.takes)
        self.marking = Marking()  # "check a file" for the watermark on synthetic takes

    @classmethod
    def open(cls, settings: Settings, models: ModelManager | None = None) -> "Studio":
        """Open the store, refuse a damaged database (storage.DatabaseDamaged, one sentence) and collect the
        files earlier crashes left behind."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        limit = settings.quota_storage_mb * 1024 * 1024 if settings.owner is not None else None
        store = Store.open(settings.data_dir, settings.database_url, blob_limit_bytes=limit)
        try:
            store.check_integrity()
        except BaseException:
            store.close()
            raise
        housekeeping.at_start_up(store, settings)
        return cls(store, settings, models)

    def close(self) -> None:
        self.script_jobs.stop_workers()  # a job being spoken finishes first
        self.store.close()
