"""Writing a project to one zip: the manifest (voices, consent, clips, embeddings, takes with
their transcripts, narration scripts and the lexicon) plus every blob it names."""
from __future__ import annotations

import base64
import json
import os
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from ..blobs import BlobStore
from ..errors import NotFoundError, StorageError
from ..models import ProjectRow, TakeRow, TakeTranscriptRow, VoiceRow, utcnow
from .manifest import AUDIO_DIR, FORMAT, FORMAT_VERSION, MANIFEST
from .scripts import scripts_out


def export_project(
    sessions: sessionmaker[Session], blobs: BlobStore, project_id: int, path: Path,
    checkpoint: Callable[[], None] | None = None,
) -> Path:
    """Write the project to `path` (replaced atomically: readers never see half a zip). `checkpoint` is
    called before every member; whatever it raises (a cancellation) removes the half-written file."""
    with sessions() as s:
        project = s.get(ProjectRow, project_id)
        if project is None:
            raise NotFoundError(f"project {project_id} not found")
        voices = s.scalars(
            select(VoiceRow)
            .where(VoiceRow.project_id == project_id)
            .order_by(VoiceRow.id)
            .options(selectinload(VoiceRow.clips), selectinload(VoiceRow.embeddings))
        ).all()
        takes = s.scalars(
            select(TakeRow).where(TakeRow.project_id == project_id).order_by(TakeRow.id)
        ).all()
        transcripts = {
            t.take_id: t
            for t in s.scalars(
                select(TakeTranscriptRow)
                .join(TakeRow, TakeRow.id == TakeTranscriptRow.take_id)
                .where(TakeRow.project_id == project_id)
            )
        }
        manifest = _manifest(project, voices, takes, transcripts)
        manifest["scripts"], manifest["lexicon"] = scripts_out(
            s, project_id, {v.id: i for i, v in enumerate(voices, start=1)},
            {t.id: i for i, t in enumerate(takes, start=1)})

    shas = sorted(
        {c["audio_sha"] for v in manifest["voices"] for c in v["clips"]}
        | {t["audio_sha"] for t in manifest["takes"]}
    )
    sources = {}
    for sha in shas:
        try:
            sources[sha] = blobs.path(sha)
        except NotFoundError:
            raise StorageError(f"cannot export: audio {sha} is missing from the blob store") from None

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with zipfile.ZipFile(tmp, "w") as zf:
            zf.writestr(
                MANIFEST,
                json.dumps(manifest, ensure_ascii=False, indent=1),
                compress_type=zipfile.ZIP_DEFLATED,
            )
            for sha in shas:  # encoded audio hardly compresses; store it as is
                if checkpoint is not None:
                    checkpoint()
                zf.write(sources[sha], AUDIO_DIR + sha, compress_type=zipfile.ZIP_STORED)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _transcript_out(row: TakeTranscriptRow | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "engine_id": row.engine_id,
        "language": row.language,
        "text": row.text,
        "words": [list(w) for w in row.words],  # [text, start, end, confidence]
        "created_at": _iso(row.created_at),
    }


def _manifest(
    project: ProjectRow, voices: Any, takes: Any, transcripts: dict[int, TakeTranscriptRow]
) -> dict[str, Any]:
    voice_refs = {v.id: i for i, v in enumerate(voices, start=1)}
    take_refs = {t.id: i for i, t in enumerate(takes, start=1)}
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "exported_at": _iso(utcnow()),
        "project": {"name": project.name, "created_at": _iso(project.created_at)},
        "voices": [
            {
                "ref": voice_refs[v.id],
                "name": v.name,
                "language": v.language,
                "created_at": _iso(v.created_at),
                "consent": {
                    "statement": v.consent_statement,
                    "confirmed_by": v.consent_by,
                    "confirmed_at": _iso(v.consent_at),
                },
                "clips": [
                    {
                        "position": c.position,
                        "audio_sha": c.audio_sha,
                        "sample_rate": c.sample_rate,
                        "duration": c.duration,
                        "transcript": c.transcript,
                        "source_name": c.source_name,
                    }
                    for c in v.clips
                ],
                "embeddings": [
                    {
                        "encoder": e.encoder,
                        "dim": e.dim,
                        "dtype": "float32-le",
                        "vector": base64.b64encode(e.vector).decode("ascii"),
                        "updated_at": _iso(e.updated_at),
                    }
                    for e in v.embeddings
                ],
            }
            for v in voices
        ],
        "takes": [
            {
                "ref": take_refs[t.id],
                "kind": t.kind,
                "text": t.text,
                "voice_ref": voice_refs.get(t.voice_id) if t.voice_id is not None else None,
                "engine_id": t.engine_id,
                "engine_revision": t.engine_revision,
                "parameters": t.parameters,
                "seed": t.seed,
                # A parent outside this project cannot exist, but never emit a dangling ref.
                "parent_ref": take_refs.get(t.parent_id) if t.parent_id is not None else None,
                "scores": t.scores,
                "audio_sha": t.audio_sha,
                "duration": t.duration,
                "sample_rate": t.sample_rate,
                "created_at": _iso(t.created_at),
                "starred": t.starred,
                "transcript": _transcript_out(transcripts.get(t.id)),
            }
            for t in takes
        ],
    }
