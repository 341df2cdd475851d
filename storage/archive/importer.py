"""Reading a project from a zip: check all of it (structure, references, sizes against the limits, every
blob's sha256 and that it is audio), then put the blobs in place, then every row in one unit of work.

Members are streamed to temp files beside the blob store, never read whole into memory; sizes are checked
from the zip's directory before anything is inflated, and counted again while reading."""
from __future__ import annotations

import json
import zipfile
import zlib
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
from .limits import ImportLimits, size_text
from .manifest import AUDIO_DIR, MANIFEST, Plan, parse
from .scripts import insert_scripts

MAX_MANIFEST_BYTES = 64 * 1024 * 1024

UnitsOfWork = Callable[[], AbstractContextManager[UnitOfWork]]


def import_project(
    unit_of_work: UnitsOfWork,
    blobs: BlobStore,
    path: Path,
    name: str | None,
    limits: ImportLimits | None = None,
    checkpoint: Callable[[], None] | None = None,
) -> int:
    """Import the archive at `path` as a new project and return its id. `checkpoint` is called before every
    member is unpacked; whatever it raises (a cancellation) removes the members staged so far."""
    limits = limits or ImportLimits()
    if not path.is_file():
        raise NotFoundError(f"archive {path} not found")
    staged: dict[str, Path] = {}
    try:
        try:
            with zipfile.ZipFile(path) as zf:
                plan = parse(_read_manifest(zf), name)
                _check_durations(plan, limits)
                entries = _sized_entries(zf, plan, limits)  # every check before the first byte is inflated
                for sha, entry in entries.items():
                    if checkpoint is not None:
                        checkpoint()
                    staged[sha] = _stage(zf, entry, sha, blobs, limits)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError) as exc:
            raise StorageError(f"{path.name} is not a readable Retake project archive: {exc}") from exc
        except OSError as exc:
            if isinstance(exc, StorageError):  # the disk is full: say that, not "bad archive"
                raise
            # A forged directory can make zipfile seek before the start of the file (EINVAL).
            raise StorageError(f"{path.name} is not a readable Retake project archive: {exc}") from exc
        for sha, tmp in staged.items():
            if sha in blobs:
                tmp.unlink(missing_ok=True)  # the same bytes are already kept
            else:
                blobs.adopt(tmp, sha)
        staged.clear()
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
    # Blobs are in place; rows follow in one transaction. Should it fail, the new blobs are
    # merely unreferenced and collect_garbage removes them.
    with unit_of_work() as uow:
        return _insert(uow, plan)


def _check_durations(plan: Plan, limits: ImportLimits) -> None:
    """The lengths the manifest declares, against the studio's limit (the audio itself is checked too)."""
    limit = limits.max_audio_seconds
    if limit is None:
        return
    for v in plan.voices:
        for c in v.clips:
            if c.duration > limit:
                raise StorageError(f"voice {v.name!r} has a clip of {c.duration:.0f} s; the limit is "
                                   f"{limit:.0f} s (RETAKE_MAX_AUDIO_SECONDS). Nothing was imported.")
    for t in plan.takes:
        if t.duration > limit:
            raise StorageError(f"take {t.ref} of the archive lasts {t.duration:.0f} s; the limit is "
                               f"{limit:.0f} s (RETAKE_MAX_AUDIO_SECONDS). Nothing was imported.")


def _sized_entries(zf: zipfile.ZipFile, plan: Plan, limits: ImportLimits) -> dict[str, zipfile.ZipInfo]:
    """Each blob's zip entry, refused when it (or all of them) would unpack to more than the limits allow."""
    entries: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for sha in plan.shas:
        try:
            entry = zf.getinfo(AUDIO_DIR + sha)
        except KeyError:
            raise StorageError(f"archive is incomplete: audio {sha} is missing") from None
        _refuse_encrypted(entry)
        if entry.file_size > limits.max_member_bytes:
            raise StorageError(
                f"archive audio {sha[:12]}… would unpack to {size_text(entry.file_size)}; one recording may be "
                f"at most {size_text(limits.max_member_bytes)} (RETAKE_MAX_UPLOAD_MB). Nothing was imported.")
        total += entry.file_size
        entries[sha] = entry
    if total > limits.max_total_bytes:
        raise StorageError(f"the archive would unpack to {size_text(total)}; at most "
                           f"{size_text(limits.max_total_bytes)} can be imported. Nothing was imported.")
    return entries


def _stage(zf: zipfile.ZipFile, entry: zipfile.ZipInfo, sha: str, blobs: BlobStore, limits: ImportLimits) -> Path:
    """Stream one member to a temp file, checking its size as it inflates, its sha256 and that it is audio."""
    cap = min(entry.file_size, limits.max_member_bytes)
    with zf.open(entry) as f:
        try:
            tmp, digest, _size = blobs.stage(f, sha, cap)
        except ValueError:
            raise StorageError(f"archive audio {sha[:12]}… unpacks to more than its directory says; the archive "
                               "is damaged or forged. Nothing was imported.") from None
    try:
        if digest != sha:
            raise StorageError(f"archive is damaged or was altered: audio {sha} does not match its checksum")
        if limits.check_audio is not None:
            try:
                seconds = limits.check_audio(tmp)
            except ValueError as exc:
                raise StorageError(f"archive audio {sha[:12]}… is not usable audio ({exc}). "
                                   "Nothing was imported.") from None
            if limits.max_audio_seconds is not None and seconds > limits.max_audio_seconds:
                raise StorageError(f"archive audio {sha[:12]}… lasts {seconds:.0f} s; the limit is "
                                   f"{limits.max_audio_seconds:.0f} s. Nothing was imported.")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _refuse_encrypted(entry: zipfile.ZipInfo) -> None:
    """Retake never writes encrypted members; zipfile would stop at one asking for a password (RuntimeError)."""
    if entry.flag_bits & 0x1:
        raise StorageError(f"{entry.filename} in the archive is encrypted (Retake archives never are); the archive "
                           "is damaged or not Retake's. Nothing was imported.")


def _read_manifest(zf: zipfile.ZipFile) -> Any:
    try:
        info = zf.getinfo(MANIFEST)
    except KeyError:
        raise StorageError("not a Retake project archive: manifest.json is missing") from None
    _refuse_encrypted(info)
    if info.file_size > MAX_MANIFEST_BYTES:
        raise StorageError("manifest.json is implausibly large")
    try:
        return json.loads(zf.read(info).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StorageError(f"manifest.json is not valid JSON: {exc}") from None


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
    insert_scripts(s, project.id, plan.scripts, plan.lexicon, voice_ids, {ref: row.id for ref, row in rows.items()})
    return project.id
