"""Projects: list, create, and move a whole project in and out as one archive."""
from __future__ import annotations

import os
from pathlib import Path

from storage import Project, Store

from .media import Media, slug


class Projects:
    def __init__(self, store: Store, media: Media) -> None:
        self.store = store
        self.media = media

    def list(self) -> list[Project]:
        """Every project, oldest first; a new studio gets its default project on first look."""
        projects = self.store.list_projects()
        return projects or [self.store.default_project()]

    def create(self, name: str) -> Project:
        return self.store.create_project(name.strip())

    def export(self, project_id: int) -> Path:
        """The project as one archive in the cache directory, ready to download."""
        project = self.store.get_project(project_id)
        return self.store.export_project(project_id, self.media.cache_file(f"{slug(project.name)}.retake.zip"))

    def import_archive(self, archive: str | os.PathLike) -> Project:
        return self.store.import_project(Path(archive))
