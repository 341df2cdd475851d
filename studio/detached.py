"""Long work on a thread of its own, so the one who asked for it may stop listening without stopping it.

A narration streamed to a browser used to run inside the browser's request: when the page was closed, the
server closed the stream and the narration died with it, after all the work, before it was stored. Here the
work runs on its own thread and the caller only reads what it produces; a caller that stops reading (a
closed page, a broken pipe) leaves the work to finish and store its result, which the Takes tab then lists.
Progress reports travel with the results and are passed to the caller's callback in the caller's thread, so
a UI framework's progress object is only ever touched by its own request.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from .media import Progress

__all__ = ["Detached"]

T = TypeVar("T")
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Step:
    fraction: float
    message: str


class _End:
    pass


class Detached(Generic[T]):
    """An iterator over what `work(step)` yields, run on its own (non-daemon) thread, started at once.

    `work` receives a progress callback to call from its thread; the reports reach `progress` when the
    caller reads. Iterating raises the work's exception, if any, after the items made before it. `close()`
    (or dropping the iterator) only stops reading; `wait()` returns once the work has ended."""

    def __init__(self, work: Callable[[Progress], Iterator[T]], progress: Progress | None = None,
                 name: str = "retake-work") -> None:
        self._items: queue.SimpleQueue[T | _Step | _End | BaseException] = queue.SimpleQueue()
        self._progress = progress
        self._closed = False
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(work,), name=name, daemon=False)
        self._thread.start()

    def __iter__(self) -> Detached[T]:
        return self

    def __next__(self) -> T:
        while not self._closed:
            item = self._items.get()
            if isinstance(item, _Step):
                if self._progress is not None:
                    self._progress(item.fraction, item.message)
                continue
            if isinstance(item, _End):
                self._closed = True
                break
            if isinstance(item, BaseException):
                self._closed = True
                raise item
            return item
        raise StopIteration

    def close(self) -> None:
        """Stop reading; the work goes on to its end (and stores what it makes)."""
        self._closed = True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the work has ended (True), or `timeout` seconds passed (False)."""
        return self._finished.wait(timeout)

    def _run(self, work: Callable[[Progress], Iterator[T]]) -> None:
        try:
            for item in work(lambda fraction, message: self._items.put(_Step(fraction, message))):
                self._items.put(item)
        except BaseException as error:  # raised to the reader; logged, since the reader may be gone
            if self._closed:
                _log.exception("work on thread %s failed after its reader left", self._thread.name)
            self._items.put(error)
        else:
            self._items.put(_End())
        finally:
            self._finished.set()
