"""The Store facade: projects, voices, takes and their audio behind one small API.

Every write runs in a unit of work (`storage.unit_of_work`): one transaction that commits whole or
not at all. A single call such as `add_take` is its own unit of work; `unit_of_work()` groups
several writes (a narration with all its attempts) into one. Audio is written to the blob store
*before* the row that names it is committed; a failed transaction therefore leaves at most an
unreferenced blob (removed by collect_garbage), never a row whose audio is missing. Reads each use
one short session, so the Gradio app can call the store from any worker thread."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sqlalchemy import URL, func, select
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from . import archive
from .archive.limits import ImportLimits
from .blobs import BlobStore, is_sha
from .database import create_engine_for, migrate, writer
from .errors import ConflictError, NotFoundError, QuotaExceeded, StorageFullError
from .integrity import check_integrity, damaged
from .lookups import (
    embedding_row,
    filtered_takes,
    project_exists,
    require_project,
    require_take,
    require_voice,
    voice_exists,
    voice_loads,
    voice_match_row,
)
from .mapping import (
    decode_vector,
    loaded_voice_record,
    project_record,
    take_record,
    transcript_record,
)
from .models import ClipRow, ProjectRow, TakeRow, TakeTranscriptRow, UsageDayRow, VoiceRow, utcnow
from .records import (
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
from .scripts import ScriptStore
from .unit_of_work import Clock, UnitOfWork

DEFAULT_PROJECT_NAME = "My project"
MAX_PAGE = 1000


class Store(ScriptStore):
    """Everything Retake keeps: a SQL database (any SQLAlchemy URL) plus a blob directory. Narration
    scripts, their segments and the lexicon: see `ScriptStore` (storage/scripts.py)."""

    blobs: BlobStore

    def __init__(self, database_url: str | URL, blob_dir: str | Path, *, clock: Clock = utcnow,
                 blob_limit_bytes: int | None = None) -> None:
        """`clock` gives the creation times rows record (aware UTC); tests pass one that ticks.
        `blob_limit_bytes`: the audio this store may hold (a user's storage quota); None: the disk's size."""
        self.database_url = database_url
        self.blobs = BlobStore(blob_dir, limit_bytes=blob_limit_bytes)
        self.clock = clock
        self._engine = create_engine_for(database_url)
        try:
            try:
                migrate(self._engine)
            except DatabaseError as exc:  # e.g. "file is not a database": a damaged header
                if isinstance(exc, OperationalError):  # locked, read-only, missing folder: not damage
                    raise
                raise damaged(self._engine, exc.orig) from None
        except BaseException:
            self._engine.dispose()
            raise
        self._readers = sessionmaker(self._engine, expire_on_commit=False)
        self._writers = sessionmaker(writer(self._engine), expire_on_commit=False)

    @classmethod
    def open(cls, data_dir: str | Path, database_url: str | None = None, *, clock: Clock = utcnow,
             blob_limit_bytes: int | None = None) -> Store:
        """The usual layout: <data_dir>/retake.db and <data_dir>/blobs."""
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        # URL.create quotes nothing but also parses nothing: '?', '#' or '%' in a path are safe.
        url = database_url or URL.create("sqlite", database=str((data_dir / "retake.db").resolve()))
        return cls(url, data_dir / "blobs", clock=clock, blob_limit_bytes=blob_limit_bytes)

    def check_integrity(self) -> None:
        """DatabaseDamaged (one sentence: which file, what to do) unless the database file is whole;
        run at start-up, before anything reads or writes rows."""
        check_integrity(self._engine)

    def close(self) -> None:
        """Release pooled connections (the SQLite file can then be moved or deleted)."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """Writes that commit together when the block ends, or not at all if it raises.

        On SQLite the transaction takes the write lock at its first statement and holds it to the
        end, so keep slow work (synthesis, encoding) outside the block."""
        try:
            with self._writers() as session, session.begin():
                yield UnitOfWork(session, self.blobs, self.clock)
        except OperationalError as exc:
            if "full" in str(exc.orig).lower():  # SQLite: "database or disk is full"
                raise StorageFullError() from exc
            raise

    @contextmanager
    def _read(self) -> Iterator[Session]:
        """A session for reading; its transaction sees one consistent snapshot."""
        with self._readers() as session:
            yield session

    # ------------------------------------------------------------------ usage

    def spend_characters(self, count: int, limit: int) -> int:
        """Count `count` more characters spoken today (UTC) and return today's total, or raise QuotaExceeded
        (nothing counted) when the total would pass `limit`. One write transaction: two requests at once
        cannot both slip under the limit."""
        day = self.clock().date().isoformat()
        with self.unit_of_work() as uow:
            row = uow.session.get(UsageDayRow, day)
            spent = row.characters if row is not None else 0
            if spent + count > limit:
                raise QuotaExceeded(f"That is {count:,} characters, and {spent:,} of today's {limit:,} are "
                                    f"spoken already. Shorten the text or come back tomorrow (UTC).")
            if row is None:
                uow.session.add(UsageDayRow(day=day, characters=count))
            else:
                row.characters = spent + count
            return spent + count

    def refund_characters(self, count: int) -> None:
        """Give back characters counted for speech that failed or was cancelled before it was kept."""
        day = self.clock().date().isoformat()
        with self.unit_of_work() as uow:
            row = uow.session.get(UsageDayRow, day)
            if row is not None:
                row.characters = max(0, row.characters - count)

    def characters_today(self) -> int:
        with self._read() as s:
            row = s.get(UsageDayRow, self.clock().date().isoformat())
            return row.characters if row is not None else 0

    # ------------------------------------------------------------------ projects

    def create_project(self, name: str) -> Project:
        try:
            with self.unit_of_work() as uow:
                return uow.create_project(name)
        except IntegrityError as exc:  # another writer took the name between check and insert
            raise ConflictError(project_exists(name.strip())) from exc

    def get_project(self, project_id: int) -> Project:
        with self._read() as s:
            return project_record(require_project(s, project_id))

    def list_projects(self) -> list[Project]:
        """Oldest first, so the default project stays at the top."""
        with self._read() as s:
            rows = s.scalars(select(ProjectRow).order_by(ProjectRow.created_at, ProjectRow.id))
            return [project_record(r) for r in rows]

    def default_project(self) -> Project:
        """The project named "My project", created on first use."""
        with self._read() as s:
            row = s.scalar(select(ProjectRow).where(ProjectRow.name == DEFAULT_PROJECT_NAME))
            if row is not None:
                return project_record(row)
        try:
            return self.create_project(DEFAULT_PROJECT_NAME)
        except ConflictError:  # another thread created it meanwhile
            with self._read() as s:
                row = s.scalar(select(ProjectRow).where(ProjectRow.name == DEFAULT_PROJECT_NAME))
                if row is None:
                    raise
                return project_record(row)

    def rename_project(self, project_id: int, name: str) -> Project:
        try:
            with self.unit_of_work() as uow:
                return uow.rename_project(project_id, name)
        except IntegrityError as exc:  # a project of that name made meanwhile by another writer
            raise ConflictError(project_exists(name.strip())) from exc

    def delete_project(self, project_id: int) -> None:
        """Delete a project with its voices and takes (their audio goes at the next collect_garbage)."""
        with self.unit_of_work() as uow:
            uow.delete_project(project_id)

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
        try:
            with self.unit_of_work() as uow:
                return uow.create_voice(project_id, name, language, clips, consent)
        except IntegrityError as exc:
            raise ConflictError(voice_exists(name.strip())) from exc

    def get_voice(self, voice_id: int) -> Voice:
        with self._read() as s:
            return loaded_voice_record(require_voice(s, voice_id, loaded=True))

    def list_voices(self, project_id: int) -> list[Voice]:
        """Ordered by name, case-insensitively, as a picker shows them."""
        with self._read() as s:
            require_project(s, project_id)
            rows = s.scalars(
                select(VoiceRow)
                .where(VoiceRow.project_id == project_id)
                .order_by(func.lower(VoiceRow.name), VoiceRow.id)
                .options(*voice_loads())
            )
            return [loaded_voice_record(r) for r in rows]

    def rename_voice(self, voice_id: int, name: str) -> Voice:
        try:
            with self.unit_of_work() as uow:
                return uow.rename_voice(voice_id, name)
        except IntegrityError as exc:
            raise ConflictError(voice_exists(name.strip())) from exc

    def delete_voice(self, voice_id: int) -> None:
        """Clips and embeddings go with the voice (ON DELETE CASCADE); its takes stay, with
        voice_id set to None (ON DELETE SET NULL), because a take is still a take."""
        with self.unit_of_work() as uow:
            uow.delete_voice(voice_id)

    def set_clip_transcript(self, voice_id: int, clip_id: int, transcript: str) -> None:
        """Write the words of one of the voice's clips."""
        with self.unit_of_work() as uow:
            uow.set_clip_transcript(voice_id, clip_id, transcript)

    def set_embedding(self, voice_id: int, encoder: str, vector: np.ndarray) -> None:
        """Store (or replace) the voice's embedding from `encoder`, as float32."""
        with self.unit_of_work() as uow:
            uow.set_embedding(voice_id, encoder, vector)

    def get_embedding(self, voice_id: int, encoder: str) -> np.ndarray | None:
        """The stored float32 vector, or None if this encoder has none for the voice."""
        with self._read() as s:
            require_voice(s, voice_id)
            row = embedding_row(s, voice_id, encoder)
            return None if row is None else decode_vector(row.vector, row.dim)

    def set_voice_match(self, voice_id: int, engine_key: str, speaker: str, similarity: float) -> None:
        """Remember the built-in speaker of engine `engine_key` that sounds closest to the voice."""
        with self.unit_of_work() as uow:
            uow.set_voice_match(voice_id, engine_key, speaker, similarity)

    def get_voice_match(self, voice_id: int, engine_key: str) -> tuple[str, float] | None:
        """(speaker, similarity) found before for this voice and engine, or None."""
        with self._read() as s:
            require_voice(s, voice_id)
            row = voice_match_row(s, voice_id, engine_key)
            return None if row is None else (row.speaker, row.similarity)

    # ------------------------------------------------------------------ takes

    def add_take(self, project_id: int, take: NewTake, transcript: NewTranscript | None = None) -> Take:
        """Keep a take. Its voice and parent, if given, must belong to the same project.

        With `transcript`, the take and its transcript are stored in one transaction: an edited
        take is never visible without the words it was edited to."""
        with self.unit_of_work() as uow:
            return uow.add_take(project_id, take, transcript)

    def get_take(self, take_id: int) -> Take:
        with self._read() as s:
            return take_record(require_take(s, take_id))

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
            require_project(s, project_id)
            stmt = filtered_takes(select(TakeRow), project_id, voice_id, kind, starred)
            stmt = stmt.order_by(TakeRow.created_at.desc(), TakeRow.id.desc()).limit(limit).offset(offset)
            return [take_record(r) for r in s.scalars(stmt)]

    def count_takes(
        self,
        project_id: int,
        *,
        voice_id: int | None = None,
        kind: str | None = None,
        starred: bool | None = None,
    ) -> int:
        with self._read() as s:
            require_project(s, project_id)
            stmt = filtered_takes(select(func.count(TakeRow.id)), project_id, voice_id, kind, starred)
            return int(s.scalar(stmt) or 0)

    def set_starred(self, take_id: int, starred: bool) -> Take:
        with self.unit_of_work() as uow:
            return uow.set_starred(take_id, starred)

    def take_children(self, take_id: int) -> list[Take]:
        """The takes made directly from this one (parent_id == take_id), oldest first, as a
        history of edits reads."""
        with self._read() as s:
            require_take(s, take_id)
            rows = s.scalars(
                select(TakeRow)
                .where(TakeRow.parent_id == take_id)
                .order_by(TakeRow.created_at, TakeRow.id)
            )
            return [take_record(r) for r in rows]

    def delete_take(self, take_id: int) -> None:
        """Children keep existing with parent_id None (ON DELETE SET NULL); the transcript goes
        with the take (ON DELETE CASCADE); the audio goes at the next collect_garbage unless
        something else uses the same bytes."""
        with self.unit_of_work() as uow:
            uow.delete_take(take_id)

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
        transcript = NewTranscript(text=text, words=words, engine_id=engine_id, language=language)
        with self.unit_of_work() as uow:
            return uow.set_transcript(take_id, transcript)

    def get_transcript(self, take_id: int) -> TakeTranscript | None:
        """The take's transcript, or None if it has none; NotFoundError if the take is unknown."""
        with self._read() as s:
            require_take(s, take_id)
            row = s.get(TakeTranscriptRow, take_id)
            return None if row is None else transcript_record(row)

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

    def export_project(self, project_id: int, path: str | Path, *,
                       checkpoint: Callable[[], None] | None = None) -> Path:
        """Write the project (voices, consent, clips, embeddings, takes, audio) to one zip. `checkpoint`
        is called between members; what it raises stops the export and leaves no file behind."""
        return archive.export_project(self._readers, self.blobs, project_id, Path(path), checkpoint)

    def import_project(
        self, path: str | Path, name: str | None = None, *, limits: ImportLimits | None = None,
        checkpoint: Callable[[], None] | None = None,
    ) -> Project:
        """Create a new project from an exported zip; nothing is written unless all of it checks
        out, within `limits` (sizes, lengths, an audio check). A name already in use gets a " (2)"
        style suffix. `checkpoint` is called between members; what it raises stops the import with
        nothing written."""
        project_id = archive.import_project(self.unit_of_work, self.blobs, Path(path), name, limits,
                                            checkpoint)
        return self.get_project(project_id)
