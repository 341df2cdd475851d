"""Projects: list, create, and move a whole project in and out as one archive."""
from __future__ import annotations

import os
from functools import partial
from pathlib import Path

from pipelines import audio as au
from pipelines.cancel import CancelToken, checkpoint
from storage import ImportLimits, Project, Store
from storage.archive.limits import MB

from .media import Media, slug
from .text_input import clean_text


class Projects:
    def __init__(self, store: Store, media: Media) -> None:
        self.store = store
        self.media = media

    def list(self) -> list[Project]:
        """Every project, oldest first; a new studio gets its default project on first look."""
        projects = self.store.list_projects()
        return projects or [self.store.default_project()]

    def create(self, name: str) -> Project:
        return self.store.create_project(clean_text(name, "The project name").strip())

    def rename(self, project_id: int, name: str) -> Project:
        return self.store.rename_project(int(project_id), clean_text(name, "The project name").strip())

    def delete(self, project_id: int, *, confirm_name: str) -> None:
        """Delete the project with everything in it; the caller types the project's name to confirm (there is
        no undo), and the last project stays (the studio always has one)."""
        project = self.store.get_project(int(project_id))
        if (confirm_name or "").strip() != project.name:
            raise ValueError(f"Type the project's name, “{project.name}”, to delete it with all its voices, takes "
                             "and scripts.")
        if len(self.store.list_projects()) <= 1:
            raise ValueError("This is the only project: create another before deleting it.")
        self.store.delete_project(project.id)

    def export(self, project_id: int, *, cancel: CancelToken | None = None) -> Path:
        """The project as one archive in the cache directory, ready to download; a cancelled export (checked
        between recordings) leaves no file."""
        project = self.store.get_project(project_id)
        return self.store.export_project(project_id, self.media.cache_file(f"{slug(project.name)}.retake.zip"),
                                         checkpoint=partial(checkpoint, cancel))

    def import_archive(self, archive: str | os.PathLike, *, cancel: CancelToken | None = None) -> Project:
        """A project from an archive, trusted no more than an upload: every recording within the upload and
        length limits and decodable as audio, or nothing is imported (nor when cancelled: checked between
        recordings)."""
        return self.store.import_project(Path(archive), limits=self.import_limits(),
                                         checkpoint=partial(checkpoint, cancel))

    def import_limits(self) -> ImportLimits:
        settings = self.media.settings
        return ImportLimits(max_member_bytes=settings.max_upload_mb * MB, max_total_bytes=settings.max_import_mb * MB,
                            max_audio_seconds=settings.max_audio_seconds, check_audio=self._audio_seconds)

    def _audio_seconds(self, path: Path) -> float:
        return au.load(path, max_seconds=self.media.settings.max_audio_seconds, allow_silent=True).duration
