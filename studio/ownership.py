"""Project boundaries for actions by id. Ids are small numbers anyone can guess: a client working in one
project must not star, delete, play, compare or edit a take (or rename, delete or play a voice) of another
one by sending its id. Every use case that takes an id accepts the `project_id` it is called for and checks
the record against it here; None means the caller has no project (the CLI's own id commands, older callers)."""
from __future__ import annotations

from storage import Store, Take, Voice


class NotInProject(ValueError):
    """The id names a record of another project."""


def take_in(store: Store, take_id: int, project_id: int | None) -> Take:
    take = store.get_take(int(take_id))
    if project_id is not None and take.project_id != int(project_id):
        raise NotInProject(f"Take #{take.id} is not in this project.")
    return take


def voice_in(store: Store, voice_id: int, project_id: int | None) -> Voice:
    voice = store.get_voice(int(voice_id))
    if project_id is not None and voice.project_id != int(project_id):
        raise NotInProject(f"Voice #{voice.id} is not in this project.")
    return voice
