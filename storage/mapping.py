"""ORM rows to the frozen records callers get: the one place that knows both shapes, so reads,
writes and the unit of work hand back exactly the same values."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import StorageError
from .models import ClipRow, LexiconRow, ProjectRow, ScriptRow, SegmentRow, TakeRow, TakeTranscriptRow, VoiceRow
from .records import (
    Clip,
    Consent,
    LexiconEntry,
    Project,
    Script,
    ScriptSegment,
    Take,
    TakeTranscript,
    Voice,
)


def project_record(row: ProjectRow) -> Project:
    return Project(id=row.id, name=row.name, created_at=row.created_at)


def clip_record(row: ClipRow) -> Clip:
    return Clip(
        id=row.id,
        audio_sha=row.audio_sha,
        sample_rate=row.sample_rate,
        duration=row.duration,
        transcript=row.transcript,
        source_name=row.source_name,
        position=row.position,
    )


def voice_record(row: VoiceRow, clips: Sequence[ClipRow], encoders: Sequence[str]) -> Voice:
    return Voice(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        language=row.language,
        consent=Consent(
            statement=row.consent_statement,
            confirmed_by=row.consent_by,
            confirmed_at=row.consent_at,
        ),
        clips=tuple(clip_record(c) for c in sorted(clips, key=lambda c: c.position)),
        embedding_encoders=tuple(sorted(encoders)),
        created_at=row.created_at,
    )


def loaded_voice_record(row: VoiceRow) -> Voice:
    """A voice row loaded with `lookups.voice_loads()` (clips, and embeddings' encoder names)."""
    return voice_record(row, row.clips, [e.encoder for e in row.embeddings])


def take_record(row: TakeRow) -> Take:
    return Take(
        id=row.id,
        project_id=row.project_id,
        kind=row.kind,
        text=row.text,
        voice_id=row.voice_id,
        engine_id=row.engine_id,
        engine_revision=row.engine_revision,
        parameters=dict(row.parameters or {}),
        seed=row.seed,
        parent_id=row.parent_id,
        scores=dict(row.scores or {}),
        audio_sha=row.audio_sha,
        duration=row.duration,
        sample_rate=row.sample_rate,
        created_at=row.created_at,
        starred=bool(row.starred),
    )


def transcript_record(row: TakeTranscriptRow) -> TakeTranscript:
    return TakeTranscript(
        take_id=row.take_id,
        engine_id=row.engine_id,
        language=row.language,
        text=row.text,
        words=tuple((str(t), float(a), float(b), float(c)) for t, a, b, c in row.words),
        created_at=row.created_at,
    )


def decode_vector(data: bytes, dim: int) -> np.ndarray:
    values = np.frombuffer(data, dtype="<f4")
    if values.size != dim:
        raise StorageError(f"stored embedding has {values.size} values, expected {dim}")
    return values.astype(np.float32)  # native byte order, writable copy



def script_record(row: ScriptRow) -> Script:
    return Script(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        source_format=row.source_format,
        settings=dict(row.settings or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def segment_record(row: SegmentRow, take_hash: str | None) -> ScriptSegment:
    """`take_hash`: the content_hash of the link to the row's chosen take (None without one)."""
    return ScriptSegment(
        id=row.id,
        script_id=row.script_id,
        position=row.position,
        section=row.section,
        speaker=row.speaker,
        voice_id=row.voice_id,
        engine_id=row.engine_id,
        text=row.text,
        pause_after_s=row.pause_after_s,
        chosen_take_id=row.chosen_take_id,
        take_hash=take_hash if row.chosen_take_id is not None else None,
        locked=bool(row.locked),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def lexicon_record(row: LexiconRow) -> LexiconEntry:
    return LexiconEntry(
        id=row.id,
        project_id=row.project_id,
        word=row.word,
        respelling=row.respelling,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
