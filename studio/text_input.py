"""Text a person (or an API client) typed, before any use case relies on it: a NUL character cannot be
stored or passed to a file name or an engine (Python says "embedded null character"), so it is refused
with a sentence saying where it is; and pause marks are taken out before the language of a script is
guessed, so `[pause 2s]` is not read as a foreign word."""
from __future__ import annotations

from pipelines.narration import split


def clean_text(value: object, what: str) -> str:
    """`value` if it is text without NUL characters; a ValueError naming `what` otherwise."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, got {type(value).__name__}.")
    at = value.find("\x00")
    if at >= 0:
        raise ValueError(f"{what} contains a NUL character (at position {at + 1}), which text cannot hold; "
                         "remove it and try again.")
    return value


def spoken_words(script: str) -> str:
    """The words of a script without its pause marks (each checked: a mark that is not understood or asks
    for too long a pause is a ValueError here, before anything is synthesised)."""
    return " ".join(segment.text for segment in split(script) if segment.kind == "speech")
