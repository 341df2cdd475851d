"""Storage errors. Callers (the studio) turn these into user-facing messages, so each message is
written for a person: "voice 12 not found", not a SQL error."""
from __future__ import annotations


class StorageError(Exception):
    """Anything storage refuses or cannot do; base class so callers can catch one type."""


class NotFoundError(StorageError, LookupError):
    """The id (or blob) asked for does not exist (any more)."""


class ConflictError(StorageError):
    """The write would break a uniqueness rule, e.g. two voices with one name in a project."""


class StorageFullError(StorageError, OSError):
    """The disk (or the database's quota) is full; nothing of the write was kept."""

    def __init__(self) -> None:
        super().__init__("The disk is full: nothing was saved. Free some space and try again.")


class QuotaExceeded(StorageError):
    """A per-user limit (storage space, characters spoken a day) would be passed; nothing was kept."""
