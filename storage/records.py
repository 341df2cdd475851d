"""Plain frozen records handed to callers. ORM rows never leave storage/, so nothing outside it can
lazy-load, mutate a session-bound object or keep a connection alive by accident."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

# (text, start, end, confidence): start/end in seconds from the start of the take's audio.
TranscriptWord = tuple[str, float, float, float]


@dataclass(frozen=True)
class Project:
    id: int
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Consent:
    """Who confirmed that the speaker agreed to be cloned, when, and with what words."""

    statement: str
    confirmed_by: str
    confirmed_at: datetime  # timezone-aware


@dataclass(frozen=True)
class Clip:
    id: int
    audio_sha: str
    sample_rate: int
    duration: float
    transcript: str | None
    source_name: str | None
    position: int


@dataclass(frozen=True)
class Voice:
    id: int
    project_id: int
    name: str
    language: str
    consent: Consent
    clips: tuple[Clip, ...]
    embedding_encoders: tuple[str, ...]  # sorted names of encoders with a stored embedding
    created_at: datetime


@dataclass(frozen=True)
class Take:
    id: int
    project_id: int
    kind: str
    text: str | None
    voice_id: int | None
    engine_id: str | None
    engine_revision: str | None
    parameters: dict[str, Any]
    seed: int | None
    parent_id: int | None
    scores: dict[str, Any]
    audio_sha: str
    duration: float
    sample_rate: int
    created_at: datetime
    starred: bool


@dataclass(frozen=True)
class TakeTranscript:
    """What was said in a take, word by word with times, so the take can be edited by its text."""

    take_id: int
    engine_id: str | None  # the ASR engine that heard it, or None (e.g. estimated by an edit)
    language: str | None
    text: str
    words: tuple[TranscriptWord, ...]  # in order of start
    created_at: datetime


@dataclass(frozen=True)
class NewClip:
    """A reference clip to store with a new voice; `audio` is the encoded file (FLAC) as bytes."""

    audio: bytes
    sample_rate: int
    duration: float
    transcript: str | None = None
    source_name: str | None = None


@dataclass(frozen=True)
class NewTake:
    """A generated or edited piece of audio to keep; `audio` is the encoded file as bytes."""

    kind: str
    audio: bytes
    sample_rate: int
    duration: float
    text: str | None = None
    voice_id: int | None = None
    engine_id: str | None = None
    engine_revision: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    parent_id: int | None = None
    scores: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewTranscript:
    """A transcript to keep with a new take (Store.add_take), in the same transaction.

    `words` items are (text, start, end, confidence) tuples, or any objects with those four
    attributes (such as pipelines.base.Word; storage does not import pipelines)."""

    text: str
    words: Sequence[Any]
    engine_id: str | None = None
    language: str | None = None


class Unset(Enum):
    """The type of UNSET: "this field was not given", so that None can mean "clear it"."""

    UNSET = "unset"


UNSET = Unset.UNSET


@dataclass(frozen=True)
class Script:
    """A narration document; its lines are `ScriptSegment`s. `settings` (pauses, target, engine...)
    belong to the narration use case: storage keeps them as given."""

    id: int
    project_id: int
    name: str
    source_format: str  # "text" | "markdown" | "srt"
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ScriptSegment:
    """One line of a script. `take_hash` is the content hash its chosen take was generated from (None
    without a chosen take): a line whose current hash differs needs a new take."""

    id: int
    script_id: int
    position: int  # 0-based, contiguous within the script
    section: str | None  # the chapter or heading it falls under
    speaker: str | None  # the speaker tag as written, e.g. "NARRATOR"
    voice_id: int | None
    engine_id: str | None
    text: str
    pause_after_s: float
    chosen_take_id: int | None
    take_hash: str | None
    locked: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class NewSegment:
    """A line to store in a script (Store.create_script, Store.insert_segment)."""

    text: str
    section: str | None = None
    speaker: str | None = None
    voice_id: int | None = None
    engine_id: str | None = None
    pause_after_s: float = 0.0


@dataclass(frozen=True)
class LexiconEntry:
    """How a word is said in a project: engines read `respelling` where the text has `word` (any case)."""

    id: int
    project_id: int
    word: str
    respelling: str
    created_at: datetime
    updated_at: datetime
