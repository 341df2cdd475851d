"""What an edit may cost (issue #17): an edit changes a take, it does not write a new one. Text far longer than the
take's transcript, or more new words than the take has, is refused before anything is planned or spoken."""
from __future__ import annotations

from collections.abc import Sequence

from pipelines.base import Transcript
from pipelines.editing import WordEdit

__all__ = ["check_edit_length", "check_new_words", "MIN_EDIT_CHARS", "EDIT_CHARS_FACTOR", "MIN_NEW_WORDS",
           "NEW_WORDS_FACTOR"]

MIN_EDIT_CHARS = 2_000  # the edited text may be this long, or EDIT_CHARS_FACTOR x the transcript if longer
EDIT_CHARS_FACTOR = 3
MIN_NEW_WORDS = 30  # words inserted or replacing others: this many, or NEW_WORDS_FACTOR x the take's words
NEW_WORDS_FACTOR = 2


def check_edit_length(transcript: Transcript, edited_text: str) -> None:
    """Refuse an edited text out of proportion to the take (before any diff or synthesis is paid for)."""
    limit = max(MIN_EDIT_CHARS, EDIT_CHARS_FACTOR * len(transcript.text or ""))
    if len(edited_text) > limit:
        raise ValueError(f"The edited text has {len(edited_text):,} characters, but this take's transcript has "
                         f"{len(transcript.text or ''):,}; an edit may be at most {limit:,} characters long. "
                         "To record new text, use the Speak tab.")


def check_new_words(transcript: Transcript, edits: Sequence[WordEdit]) -> None:
    """Refuse an edit that would speak more new words than the take has (at least MIN_NEW_WORDS allowed)."""
    added = sum(len(e.new_text.split()) for e in edits if e.new_text)
    limit = max(MIN_NEW_WORDS, NEW_WORDS_FACTOR * len(transcript.words))
    if added > limit:
        raise ValueError(f"This edit would speak {added:,} new words into a take of {len(transcript.words):,} "
                         f"words; an edit may add at most {limit:,}. To record new text, use the Speak tab.")
