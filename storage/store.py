"""The Store facade: projects, voices, takes and their audio behind one small API.

Each call is its own short unit of work (one transaction), so the Gradio app can call it from any
worker thread. Audio is written to the blob store *before* the row that names it is committed; a
failed transaction therefore leaves at most an unreferenced blob (removed by collect_garbage),
never a row whose audio is missing."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import numpy as np
from sqlalchemy import URL, CursorResult, Delete, Select, delete, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from . import archive
from . import validate as check
from .blobs import BlobStore, is_sha
from .database import create_engine_for, migrate, writer
from .errors import ConflictError, NotFoundError, StorageError, StorageFullError
from .models import ClipRow, EmbeddingRow, ProjectRow, TakeRow, TakeTranscriptRow, VoiceRow, utcnow
from .records import (
    Clip,
    Consent,
    NewClip,
    NewTake,
    NewTranscript,
    Project,
    Take,
    TakeTranscript,
    TranscriptWord,
    Voice,
)

DEFAULT_PROJECT_NAME = "My project"
MAX_PAGE = 1000
ENCODER_MAX = 100


class Store:
    """Everything Retake keeps: a SQL database (any SQLAlchemy URL) plus a blob directory."""

    blobs: BlobStore

    def __init__(self, database_url: str | URL, blob_dir: str | Path) -> None:
        self.database_url = database_url
        self.blobs = BlobStore(blob_dir)
        self._engine = create_engine_for(database_url)
        try:
            migrate(self._engine)
        except BaseException:
            self._engine.dispose()
            raise
        self._readers = sessionmaker(self._engine, expire_on_commit=False)
        self._writers = sessionmaker(writer(self._engine), expire_on_commit=False)

    @classmethod
    def open(cls, data_dir: str | Path, database_url: str | None = None) -> Store:
        """The usual layout: <data_dir>/retake.db and <data_dir>/blobs."""
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        # URL.create quotes nothing but also parses nothing: '?', '#' or '%' in a path are safe.
        url = database_url or URL.create("sqlite", database=str((data_dir / "retake.db").resolve()))
        return cls(url, data_dir / "blobs")

    def close(self) -> None:
        """Release pooled connections (the SQLite file can then be moved or deleted)."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """A session for writing: on SQLite its transaction takes the write lock at BEGIN.
        Use as `with self._session() as s, s.begin():`."""
        try:
            with self._writers() as session:
                yield session
        except OperationalError as exc:
            if "full" in str(exc.orig).lower():  # SQLite: "database or disk is full"
                raise StorageFullError() from exc
            raise

    @contextmanager
    def _read(self) -> Iterator[Session]:
        """A session for reading; its transaction sees one consistent snapshot."""
        with self._readers() as session:
            yield session

    # ------------------------------------------------------------------ projects

    def create_project(self, name: str) -> Project:
        name = check.clean_name(name, "project name")
        try:
            with self._session() as s, s.begin():
                if s.scalar(select(ProjectRow.id).where(ProjectRow.name == name)) is not None:
                    raise ConflictError(_project_exists(name))
                row = ProjectRow(name=name, created_at=utcnow())
                s.add(row)
                s.flush()
                return _project_record(row)
        except IntegrityError as exc:
            raise ConflictError(_project_exists(name)) from exc

    def get_project(self, project_id: int) -> Project:
        with self._read() as s:
            return _project_record(_require_project(s, project_id))

    def list_projects(self) -> list[Project]:
        """Oldest first, so the default project stays at the top."""
        with self._read() as s:
            rows = s.scalars(select(ProjectRow).order_by(ProjectRow.created_at, ProjectRow.id))
            return [_project_record(r) for r in rows]

    def default_project(self) -> Project:
        """The project named "My project", created on first use."""
        with self._read() as s:
            row = s.scalar(select(ProjectRow).where(ProjectRow.name == DEFAULT_PROJECT_NAME))
            if row is not None:
                return _project_record(row)
        try:
            return self.create_project(DEFAULT_PROJECT_NAME)
        except ConflictError:  # another thread created it meanwhile
            with self._read() as s:
                row = s.scalar(select(ProjectRow).where(ProjectRow.name == DEFAULT_PROJECT_NAME))
                if row is None:
                    raise
                return _project_record(row)

    def delete_project(self, project_id: int) -> None:
        """Delete a project with its voices and takes (their audio goes at the next collect_garbage)."""
        with self._session() as s, s.begin():
            if _delete(s, delete(ProjectRow).where(ProjectRow.id == project_id)) == 0:
                raise NotFoundError(f"project {project_id} not found")

    # ------------------------------------------------------------------ voices

    def create_voice(
        self,
        project_id: int,
        name: str,
        language: str,
        clips: Sequence[NewClip],
        consent: Consent,
    ) -> Voice:
        """A voice needs at least one reference clip and a recorded consent."""
        name = check.clean_name(name, "voice name")
        language = check.clean_name(language, "language", max_len=32)
        if not clips:
            raise ValueError("a voice needs at least one reference clip")
        consent = _checked_consent(consent)
        checked = [_checked_clip(c) for c in clips]
        shas = [self.blobs.put(c.audio) for c in checked]  # blobs first, then rows
        try:
            with self._session() as s, s.begin():
                _require_project(s, project_id)
                if _voice_name_taken(s, project_id, name):
                    raise ConflictError(_voice_exists(name))
                voice = VoiceRow(
                    project_id=project_id,
                    name=name,
                    language=language,
                    consent_statement=consent.statement,
                    consent_by=consent.confirmed_by,
                    consent_at=consent.confirmed_at,
                    created_at=utcnow(),
                )
                s.add(voice)
                s.flush()
                clip_rows = [
                    ClipRow(
                        voice_id=voice.id,
                        position=i,
                        audio_sha=sha,
                        sample_rate=c.sample_rate,
                        duration=c.duration,
                        transcript=c.transcript,
                        source_name=c.source_name,
                    )
                    for i, (c, sha) in enumerate(zip(checked, shas, strict=True))
                ]
                s.add_all(clip_rows)
                s.flush()
                return _voice_record(voice, clip_rows, ())
        except IntegrityError as exc:
            raise ConflictError(_voice_exists(name)) from exc

    def get_voice(self, voice_id: int) -> Voice:
        with self._read() as s:
            row = s.get(VoiceRow, voice_id, options=_voice_loads())
            if row is None:
                raise NotFoundError(f"voice {voice_id} not found")
            return _loaded_voice_record(row)

    def list_voices(self, project_id: int) -> list[Voice]:
        """Ordered by name, case-insensitively, as a picker shows them."""
        with self._read() as s:
            _require_project(s, project_id)
            rows = s.scalars(
                select(VoiceRow)
                .where(VoiceRow.project_id == project_id)
                .order_by(func.lower(VoiceRow.name), VoiceRow.id)
                .options(*_voice_loads())
            )
            return [_loaded_voice_record(r) for r in rows]

    def rename_voice(self, voice_id: int, name: str) -> Voice:
        name = check.clean_name(name, "voice name")
        try:
            with self._session() as s, s.begin():
                row = s.get(VoiceRow, voice_id, options=_voice_loads())
                if row is None:
                    raise NotFoundError(f"voice {voice_id} not found")
                if row.name != name:
                    if _voice_name_taken(s, row.project_id, name):
                        raise ConflictError(_voice_exists(name))
                    row.name = name
                    s.flush()
                return _loaded_voice_record(row)
        except IntegrityError as exc:
            raise ConflictError(_voice_exists(name)) from exc

    def delete_voice(self, voice_id: int) -> None:
        """Clips and embeddings go with the voice (ON DELETE CASCADE); its takes stay, with
        voice_id set to None (ON DELETE SET NULL), because a take is still a take."""
        with self._session() as s, s.begin():
            if _delete(s, delete(VoiceRow).where(VoiceRow.id == voice_id)) == 0:
                raise NotFoundError(f"voice {voice_id} not found")

    def set_embedding(self, voice_id: int, encoder: str, vector: np.ndarray) -> None:
        """Store (or replace) the voice's embedding from `encoder`, as float32."""
        encoder = check.clean_name(encoder, "encoder name", max_len=ENCODER_MAX)
        values = _checked_vector(vector)
        with self._session() as s, s.begin():
            if s.get(VoiceRow, voice_id) is None:
                raise NotFoundError(f"voice {voice_id} not found")
            row = s.scalar(
                select(EmbeddingRow).where(
                    EmbeddingRow.voice_id == voice_id, EmbeddingRow.encoder == encoder
                )
            )
            if row is None:
                row = EmbeddingRow(voice_id=voice_id, encoder=encoder)
                s.add(row)
            row.dim = int(values.size)
            row.vector = values.tobytes()
            row.updated_at = utcnow()

    def get_embedding(self, voice_id: int, encoder: str) -> np.ndarray | None:
        """The stored float32 vector, or None if this encoder has none for the voice."""
        with self._read() as s:
            if s.get(VoiceRow, voice_id) is None:
                raise NotFoundError(f"voice {voice_id} not found")
            row = s.scalar(
                select(EmbeddingRow).where(
                    EmbeddingRow.voice_id == voice_id, EmbeddingRow.encoder == encoder
                )
            )
            return None if row is None else decode_vector(row.vector, row.dim)

    # ------------------------------------------------------------------ takes

    def add_take(self, project_id: int, take: NewTake, transcript: NewTranscript | None = None) -> Take:
        """Keep a take. Its voice and parent, if given, must belong to the same project.

        With `transcript`, the take and its transcript are stored in one transaction: an edited
        take is never visible without the words it was edited to."""
        kind = check.clean_name(take.kind, "take kind", max_len=32)
        audio = check.audio_bytes(take.audio)
        sample_rate = check.positive_int(take.sample_rate, "sample_rate")
        seconds = check.duration(take.duration)
        seed = check.seed(take.seed)
        parameters = check.json_dict(take.parameters, "parameters")
        scores = check.json_dict(take.scores, "scores")
        text = check.optional_text(take.text, "text")
        engine_id = check.optional_text(take.engine_id, "engine_id", 100)
        engine_revision = check.optional_text(take.engine_revision, "engine_revision", 100)
        if transcript is not None and not isinstance(transcript, NewTranscript):
            raise ValueError("transcript must be a storage.NewTranscript")
        checked = None if transcript is None else _checked_transcript(transcript)
        sha = self.blobs.put(audio)
        with self._session() as s, s.begin():
            _require_project(s, project_id)
            if take.voice_id is not None:
                voice_project = s.scalar(select(VoiceRow.project_id).where(VoiceRow.id == take.voice_id))
                if voice_project is None:
                    raise NotFoundError(f"voice {take.voice_id} not found")
                if voice_project != project_id:
                    raise ValueError(f"voice {take.voice_id} belongs to another project")
            if take.parent_id is not None:
                parent_project = s.scalar(select(TakeRow.project_id).where(TakeRow.id == take.parent_id))
                if parent_project is None:
                    raise NotFoundError(f"take {take.parent_id} not found")
                if parent_project != project_id:
                    raise ValueError(f"take {take.parent_id} belongs to another project")
            row = TakeRow(
                project_id=project_id,
                kind=kind,
                text=text,
                voice_id=take.voice_id,
                engine_id=engine_id,
                engine_revision=engine_revision,
                parameters=parameters,
                seed=seed,
                parent_id=take.parent_id,
                scores=scores,
                audio_sha=sha,
                duration=seconds,
                sample_rate=sample_rate,
                created_at=utcnow(),
                starred=False,
            )
            s.add(row)
            s.flush()
            if checked is not None:
                s.add(_transcript_row(row.id, checked))
                s.flush()
            return _take_record(row)

    def get_take(self, take_id: int) -> Take:
        with self._read() as s:
            return _take_record(_require_take(s, take_id))

    def list_takes(
        self,
        project_id: int,
        *,
        voice_id: int | None = None,
        kind: str | None = None,
        starred: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Take]:
        """Newest first (created_at, then id, descending); filters combine with AND."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be an integer from 1 to {MAX_PAGE}")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError("offset must be a non-negative integer")
        with self._read() as s:
            _require_project(s, project_id)
            stmt = _filtered(select(TakeRow), project_id, voice_id, kind, starred)
            stmt = stmt.order_by(TakeRow.created_at.desc(), TakeRow.id.desc()).limit(limit).offset(offset)
            return [_take_record(r) for r in s.scalars(stmt)]

    def count_takes(
        self,
        project_id: int,
        *,
        voice_id: int | None = None,
        kind: str | None = None,
        starred: bool | None = None,
    ) -> int:
        with self._read() as s:
            _require_project(s, project_id)
            stmt = _filtered(select(func.count(TakeRow.id)), project_id, voice_id, kind, starred)
            return int(s.scalar(stmt) or 0)

    def set_starred(self, take_id: int, starred: bool) -> Take:
        with self._session() as s, s.begin():
            row = _require_take(s, take_id)
            row.starred = bool(starred)
            s.flush()
            return _take_record(row)

    def take_children(self, take_id: int) -> list[Take]:
        """The takes made directly from this one (parent_id == take_id), oldest first, as a
        history of edits reads."""
        with self._read() as s:
            _require_take(s, take_id)
            rows = s.scalars(
                select(TakeRow)
                .where(TakeRow.parent_id == take_id)
                .order_by(TakeRow.created_at, TakeRow.id)
            )
            return [_take_record(r) for r in rows]

    def delete_take(self, take_id: int) -> None:
        """Children keep existing with parent_id None (ON DELETE SET NULL); the transcript goes
        with the take (ON DELETE CASCADE); the audio goes at the next collect_garbage unless
        something else uses the same bytes."""
        with self._session() as s, s.begin():
            if _delete(s, delete(TakeRow).where(TakeRow.id == take_id)) == 0:
                raise NotFoundError(f"take {take_id} not found")

    # ------------------------------------------------------------------ transcripts

    def set_transcript(
        self,
        take_id: int,
        *,
        text: str,
        words: Sequence[TranscriptWord],
        engine_id: str | None,
        language: str | None,
    ) -> TakeTranscript:
        """Store what was said in the take, replacing any earlier transcript of it.

        `words` are (text, start, end, confidence) with 0 <= start <= end seconds, confidence in
        [0, 1], finite and in order of start (objects with those attributes work too)."""
        checked = _checked_transcript(
            NewTranscript(text=text, words=words, engine_id=engine_id, language=language)
        )
        with self._session() as s, s.begin():
            _require_take(s, take_id)
            old = s.get(TakeTranscriptRow, take_id)
            if old is not None:
                s.delete(old)
                s.flush()  # the DELETE must precede the INSERT of the same primary key
            row = _transcript_row(take_id, checked)
            s.add(row)
            s.flush()
            return _transcript_record(row)

    def get_transcript(self, take_id: int) -> TakeTranscript | None:
        """The take's transcript, or None if it has none; NotFoundError if the take is unknown."""
        with self._read() as s:
            _require_take(s, take_id)
            row = s.get(TakeTranscriptRow, take_id)
            return None if row is None else _transcript_record(row)

    # ------------------------------------------------------------------ audio

    def read_audio(self, sha: str) -> bytes:
        """The encoded bytes stored under `sha`; NotFoundError if there is no such blob."""
        if not isinstance(sha, str) or not is_sha(sha):
            raise NotFoundError(f"audio {sha!r} not found")
        return self.blobs.read(sha)

    def audio_path(self, sha: str) -> Path:
        """A file path for `sha` (e.g. for gr.Audio); NotFoundError if there is no such blob."""
        if not isinstance(sha, str) or not is_sha(sha):
            raise NotFoundError(f"audio {sha!r} not found")
        return self.blobs.path(sha)

    def referenced_shas(self) -> set[str]:
        """Every sha some clip or take points at."""
        with self._read() as s:
            union = select(ClipRow.audio_sha).union(select(TakeRow.audio_sha))
            return set(s.scalars(union))

    def collect_garbage(self, grace_seconds: float = 3600) -> int:
        """Delete blobs no row references, and stale temp files, older than `grace_seconds`;
        return how many files were removed. The grace period protects a blob whose row is
        still being committed by another thread or process."""
        return self.blobs.collect_garbage(self.referenced_shas(), grace_seconds)

    # ------------------------------------------------------------------ archive

    def export_project(self, project_id: int, path: str | Path) -> Path:
        """Write the project (voices, consent, clips, embeddings, takes, audio) to one zip."""
        return archive.export_project(self._readers, self.blobs, project_id, Path(path))

    def import_project(self, path: str | Path, name: str | None = None) -> Project:
        """Create a new project from an exported zip; nothing is written unless all of it checks
        out. A name already in use gets a " (2)" style suffix."""
        project_id = archive.import_project(self._writers, self.blobs, Path(path), name)
        return self.get_project(project_id)


# ---------------------------------------------------------------------- helpers


def decode_vector(data: bytes, dim: int) -> np.ndarray:
    values = np.frombuffer(data, dtype="<f4")
    if values.size != dim:
        raise StorageError(f"stored embedding has {values.size} values, expected {dim}")
    return values.astype(np.float32)  # native byte order, writable copy


def _checked_vector(vector: Any) -> np.ndarray:
    values = np.asarray(vector)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("an embedding must be a non-empty 1-D vector")
    if not np.issubdtype(values.dtype, np.number):
        raise ValueError("an embedding must be numeric")
    values = values.astype("<f4")
    if not np.all(np.isfinite(values)):
        raise ValueError("an embedding must not contain NaN or infinity")
    return values


def _checked_consent(consent: Consent) -> Consent:
    if not isinstance(consent, Consent):
        raise ValueError("consent must be a storage.Consent")
    return Consent(
        statement=check.clean_name(consent.statement, "consent statement", max_len=100_000),
        confirmed_by=check.clean_name(consent.confirmed_by, "consent confirmed_by"),
        confirmed_at=check.aware(consent.confirmed_at, "consent confirmed_at"),
    )


def _checked_clip(clip: NewClip) -> NewClip:
    return NewClip(
        audio=check.audio_bytes(clip.audio),
        sample_rate=check.positive_int(clip.sample_rate, "sample_rate"),
        duration=check.duration(clip.duration),
        transcript=check.optional_text(clip.transcript, "transcript"),
        source_name=check.optional_text(clip.source_name, "source_name", 255),
    )


def _checked_transcript(transcript: NewTranscript) -> NewTranscript:
    """Every field checked (ValueError otherwise), words as plain (str, float, float, float)."""
    return NewTranscript(
        text=check.transcript_text(transcript.text),
        words=check.transcript_words(transcript.words),
        engine_id=check.optional_text(transcript.engine_id, "engine_id", 100),
        language=check.optional_text(transcript.language, "language", 32),
    )


def _transcript_row(take_id: int, checked: NewTranscript) -> TakeTranscriptRow:
    return TakeTranscriptRow(
        take_id=take_id,
        engine_id=checked.engine_id,
        language=checked.language,
        text=checked.text,
        words=[list(w) for w in checked.words],
        created_at=utcnow(),
    )


def _filtered(
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


def _delete(s: Session, stmt: Delete) -> int:
    """Run a DELETE and say how many rows it removed (the database cascades the rest)."""
    result = cast(CursorResult[Any], s.execute(stmt))
    return result.rowcount


def _require_project(s: Session, project_id: int) -> ProjectRow:
    row = s.get(ProjectRow, project_id)
    if row is None:
        raise NotFoundError(f"project {project_id} not found")
    return row


def _require_take(s: Session, take_id: int) -> TakeRow:
    row = s.get(TakeRow, take_id)
    if row is None:
        raise NotFoundError(f"take {take_id} not found")
    return row


def _voice_name_taken(s: Session, project_id: int, name: str) -> bool:
    stmt = select(VoiceRow.id).where(VoiceRow.project_id == project_id, VoiceRow.name == name)
    return s.scalar(stmt) is not None


def _voice_loads() -> tuple[Any, ...]:
    """Clips in full, embeddings without their vectors (a Voice only lists encoder names)."""
    return (
        selectinload(VoiceRow.clips),
        selectinload(VoiceRow.embeddings).load_only(EmbeddingRow.encoder),
    )


def _project_exists(name: str) -> str:
    return f"a project named {name!r} already exists"


def _voice_exists(name: str) -> str:
    return f"a voice named {name!r} already exists in this project"


def _project_record(row: ProjectRow) -> Project:
    return Project(id=row.id, name=row.name, created_at=row.created_at)


def _clip_record(row: ClipRow) -> Clip:
    return Clip(
        id=row.id,
        audio_sha=row.audio_sha,
        sample_rate=row.sample_rate,
        duration=row.duration,
        transcript=row.transcript,
        source_name=row.source_name,
        position=row.position,
    )


def _voice_record(row: VoiceRow, clips: Sequence[ClipRow], encoders: Sequence[str]) -> Voice:
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
        clips=tuple(_clip_record(c) for c in sorted(clips, key=lambda c: c.position)),
        embedding_encoders=tuple(sorted(encoders)),
        created_at=row.created_at,
    )


def _loaded_voice_record(row: VoiceRow) -> Voice:
    return _voice_record(row, row.clips, [e.encoder for e in row.embeddings])


def _take_record(row: TakeRow) -> Take:
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


def _transcript_record(row: TakeTranscriptRow) -> TakeTranscript:
    return TakeTranscript(
        take_id=row.take_id,
        engine_id=row.engine_id,
        language=row.language,
        text=row.text,
        words=tuple((str(t), float(a), float(b), float(c)) for t, a, b, c in row.words),
        created_at=row.created_at,
    )
