"""What the person editing reads about an edit's seams: the closed-loop check's verdicts (pipelines.editing.check),
and where kept words were said again by the engine rather than kept from the recording."""
from __future__ import annotations

from pipelines.editing import EditResult

__all__ = ["seam_notices"]


def seam_notices(result: EditResult) -> list[str]:
    """A line per edit not heard as intended, or one line saying all were; and a line per edit whose kept
    neighbouring words are re-spoken (they are no longer the recording's own)."""
    checked = [(e, e.check) for e in result.edits if e.check is not None]
    if not checked:
        return []
    faults = [check.message(f"{e.kind.capitalize()} “{e.old_text or e.new_text}”")
              for e, check in checked if not check.ok]
    respoken = [f"“{e.new_text}” is said whole: the new words were heard only when said with the kept word "
                "either side, which is re-spoken too. Listen to it." if check.cuts == "neighbours" else
                f"“{e.old_text}” became “{e.new_text}” said again: no cut in the recording left these words "
                "clean, so the engine says them without the deleted ones. Listen to it."
                for e, check in checked if check.kept_words_said_again]
    if faults:
        return faults + respoken
    return [f"Seam check: all {len(checked)} edit(s) heard as intended by the recogniser.", *respoken]
