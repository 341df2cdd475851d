"""Renaming and deleting projects (issue #15, Projects tab): a name taken by another project is refused, deleting
asks for the project's name and takes its scripts with it, and the last project cannot go."""
from __future__ import annotations

import pytest

from storage import ConflictError, NotFoundError
from studio.scripts import ScriptImport


def test_rename_and_delete_a_project_with_its_scripts(studio):
    first = studio.projects.create("Audiobook draft")
    other = studio.projects.create("Podcast")
    assert studio.projects.rename(first.id, "  Audiobook  ").name == "Audiobook"
    with pytest.raises(ConflictError):
        studio.projects.rename(first.id, "Podcast")
    with pytest.raises(ValueError, match="project name"):
        studio.projects.rename(first.id, "   ")
    script = studio.scripts.create(ScriptImport(first.id, "Chapter", "One line.\n\nTwo lines."))
    with pytest.raises(ValueError, match="Type the project's name"):
        studio.projects.delete(first.id, confirm_name="audiobook")
    studio.projects.delete(first.id, confirm_name="Audiobook")
    with pytest.raises(NotFoundError):
        studio.store.get_script(script.id)
    assert first.id not in {p.id for p in studio.projects.list()} and other.id in {p.id for p in studio.projects.list()}


def test_the_last_project_stays(tmp_path, models):
    from studio.config import Settings
    from studio.service import Studio

    studio = Studio.open(Settings(data_dir=tmp_path / "data"), models=models)
    try:
        only = studio.projects.list()
        assert len(only) == 1
        with pytest.raises(ValueError, match="only project"):
            studio.projects.delete(only[0].id, confirm_name=only[0].name)
    finally:
        studio.close()
