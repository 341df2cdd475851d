"""SQLAlchemy ORM tables (private to storage/). The Alembic revisions in storage/migrations must
describe exactly these tables; tests/integration/test_migrations.py compares the two.

New concepts (narration scripts and their lines pointing at takes, 0005) arrive as new tables in a
new revision (as take_transcripts did in 0002); takes.kind is free text so new kinds of take need no
migration."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Deterministic constraint names: SQLite batch migrations can only alter named constraints.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

NAME_MAX = 200


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out on every backend. SQLite keeps no offset and hands back naive
    values; PostgreSQL hands back the session's zone. Naive input is refused, not guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"timestamp {value!r} has no timezone; storage keeps UTC-aware times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Ids are never handed out twice (SQLite AUTOINCREMENT; PostgreSQL sequences already behave so): a person
# or API caller holding the id of a deleted project, voice or take must get "not found", never another one.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


class ProjectRow(Base):
    __tablename__ = "projects"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class VoiceRow(Base):
    __tablename__ = "voices"
    __table_args__ = (UniqueConstraint("project_id", "name"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    language: Mapped[str] = mapped_column(String(32))
    consent_statement: Mapped[str] = mapped_column(Text)
    consent_by: Mapped[str] = mapped_column(String(NAME_MAX))
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # Deletes are left to the database (ON DELETE CASCADE); "raise" keeps lazy loads out.
    clips: Mapped[list[ClipRow]] = relationship(
        order_by="ClipRow.position", passive_deletes=True, lazy="raise"
    )
    embeddings: Mapped[list[EmbeddingRow]] = relationship(
        order_by="EmbeddingRow.encoder", passive_deletes=True, lazy="raise"
    )


class ClipRow(Base):
    __tablename__ = "voice_clips"
    __table_args__ = (UniqueConstraint("voice_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    voice_id: Mapped[int] = mapped_column(ForeignKey("voices.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    audio_sha: Mapped[str] = mapped_column(String(64))
    sample_rate: Mapped[int] = mapped_column(Integer)
    duration: Mapped[float] = mapped_column(Float)
    transcript: Mapped[str | None] = mapped_column(Text)
    source_name: Mapped[str | None] = mapped_column(String(255))


class EmbeddingRow(Base):
    __tablename__ = "speaker_embeddings"
    __table_args__ = (UniqueConstraint("voice_id", "encoder"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    voice_id: Mapped[int] = mapped_column(ForeignKey("voices.id", ondelete="CASCADE"))
    encoder: Mapped[str] = mapped_column(String(100))
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # little-endian float32, `dim` values
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class VoiceMatchRow(Base):
    """The built-in speaker of a fixed-voice engine that sounds closest to a voice: found once (a probe
    sentence per built-in speaker), then read. Keyed by the engine's weights so new weights look again."""
    __tablename__ = "voice_matches"
    __table_args__ = (UniqueConstraint("voice_id", "engine_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    voice_id: Mapped[int] = mapped_column(ForeignKey("voices.id", ondelete="CASCADE"))
    engine_key: Mapped[str] = mapped_column(String(300))  # engine id and weights revision
    speaker: Mapped[str] = mapped_column(String(NAME_MAX))
    similarity: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TakeRow(Base):
    __tablename__ = "takes"
    # Every listing is "newest first" (created_at DESC, id DESC), so each filter gets an index
    # that ends in (created_at, id) and SQLite can walk it backwards without sorting.
    __table_args__ = (
        Index("ix_takes_project_created", "project_id", "created_at", "id"),
        Index("ix_takes_voice_project_created", "voice_id", "project_id", "created_at", "id"),
        Index("ix_takes_project_kind_created", "project_id", "kind", "created_at", "id"),
        Index("ix_takes_project_starred_created", "project_id", "starred", "created_at", "id"),
        Index("ix_takes_parent_id", "parent_id"),  # ON DELETE SET NULL looks children up
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)
    voice_id: Mapped[int | None] = mapped_column(ForeignKey("voices.id", ondelete="SET NULL"))
    engine_id: Mapped[str | None] = mapped_column(String(100))
    engine_revision: Mapped[str | None] = mapped_column(String(100))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    seed: Mapped[int | None] = mapped_column(BigInteger)  # seeds can exceed 32 bits
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("takes.id", ondelete="SET NULL"))
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    audio_sha: Mapped[str] = mapped_column(String(64))
    duration: Mapped[float] = mapped_column(Float)
    sample_rate: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    starred: Mapped[bool] = mapped_column(Boolean, default=False)


class TakeTranscriptRow(Base):
    """What was said in a take, with word timings, so it can be edited by text. One per take
    (the newest wins): a take's audio never changes, so an older transcript is only a worse one."""

    __tablename__ = "take_transcripts"

    take_id: Mapped[int] = mapped_column(ForeignKey("takes.id", ondelete="CASCADE"), primary_key=True)
    engine_id: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    # [[text, start, end, confidence], ...]: one JSON value instead of a row per word, because a
    # transcript is always read and replaced whole and an hour of speech is ~10k words.
    words: Mapped[list[list[Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# ---------------------------------------------------------------- narration scripts (revision 0005)

SCRIPT_FORMATS = ("text", "markdown", "srt")


class ScriptRow(Base):
    """A narration document: many lines (segments), fixed one by one and rendered to one file."""

    __tablename__ = "scripts"
    __table_args__ = (Index("ix_scripts_project_id", "project_id"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    source_format: Mapped[str] = mapped_column(String(16))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the use case's, not read here
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SegmentRow(Base):
    """One line of a script; positions are 0-based and contiguous within the script."""

    __tablename__ = "script_segments"
    __table_args__ = (
        UniqueConstraint("script_id", "position"),
        Index("ix_script_segments_voice_id", "voice_id"),  # ON DELETE SET NULL looks them up
        Index("ix_script_segments_chosen_take_id", "chosen_take_id"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    script_id: Mapped[int] = mapped_column(ForeignKey("scripts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    section: Mapped[str | None] = mapped_column(String(300))
    speaker: Mapped[str | None] = mapped_column(String(100))
    voice_id: Mapped[int | None] = mapped_column(ForeignKey("voices.id", ondelete="SET NULL"))
    engine_id: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    pause_after_s: Mapped[float] = mapped_column(Float)
    chosen_take_id: Mapped[int | None] = mapped_column(ForeignKey("takes.id", ondelete="SET NULL"))
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SegmentTakeRow(Base):
    """A take made for (or picked for) a segment, with the hash of what it was generated from, so a
    changed line shows which takes no longer match it."""

    __tablename__ = "segment_takes"
    __table_args__ = (Index("ix_segment_takes_take_id", "take_id"),)

    segment_id: Mapped[int] = mapped_column(
        ForeignKey("script_segments.id", ondelete="CASCADE"), primary_key=True
    )
    take_id: Mapped[int] = mapped_column(ForeignKey("takes.id", ondelete="CASCADE"), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LexiconRow(Base):
    """How to say a word in this project (a respelling the engines read instead); one per word,
    whatever its case, hence the lowercased key."""

    __tablename__ = "lexicon_entries"
    __table_args__ = (UniqueConstraint("project_id", "word_key"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    word: Mapped[str] = mapped_column(String(100))
    word_key: Mapped[str] = mapped_column(String(100))
    respelling: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UsageDayRow(Base):
    """Characters spoken on one (UTC) day: what a per-user daily quota counts. Kept apart from takes, so
    deleting takes does not give the characters back."""

    __tablename__ = "usage_days"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD
    characters: Mapped[int] = mapped_column(Integer, default=0)
