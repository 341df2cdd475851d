"""Engines as the Models tab sees them: what exists, what is downloaded or loaded, and the built-in
speakers of a fixed-voice engine."""
from __future__ import annotations

from typing import cast

from pipelines.manager import EngineStatus, ModelManager, Progress
from pipelines.speak import SpeakPipeline

from .media import Media


class Engines:
    def __init__(self, models: ModelManager, media: Media) -> None:
        self.models = models
        self.media = media

    def statuses(self) -> list[EngineStatus]:
        return self.models.status()

    def all_ids(self) -> list[str]:
        """Every engine of the catalog, installed or not, in catalog order."""
        return [e.id for e in self.models.catalog]

    def ids(self, task: str) -> list[str]:
        """Engine ids for one task ("speak", "transcribe", "enhance", ...), in catalog order."""
        return self.media.engine_ids(task)

    def speakers(self, engine_id: str) -> list[str]:
        """Built-in speakers of a fixed-voice engine (loads it); empty for cloners."""
        engine = self.media.engine(engine_id, "speak")
        return [] if engine.clones else list(cast(SpeakPipeline, self.models.get(engine.id)).speakers())

    def download(self, engine_id: str, progress: Progress | None = None) -> EngineStatus:
        self.models.download(engine_id, progress)
        return self.status(engine_id)

    def load(self, engine_id: str, progress: Progress | None = None) -> EngineStatus:
        self.models.get(engine_id, progress)
        return self.status(engine_id)

    def unload(self, engine_id: str) -> EngineStatus:
        """Free an engine's memory now. On a shared server the models serve everyone, so only an administrator
        (RETAKE_ADMINS) may; the memory budget unloads idle engines anyway."""
        settings = self.media.settings
        if settings.owner is not None and settings.owner not in settings.admins:
            raise ValueError("Models are shared by everyone on this server, so only an administrator can unload "
                             "one; idle models are unloaded by themselves when memory runs short.")
        self.models.catalog.get(engine_id)
        self.models.unload(engine_id)
        return self.status(engine_id)

    def status(self, engine_id: str) -> EngineStatus:
        return next(s for s in self.models.status() if s.engine.id == engine_id)
