"""A/B compare: two takes side by side, what made them and how they measure, the better one marked where
"better" has a direction (similarity up, errors down)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage import Store, Take

from .ownership import take_in

_HIGHER_IS_BETTER = ("similarity", "voice_match_similarity")
_LOWER_IS_BETTER = ("wer", "chunks_failed", "clipping_ratio", "longest_silence_s")


@dataclass(frozen=True)
class ComparisonRow:
    """One line of an A/B comparison; `better` is "A", "B" or "" (equal, not comparable, or no direction)."""

    label: str
    a: Any
    b: Any
    better: str = ""


@dataclass(frozen=True)
class TakeComparison:
    a: Take
    b: Take
    rows: tuple[ComparisonRow, ...]


class Compare:
    def __init__(self, store: Store) -> None:
        self.store = store

    def takes(self, a_id: int, b_id: int, *, project_id: int | None = None) -> TakeComparison:
        """Two takes side by side: what made them (engine, revision, speaker, seed, speed) and how they
        measure (duration and every score either has), with the better one marked where "better" is clear."""
        a, b = take_in(self.store, a_id, project_id), take_in(self.store, b_id, project_id)
        rows = [ComparisonRow("take", f"#{a.id} {a.kind}", f"#{b.id} {b.kind}"),
                ComparisonRow("engine", a.engine_id, b.engine_id),
                ComparisonRow("engine revision", a.engine_revision, b.engine_revision),
                ComparisonRow("speaker", a.parameters.get("speaker"), b.parameters.get("speaker")),
                ComparisonRow("seed", a.seed, b.seed),
                ComparisonRow("speed", a.parameters.get("speed"), b.parameters.get("speed")),
                ComparisonRow("quality gate", a.parameters.get("gate"), b.parameters.get("gate")),
                ComparisonRow("seconds", round(a.duration, 2), round(b.duration, 2)),
                ComparisonRow("made from", origin(a), origin(b))]
        for key in [*a.scores, *(k for k in b.scores if k not in a.scores)]:
            x, y = a.scores.get(key), b.scores.get(key)
            if isinstance(x, (dict, list)) or isinstance(y, (dict, list)) or key == "transcript":
                continue
            rows.append(ComparisonRow(key.replace("_", " "), _rounded(x), _rounded(y), better(key, x, y)))
        return TakeComparison(a, b, tuple(rows))


def origin(take: Take) -> str:
    """Where a take came from, in words: a fixed chunk, a swapped attempt, its parent, or nothing."""
    p = take.parameters
    if "regenerated" in p:
        return f"#{take.parent_id}, chunk {p['regenerated']['chunk'] + 1} spoken again"
    if "chosen" in p:
        return f"#{take.parent_id}, chunk {p['chosen']['chunk'] + 1} from attempt #{p['chosen']['attempt_take']}"
    return f"#{take.parent_id}" if take.parent_id is not None else "—"


def better(key: str, a: Any, b: Any) -> str:
    """Which of two measures is better, for measures that have a direction (similarity up, errors down)."""
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b)) or a == b:
        return ""
    if key.startswith(_HIGHER_IS_BETTER) or key.endswith("similarity"):
        return "A" if a > b else "B"
    if key.startswith(_LOWER_IS_BETTER):
        return "A" if a < b else "B"
    return ""


def _rounded(value: Any) -> Any:
    return round(value, 3) if isinstance(value, float) else value
