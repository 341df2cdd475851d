"""Per-user limits on a shared server: characters spoken a day, and the space a user's audio takes (the store's
blob limit, storage.QuotaExceeded). A local studio (no signed-in owner) has neither."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from storage import Store

from .config import Settings


class Quotas:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.per_user = settings.owner is not None
        self.characters_per_day = settings.quota_chars_per_day
        self.storage_mb = settings.quota_storage_mb

    def spend(self, characters: int) -> Callable[[], None]:
        """Count characters about to be spoken (storage.QuotaExceeded, nothing counted, past the daily limit);
        return the refund to call if the speech is not kept after all."""
        if not self.per_user or characters <= 0:
            return lambda: None
        self.store.spend_characters(characters, self.characters_per_day)
        return lambda: self.store.refund_characters(characters)

    @contextmanager
    def charged(self, characters: int) -> Iterator[None]:
        """`spend` around a block that speaks them: an exception in it (nothing kept) gives them back."""
        refund = self.spend(characters)
        try:
            yield
        except BaseException:
            refund()
            raise

    def summary(self) -> str:
        """One line for the header of a shared server: what is used of each limit."""
        if not self.per_user:
            return ""
        used_mb = self.store.blobs.used_bytes() / (1024 * 1024)
        return (f"Today {self.store.characters_today():,} of {self.characters_per_day:,} characters spoken · "
                f"{used_mb:,.1f} of {self.storage_mb:,} MB of audio kept.")


def refund_on_failure(events: Iterator, refund: Callable[[], None]) -> Iterator:
    """Pass `events` through; if they end in an error (nothing stored), give the characters back."""
    try:
        yield from events
    except BaseException:
        refund()
        raise
