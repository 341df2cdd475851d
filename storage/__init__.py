"""Retake's persistence: projects, voices (with consent), takes with their transcripts, narration scripts
and audio.

Callers use `Store` (several writes that belong together: `Store.unit_of_work()`) and get frozen
records back; nothing here imports pipelines, Gradio or model code, and audio is kept as the
encoded bytes it is handed."""
from .archive.limits import ImportLimits
from .blobs import BlobStore
from .errors import ConflictError, NotFoundError, QuotaExceeded, StorageError, StorageFullError
from .integrity import DatabaseDamaged
from .records import (
    Clip,
    UNSET,
    Consent,
    LexiconEntry,
    NewClip,
    NewSegment,
    NewTake,
    NewTranscript,
    Project,
    Script,
    ScriptSegment,
    Take,
    TakeTranscript,
    TranscriptWord,
    Voice,
)
from .store import DEFAULT_PROJECT_NAME, Store
from .unit_of_work import UnitOfWork

__all__ = [
    "DEFAULT_PROJECT_NAME",
    "BlobStore",
    "Clip",
    "ConflictError",
    "DatabaseDamaged",
    "ImportLimits",
    "Consent",
    "LexiconEntry",
    "NewClip",
    "NewSegment",
    "NewTake",
    "NewTranscript",
    "NotFoundError",
    "QuotaExceeded",
    "Project",
    "Script",
    "ScriptSegment",
    "StorageError",
    "StorageFullError",
    "Store",
    "Take",
    "TakeTranscript",
    "TranscriptWord",
    "UNSET",
    "UnitOfWork",
    "Voice",
]
