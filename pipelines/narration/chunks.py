"""What a narration produces: finished chunks, and the events that report them as they happen."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from ..audio import Audio
from ..scoring import Attempt, Scores

__all__ = ["NarrationChunk", "NarrationEvent", "EventKind", "in_order"]

EventKind = Literal["chunk", "scored", "replaced"]


@dataclass(frozen=True, eq=False)
class NarrationChunk:
    """A chunk: `audio` is lead silence + loudness-matched speech + the pause after it, ready to play or
    append. `attempts` holds every try so far (one without a gate); `seed` is the kept one's."""

    index: int
    text: str
    spoken: str
    audio: Audio
    seed: int
    base_seed: int
    attempts: tuple[Attempt, ...]
    chosen: int  # index into attempts
    lead_s: float
    pause_s: float
    speech_s: float  # duration of the speech between lead and pause

    @property
    def scores(self) -> Scores | None:
        return self.attempts[self.chosen].scores

    @property
    def failures(self) -> tuple[str, ...]:
        return self.attempts[self.chosen].failures

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True, eq=False)
class NarrationEvent:
    """One step of a narration. "chunk": chunk `index` was just synthesised (its first attempt): play it.
    Without a gate that chunk is already final. With one it is not judged yet (`final` False), and exactly one
    later event makes it final: "scored" (the first attempt is kept: same audio, now with its scores) or
    "replaced" (a retry was better: the chunk's audio changed, the stored take gets the new one)."""

    kind: EventKind
    chunk: NarrationChunk
    final: bool

    @property
    def index(self) -> int:
        return self.chunk.index


def in_order(events: Iterable[NarrationEvent]) -> Iterator[NarrationChunk]:
    """The final chunks of a stream of events, in chunk order, each as soon as it and those before it are."""
    waiting: dict[int, NarrationChunk] = {}
    next_index = 0
    for event in events:
        if event.final:
            waiting[event.index] = event.chunk
        while next_index in waiting:
            yield waiting.pop(next_index)
            next_index += 1
