"""Reading a project from a zip: check all of it (structure, references, every blob's sha256),
then write the blobs, then every row in one unit of work."""
from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..blobs import BlobStore
from ..errors import NotFoundError, StorageError
from ..models import (
    NAME_MAX,
    ClipRow,
    EmbeddingRow,
    ProjectRow,
    TakeRow,
    TakeTranscriptRow,
    VoiceRow,
)
from ..unit_of_work import UnitOfWork
from .manifest import AUDIO_DIR, MANIFEST, Plan, parse

MAX_MANIFEST_BYTES = 256 * 1024 * 1024
_CHUNK = 1024 * 1024

UnitsOfWork = Callable[[], AbstractContextManager[UnitOfWork]]


def import_project(
    unit_of_work: UnitsOfWork, blobs: BlobStore, path: Path, name: str | None
) -> int:
    """Import the archive at `path` as a new project and return its id."""
    if not path.is_file():
        raise NotFoundError(f"archive {path} not found")
    try:
        with zipfile.ZipFile(path) as zf:
            plan = parse(_read_manifest(zf), name)
            for sha in plan.shas:  # every check before the first write
                _verify(zf, sha)
            for sha in plan.shas:
                if sha in blobs:
                    continue
                if blobs.put(zf.read(AUDIO_DIR + sha)) != sha:  # changed under our feet
                    raise StorageError(f"archive audio {sha} changed while importing")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise StorageError(f"{path.name} is not a readable Retake project archive: {exc}") from exc
    # Blobs are in place; rows follow in one transaction. Should it fail, the new blobs are
    # merely unreferenced and collect_garbage removes them.
    with unit_of_work() as uow:
        return _insert(uow, plan)


def _read_manifest(zf: zipfile.ZipFile) -> Any:
    try:
        info = zf.getinfo(MANIFEST)
    except KeyError:
        raise StorageError("not a Retake project archive: manifest.json is missing") from None
    if info.file_size > MAX_MANIFEST_BYTES:
        raise StorageError("manifest.json is implausibly large")
    try:
        return json.loads(zf.read(info).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StorageError(f"manifest.json is not valid JSON: {exc}") from None


def _verify(zf: zipfile.ZipFile, sha: str) -> None:
    """Hash the archived bytes (streamed) and compare with the name they are filed under."""
    try:
        entry = zf.getinfo(AUDIO_DIR + sha)
    except KeyError:
        raise StorageError(f"archive is incomplete: audio {sha} is missing") from None
    digest = hashlib.sha256()
    with zf.open(entry) as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != sha:
        raise StorageError(f"archive is damaged or was altered: audio {sha} does not match its checksum")


def _free_name(s: Session, base: str) -> str:
    """`base`, or `base (2)`, `base (3)`, ... whichever is not taken yet."""
    prefix = base[: NAME_MAX - 8]  # long names get cut to make room for the suffix
    taken = set(s.scalars(select(ProjectRow.name).where(ProjectRow.name.startswith(prefix, autoescape=True))))
    if base not in taken:
        return base
    n = 2
    while True:
        suffix = f" ({n})"
        candidate = base[: NAME_MAX - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1


def _insert(uow: UnitOfWork, plan: Plan) -> int:
    """All rows in one transaction; takes are inserted first and linked to parents after, so
    their order in the archive does not matter."""
    s = uow.session
    project = ProjectRow(name=_free_name(s, plan.name), created_at=uow.now())
    s.add(project)
    s.flush()
    voice_ids: dict[int, int] = {}
    for v in plan.voices:
        voice = VoiceRow(
            project_id=project.id,
            name=v.name,
            language=v.language,
            consent_statement=v.consent_statement,
            consent_by=v.consent_by,
            consent_at=v.consent_at,
            created_at=v.created_at,
        )
        s.add(voice)
        s.flush()
        voice_ids[v.ref] = voice.id
        s.add_all(
            ClipRow(
                voice_id=voice.id,
                position=c.position,
                audio_sha=c.audio_sha,
                sample_rate=c.sample_rate,
                duration=c.duration,
                transcript=c.transcript,
                source_name=c.source_name,
            )
            for c in v.clips
        )
        s.add_all(
            EmbeddingRow(
                voice_id=voice.id,
                encoder=e.encoder,
                dim=e.dim,
                vector=e.vector,
                updated_at=e.updated_at,
            )
            for e in v.embeddings
        )
    rows: dict[int, TakeRow] = {}
    for t in plan.takes:
        rows[t.ref] = TakeRow(
            project_id=project.id,
            kind=t.kind,
            text=t.text,
            voice_id=voice_ids[t.voice_ref] if t.voice_ref is not None else None,
            engine_id=t.engine_id,
            engine_revision=t.engine_revision,
            parameters=t.parameters,
            seed=t.seed,
            parent_id=None,
            scores=t.scores,
            audio_sha=t.audio_sha,
            duration=t.duration,
            sample_rate=t.sample_rate,
            created_at=t.created_at,
            starred=t.starred,
        )
    s.add_all(rows.values())
    s.flush()
    for t in plan.takes:
        if t.parent_ref is not None:
            rows[t.ref].parent_id = rows[t.parent_ref].id
    s.add_all(
        TakeTranscriptRow(
            take_id=rows[t.ref].id,
            engine_id=t.transcript.engine_id,
            language=t.transcript.language,
            text=t.transcript.text,
            words=[list(w) for w in t.transcript.words],
            created_at=t.transcript.created_at,
        )
        for t in plan.takes
        if t.transcript is not None
    )
    s.flush()
    return project.id
