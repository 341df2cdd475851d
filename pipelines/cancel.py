"""Cancelling long work: a token the caller cancels, checked by the work between its pieces.

Python cannot stop a thread from outside, so long work (a narration's chunks, an edit's insertions, an archive's
members) calls `checkpoint(cancel)` between pieces; once the token is cancelled (the request was cancelled,
the browser went away, Ctrl-C), the next checkpoint raises `Cancelled` and the work unwinds without storing
anything. `Cancelled` derives from BaseException, as asyncio's CancelledError and KeyboardInterrupt do, so an
`except Exception` meant for a failing model never swallows it, while `finally` and `except BaseException`
cleanups (temp files, open transactions) still run."""
from __future__ import annotations

import threading


class Cancelled(BaseException):
    """The work was cancelled by whoever asked for it; nothing it would have made was kept."""

    def __init__(self, message: str = "Cancelled: the work was stopped and nothing was saved.") -> None:
        super().__init__(message)


CANCELLED = "cancelled"  # the asker said stop: keep nothing
LEFT = "left"  # the asker went away (a closed browser): stop, but work may keep what it already made


class CancelToken:
    """Shared between the asker (who may `cancel()` from any thread) and the work (which checks it)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._reason: str | None = None

    def cancel(self, reason: str = CANCELLED) -> None:
        """Cancel; the first reason given is the one kept."""
        if self._reason is None:
            self._reason = reason
        self._event.set()

    @property
    def reason(self) -> str | None:
        """Why it was cancelled (`CANCELLED` or `LEFT`); None while it is not."""
        return self._reason if self._event.is_set() else None

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise `Cancelled` if the token was cancelled."""
        if self._event.is_set():
            raise Cancelled()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until cancelled (True) or `timeout` seconds pass (False)."""
        return self._event.wait(timeout)


def checkpoint(cancel: CancelToken | None) -> None:
    """Raise `Cancelled` when `cancel` (None: work that cannot be cancelled) was cancelled."""
    if cancel is not None:
        cancel.check()
