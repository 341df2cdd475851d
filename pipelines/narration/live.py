"""A gated narration that never stalls the listener.

Each chunk is handed to the player as soon as it is synthesised; the gate scores it on a thread of its own
(`ScoringWorker`) while the next chunks are spoken. A chunk that fails is spoken again (a retry) between new
chunks, but only while the audio made so far is at least `RETRY_LEAD_S` ahead of a player that started with
the first chunk, so retries never starve playback; what is left is retried after the last new chunk. When a
chunk is final (passed, or out of attempts) an event says whether its first attempt was kept ("scored") or a
retry replaced it ("replaced"). Which attempts exist and which one is kept do not depend on that timing, so a
seeded narration gives the same take however busy the machine is.
"""
from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator

from ..scoring import Attempt
from .chunks import NarrationChunk, NarrationEvent
from .planning import PlannedChunk

__all__ = ["live_events", "ScoringWorker", "RETRY_LEAD_S"]

RETRY_LEAD_S = 2.0  # retries wait while the player is less than this many seconds behind the speech made

MakeAttempt = Callable[[PlannedChunk, int, "Attempt | None"], "Attempt | None"]
Judge = Callable[[PlannedChunk, Attempt], Attempt]
Finish = Callable[[PlannedChunk, list[Attempt]], NarrationChunk]
Judged = tuple[PlannedChunk, int, Attempt]


class ScoringWorker:
    """Judges attempts on its own thread, in batches: each time it wakes it takes every attempt waiting, so
    the gate keeps up with a fast engine without a thread per chunk. Results come back in submission order;
    an exception in the gate is raised by `results` in the caller's thread."""

    def __init__(self, judge: Judge) -> None:
        self._judge = judge
        self._todo: queue.SimpleQueue[tuple[PlannedChunk, int, Attempt] | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[Judged | BaseException] = queue.SimpleQueue()
        self.pending = 0
        self.batches: list[int] = []  # size of each batch taken (for benchmarks and tests)
        self._thread = threading.Thread(target=self._work, name="retake-gate", daemon=True)
        self._thread.start()

    def submit(self, planned: PlannedChunk, k: int, attempt: Attempt) -> None:
        self.pending += 1
        self._todo.put((planned, k, attempt))

    def results(self, block: bool) -> list[Judged]:
        """Judged attempts ready now; with `block`, waits for at least one (when any is pending)."""
        found: list[Judged] = []
        while self.pending:
            try:
                item = self._done.get(block=block and not found)
            except queue.Empty:
                break
            if isinstance(item, BaseException):
                self.pending = 0
                raise item
            self.pending -= 1
            found.append(item)
        return found

    def close(self) -> None:
        """Stop after the batch in hand (a narration abandoned midway does not score the rest)."""
        self._todo.put(None)

    def _work(self) -> None:
        while True:
            batch = [self._todo.get()]
            while True:
                try:
                    batch.append(self._todo.get_nowait())
                except queue.Empty:
                    break
            work = [item for item in batch if item is not None]
            self.batches.append(len(work))
            for planned, k, attempt in work:
                try:
                    self._done.put((planned, k, self._judge(planned, attempt)))
                except BaseException as error:  # handed to the narration's thread, which raises it
                    self._done.put(error)
                    return
            if len(work) < len(batch):
                return


def live_events(plan: list[PlannedChunk], attempt: MakeAttempt, judge: Judge, finish: Finish,
                max_attempts: int) -> Iterator[NarrationEvent]:
    """The events of a gated narration of `plan` (see the module doc). `attempt(planned, k, previous)` makes
    attempt k (None: no different attempt can be made), `judge` scores one, `finish` makes the chunk of a
    chunk's attempts; each chunk gets at most `max_attempts` attempts."""
    worker = ScoringWorker(judge)
    attempts: dict[int, list[Attempt]] = {}
    retries: deque[tuple[PlannedChunk, int]] = deque()
    clock = _PlayerClock()

    def settle(results: list[Judged]) -> Iterator[NarrationEvent]:
        for planned, k, judged in results:
            tries = attempts[planned.index]
            tries[k] = judged
            if judged.failures and k + 1 < max_attempts:
                retries.append((planned, k + 1))
            else:
                yield final(planned)

    def final(planned: PlannedChunk) -> NarrationEvent:
        chunk = finish(planned, attempts[planned.index])
        return NarrationEvent("scored" if chunk.chosen == 0 else "replaced", chunk, final=True)

    def retry() -> Iterator[NarrationEvent]:
        planned, k = retries.popleft()
        tries = attempts[planned.index]
        made = attempt(planned, k, tries[-1])
        if made is None:  # a deterministic engine with nothing left to vary: keep the best so far
            yield final(planned)
            return
        tries.append(made)
        worker.submit(planned, k, made)

    try:
        for planned in plan:  # one checkpoint per chunk: a cancel token would be checked here
            yield from settle(worker.results(block=False))
            while retries and clock.lead() >= RETRY_LEAD_S:
                yield from retry()
            first = attempt(planned, 0, None)
            assert first is not None  # the first attempt is always made
            attempts[planned.index] = [first]
            worker.submit(planned, 0, first)
            chunk = finish(planned, [first])
            clock.produced(chunk.audio.duration)
            yield NarrationEvent("chunk", chunk, final=False)
        while retries or worker.pending:
            if retries:
                yield from retry()
            else:
                yield from settle(worker.results(block=True))
    finally:
        worker.close()


class _PlayerClock:
    """How far the speech made is ahead of a player that started playing the first chunk when it came."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.audio_s = 0.0

    def produced(self, seconds: float) -> None:
        if self.started is None:
            self.started = time.perf_counter()
        self.audio_s += seconds

    def lead(self) -> float:
        return self.audio_s - (time.perf_counter() - self.started) if self.started is not None else 0.0
