"""Phonemes written into text: IPA between slashes at word edges ("a /ˈdʒɪf/ file"), as a pronunciation
lexicon puts them in for engines that read phonemes (Piper, Kokoro). A slash inside a word ("and/or", "1/2")
is not one."""
from __future__ import annotations

import re

__all__ = ["phoneme_parts"]

_PHONEME_SPAN = re.compile(r"(?<!\S)/([^/\s][^/]*?)/(?=$|[\s.,;:!?)\]\"'’”…\-])")


def phoneme_parts(text: str) -> list[tuple[str, bool]]:
    """`text` as (piece, is_phonemes) in order: "a /ˈdʒɪf/ file" -> [("a ", False), ("ˈdʒɪf", True),
    (" file", False)]; text without phoneme spans is one plain piece. For engines that read phonemes."""
    parts: list[tuple[str, bool]] = []
    at = 0
    for match in _PHONEME_SPAN.finditer(text):
        if not any(c.isalpha() for c in match.group(1)):
            continue
        if match.start() > at:
            parts.append((text[at:match.start()], False))
        parts.append((match.group(1), True))
        at = match.end()
    if at < len(text) or not parts:
        parts.append((text[at:], False))
    return parts


