"""Project export/import as one zip: `manifest.json` plus `audio/<sha256>` for every blob used.

The manifest refers to voices and takes by archive-local numbers (`ref`), never by database ids,
so an archive can be imported into any store, any number of times. Import checks the whole archive
(structure, references, every blob's sha256) before it writes anything: a damaged or tampered file
is refused without leaving rows or blobs behind.

Additions that an older reader may safely ignore keep FORMAT_VERSION: a take's optional
"transcript" (added with storage revision 0002) is one. Archives without it import unchanged, and
an older Retake importing a newer archive only loses transcripts, which it can hear again."""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from . import validate as check
from .blobs import BlobStore, is_sha
from .errors import NotFoundError, StorageError
from .models import (
    NAME_MAX,
    ClipRow,
    EmbeddingRow,
    ProjectRow,
    TakeRow,
    TakeTranscriptRow,
    VoiceRow,
    utcnow,
)

FORMAT = "retake-project"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
AUDIO_DIR = "audio/"
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
_CHUNK = 1024 * 1024


# ---------------------------------------------------------------------- export


def export_project(
    sessions: sessionmaker[Session], blobs: BlobStore, project_id: int, path: Path
) -> Path:
    """Write the project to `path` (replaced atomically: readers never see half a zip)."""
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


# ---------------------------------------------------------------------- import


@dataclass(frozen=True)
class _ClipIn:
    position: int
    audio_sha: str
    sample_rate: int
    duration: float
    transcript: str | None
    source_name: str | None


@dataclass(frozen=True)
class _EmbeddingIn:
    encoder: str
    dim: int
    vector: bytes
    updated_at: datetime


@dataclass(frozen=True)
class _VoiceIn:
    ref: int
    name: str
    language: str
    created_at: datetime
    consent_statement: str
    consent_by: str
    consent_at: datetime
    clips: tuple[_ClipIn, ...]
    embeddings: tuple[_EmbeddingIn, ...]


@dataclass(frozen=True)
class _TranscriptIn:
    engine_id: str | None
    language: str | None
    text: str
    words: tuple[tuple[str, float, float, float], ...]
    created_at: datetime


@dataclass(frozen=True)
class _TakeIn:
    ref: int
    kind: str
    text: str | None
    voice_ref: int | None
    engine_id: str | None
    engine_revision: str | None
    parameters: dict[str, Any]
    seed: int | None
    parent_ref: int | None
    scores: dict[str, Any]
    audio_sha: str
    duration: float
    sample_rate: int
    created_at: datetime
    starred: bool
    transcript: _TranscriptIn | None


@dataclass(frozen=True)
class _Plan:
    name: str
    voices: tuple[_VoiceIn, ...]
    takes: tuple[_TakeIn, ...]

    @property
    def shas(self) -> list[str]:
        found = {c.audio_sha for v in self.voices for c in v.clips} | {t.audio_sha for t in self.takes}
        return sorted(found)


def import_project(
    sessions: sessionmaker[Session], blobs: BlobStore, path: Path, name: str | None
) -> int:
    """Import the archive at `path` as a new project and return its id."""
    if not path.is_file():
        raise NotFoundError(f"archive {path} not found")
    try:
        with zipfile.ZipFile(path) as zf:
            plan = _parse(_read_manifest(zf), name)
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
    return _insert(sessions, plan)


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


def _parse(manifest: Any, name: str | None) -> _Plan:
    """Turn the manifest into checked plain values; any problem becomes one StorageError."""
    try:
        return _parse_unchecked(manifest, name)
    except StorageError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise StorageError(f"invalid project archive: {detail}") from None


def _parse_unchecked(manifest: Any, name: str | None) -> _Plan:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise StorageError("not a Retake project archive")
    version = manifest.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise StorageError(f"archive format version {version!r} is not supported by this Retake")

    project = _obj(manifest["project"], "project")
    project_name = check.clean_name(name if name is not None else project["name"], "project name")

    voices: list[_VoiceIn] = []
    for raw in _list(manifest["voices"], "voices"):
        v = _obj(raw, "voice")
        consent = _obj(v["consent"], "consent")
        clips = tuple(_clip(_obj(c, "clip")) for c in _list(v["clips"], "clips"))
        if not clips:
            raise ValueError(f"voice {v['name']!r} has no clips")
        if len({c.position for c in clips}) != len(clips):
            raise ValueError(f"voice {v['name']!r} has two clips at one position")
        embeddings = tuple(_embedding(_obj(e, "embedding")) for e in _list(v["embeddings"], "embeddings"))
        if len({e.encoder for e in embeddings}) != len(embeddings):
            raise ValueError(f"voice {v['name']!r} has two embeddings from one encoder")
        voices.append(
            _VoiceIn(
                ref=_ref(v["ref"]),
                name=check.clean_name(v["name"], "voice name"),
                language=check.clean_name(v["language"], "language", max_len=32),
                created_at=_time(v["created_at"]),
                consent_statement=check.clean_name(consent["statement"], "consent statement", 100_000),
                consent_by=check.clean_name(consent["confirmed_by"], "consent confirmed_by"),
                consent_at=_time(consent["confirmed_at"]),
                clips=clips,
                embeddings=embeddings,
            )
        )
    voice_refs = [v.ref for v in voices]
    if len(set(voice_refs)) != len(voice_refs):
        raise ValueError("two voices share one ref")
    if len({v.name for v in voices}) != len(voices):
        raise ValueError("two voices share one name")

    takes = tuple(_take(_obj(t, "take")) for t in _list(manifest["takes"], "takes"))
    take_refs = {t.ref for t in takes}
    if len(take_refs) != len(takes):
        raise ValueError("two takes share one ref")
    for t in takes:
        if t.voice_ref is not None and t.voice_ref not in voice_refs:
            raise ValueError(f"take {t.ref} refers to unknown voice {t.voice_ref}")
        if t.parent_ref is not None and t.parent_ref not in take_refs:
            raise ValueError(f"take {t.ref} refers to unknown parent take {t.parent_ref}")
    return _Plan(name=project_name, voices=tuple(voices), takes=takes)


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be an object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{what} must be a list")
    return value


def _ref(value: Any) -> int:
    return check.positive_int(value, "ref")


def _optional_ref(value: Any) -> int | None:
    return None if value is None else _ref(value)


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("timestamps must be ISO 8601 text")
    return check.aware(datetime.fromisoformat(value), "timestamp")


def _sha(value: Any) -> str:
    if not isinstance(value, str) or not is_sha(value):
        raise ValueError(f"bad audio_sha {value!r}")
    return value


def _clip(c: dict[str, Any]) -> _ClipIn:
    position = c["position"]
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        raise ValueError("clip position must be a non-negative integer")
    return _ClipIn(
        position=position,
        audio_sha=_sha(c["audio_sha"]),
        sample_rate=check.positive_int(c["sample_rate"], "sample_rate"),
        duration=check.duration(c["duration"]),
        transcript=check.optional_text(c.get("transcript"), "transcript"),
        source_name=check.optional_text(c.get("source_name"), "source_name", 255),
    )


def _embedding(e: dict[str, Any]) -> _EmbeddingIn:
    if e.get("dtype", "float32-le") != "float32-le":
        raise ValueError(f"unsupported embedding dtype {e.get('dtype')!r}")
    dim = check.positive_int(e["dim"], "embedding dim")
    try:
        vector = base64.b64decode(e["vector"], validate=True)
    except (binascii.Error, TypeError):
        raise ValueError("embedding vector is not base64") from None
    if len(vector) != dim * 4:
        raise ValueError(f"embedding has {len(vector)} bytes, expected {dim * 4}")
    return _EmbeddingIn(
        encoder=check.clean_name(e["encoder"], "encoder name", max_len=100),
        dim=dim,
        vector=vector,
        updated_at=_time(e["updated_at"]),
    )


def _transcript(value: Any, ref: int) -> _TranscriptIn | None:
    """A take's transcript, checked exactly as Store.set_transcript checks one; None when the
    archive has none for the take (archives made before transcripts existed have none at all)."""
    if value is None:
        return None
    try:
        fields = _obj(value, "transcript")
        return _TranscriptIn(
            engine_id=check.optional_text(fields.get("engine_id"), "engine_id", 100),
            language=check.optional_text(fields.get("language"), "language", 32),
            text=check.transcript_text(fields["text"]),
            words=check.transcript_words(fields["words"]),
            created_at=_time(fields["created_at"]),
        )
    except KeyError as exc:
        raise ValueError(f"take {ref} transcript: missing field {exc}") from None
    except (ValueError, TypeError) as exc:
        raise ValueError(f"take {ref} transcript: {exc}") from None


def _take(t: dict[str, Any]) -> _TakeIn:
    starred = t["starred"]
    if not isinstance(starred, bool):
        raise ValueError("take starred must be true or false")
    ref = _ref(t["ref"])
    return _TakeIn(
        ref=ref,
        kind=check.clean_name(t["kind"], "take kind", max_len=32),
        text=check.optional_text(t.get("text"), "text"),
        voice_ref=_optional_ref(t.get("voice_ref")),
        engine_id=check.optional_text(t.get("engine_id"), "engine_id", 100),
        engine_revision=check.optional_text(t.get("engine_revision"), "engine_revision", 100),
        parameters=check.json_dict(t.get("parameters"), "parameters"),
        seed=check.seed(t.get("seed")),
        parent_ref=_optional_ref(t.get("parent_ref")),
        scores=check.json_dict(t.get("scores"), "scores"),
        audio_sha=_sha(t["audio_sha"]),
        duration=check.duration(t["duration"]),
        sample_rate=check.positive_int(t["sample_rate"], "sample_rate"),
        created_at=_time(t["created_at"]),
        starred=starred,
        transcript=_transcript(t.get("transcript"), ref),
    )


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


def _insert(sessions: sessionmaker[Session], plan: _Plan) -> int:
    """All rows in one transaction; takes are inserted first and linked to parents after, so
    their order in the archive does not matter."""
    with sessions() as s, s.begin():
        project = ProjectRow(name=_free_name(s, plan.name), created_at=utcnow())
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
