"""The values a transcript edit passes around: what the speech engine is asked to say, each edit as made (with
where it lies before and after, its provenance and its check), and the edited result."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..audio import Audio
from ..base import Word
from .check import SeamCheck
from .splice import SpliceResult

__all__ = ["SynthesisRequest", "Synthesize", "AppliedEdit", "EditResult", "heard_score"]


@dataclass(frozen=True)
class SynthesisRequest:
    """What the engine is asked to say, with what it needs to say it like the recording."""

    text: str  # the words to say
    before: str  # up to ~10 original words before the span (context for prompt-taking engines)
    after: str  # up to ~10 words after
    prompt: Audio  # 3-10 s of the recording near the edit (a voice prompt cut from the recording)
    prompt_text: str  # its words
    words_per_second: float  # the speaker's local rate
    attempt: int = 0  # >0: a later try after the words were not heard (editor.SPEECH_TRIES; said another way)


Synthesize = Callable[[SynthesisRequest], tuple[Audio, dict]]  # audio + provenance {"engine_id", "seed", ...}


@dataclass(frozen=True)
class AppliedEdit:
    """One edit as made: what changed, where it was in the original and where its result lies now."""

    kind: str
    old_text: str
    new_text: str
    start: float  # span in the original (s)
    end: float
    out_start: float  # where the result of this edit lies in the new audio (s)
    out_end: float
    provenance: dict = field(default_factory=dict)  # engine_id, seed, ... ({} for deletions)
    check: SeamCheck | None = None  # what the recogniser heard there (None: not checked)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "old_text": self.old_text, "new_text": self.new_text, "start": self.start,
                "end": self.end, "out_start": self.out_start, "out_end": self.out_end,
                "provenance": dict(self.provenance), "check": self.check.to_dict() if self.check else None}


def heard_score(applied: Sequence[AppliedEdit]) -> int:
    """How well edits' new words are heard, to choose between tries: clean counts most, heard with a word
    more beside them ("extra") next, not heard nothing."""
    return sum({"clean": 2, "extra": 1}.get(a.check.verdict, 0) for a in applied if a.check and a.kind != "delete")


@dataclass(frozen=True, eq=False)
class EditResult:
    """The edited audio, the edits made, every seam, and the result's transcript with estimated times
    (kept words shifted, inserted words spread over their span)."""

    audio: Audio
    edits: tuple[AppliedEdit, ...]
    seams: tuple[float, ...]
    words: tuple[Word, ...]
    text: str
    splice: SpliceResult | None = None  # the splice record (offsets, spans) the result came from

    @property
    def offsets(self) -> tuple[tuple[float, float], ...]:
        """(original_time, shift) pieces, as `SpliceResult.offsets`."""
        return self.splice.offsets if self.splice is not None else ((0.0, 0.0),)

    def map_time(self, t: float) -> float | None:
        """Where original time `t` is in the result; None if an edit removed it."""
        return self.splice.map_time(t) if self.splice is not None else t
