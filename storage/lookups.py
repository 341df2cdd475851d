"""Finding rows inside an open session: the checks reads and writes share ("this project exists",
"this name is free") and the take filters every listing uses."""
from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Delete, Select, select
from sqlalchemy.orm import Session, selectinload

from .errors import NotFoundError
from .models import EmbeddingRow, ProjectRow, ScriptRow, SegmentRow, SegmentTakeRow, TakeRow, VoiceMatchRow, VoiceRow


def require_project(s: Session, project_id: int) -> ProjectRow:
    row = s.get(ProjectRow, project_id)
    if row is None:
        raise NotFoundError(f"project {project_id} not found")
    return row


def require_voice(s: Session, voice_id: int, *, loaded: bool = False) -> VoiceRow:
    """The voice row; `loaded` also loads what a Voice record lists (see `voice_loads`)."""
    row = s.get(VoiceRow, voice_id, options=voice_loads() if loaded else ())
    if row is None:
        raise NotFoundError(f"voice {voice_id} not found")
    return row


def require_take(s: Session, take_id: int) -> TakeRow:
    row = s.get(TakeRow, take_id)
    if row is None:
        raise NotFoundError(f"take {take_id} not found")
    return row


def require_script(s: Session, script_id: int) -> ScriptRow:
    row = s.get(ScriptRow, script_id)
    if row is None:
        raise NotFoundError(f"script {script_id} not found")
    return row


def require_segment(s: Session, segment_id: int) -> SegmentRow:
    row = s.get(SegmentRow, segment_id)
    if row is None:
        raise NotFoundError(f"segment {segment_id} not found")
    return row


def chosen_hash(s: Session, row: SegmentRow) -> str | None:
    """The content hash the segment's chosen take was made from (None without a chosen take)."""
    if row.chosen_take_id is None:
        return None
    return s.scalar(select(SegmentTakeRow.content_hash).where(
        SegmentTakeRow.segment_id == row.id, SegmentTakeRow.take_id == row.chosen_take_id))


def require_in_project(s: Session, table: type[VoiceRow] | type[TakeRow], row_id: int, project_id: int) -> None:
    """A voice or take a new row refers to must exist and belong to the same project."""
    what = "voice" if table is VoiceRow else "take"
    owner = s.scalar(select(table.project_id).where(table.id == row_id))
    if owner is None:
        raise NotFoundError(f"{what} {row_id} not found")
    if owner != project_id:
        raise ValueError(f"{what} {row_id} belongs to another project")


def voice_name_taken(s: Session, project_id: int, name: str) -> bool:
    stmt = select(VoiceRow.id).where(VoiceRow.project_id == project_id, VoiceRow.name == name)
    return s.scalar(stmt) is not None


def voice_loads() -> tuple[Any, ...]:
    """Clips in full, embeddings without their vectors (a Voice only lists encoder names)."""
    return (
        selectinload(VoiceRow.clips),
        selectinload(VoiceRow.embeddings).load_only(EmbeddingRow.encoder),
    )


def embedding_row(s: Session, voice_id: int, encoder: str) -> EmbeddingRow | None:
    return s.scalar(
        select(EmbeddingRow).where(EmbeddingRow.voice_id == voice_id, EmbeddingRow.encoder == encoder)
    )


def voice_match_row(s: Session, voice_id: int, engine_key: str) -> VoiceMatchRow | None:
    return s.scalar(
        select(VoiceMatchRow).where(VoiceMatchRow.voice_id == voice_id, VoiceMatchRow.engine_key == engine_key)
    )


def filtered_takes(
    stmt: Select[Any], project_id: int, voice_id: int | None, kind: str | None, starred: bool | None
) -> Select[Any]:
    stmt = stmt.where(TakeRow.project_id == project_id)
    if voice_id is not None:
        stmt = stmt.where(TakeRow.voice_id == voice_id)
    if kind is not None:
        stmt = stmt.where(TakeRow.kind == kind)
    if starred is not None:
        stmt = stmt.where(TakeRow.starred == bool(starred))
    return stmt


def delete_rows(s: Session, stmt: Delete) -> int:
    """Run a DELETE and say how many rows it removed (the database cascades the rest)."""
    result = cast(CursorResult[Any], s.execute(stmt))
    return result.rowcount


def project_exists(name: str) -> str:
    return f"a project named {name!r} already exists"


def voice_exists(name: str) -> str:
    return f"a voice named {name!r} already exists in this project"
