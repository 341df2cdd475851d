"""A pronunciation lexicon: whole-word respellings applied to script text before an engine speaks it.

Engines mispronounce names, acronyms and jargon ("GIF", "Nguyen", "Dr."); a lexicon maps each such word (or
phrase) to a respelling the engine reads right ("jif", "win", "Doctor"). Matching is whole-word and
case-insensitive, longest entry first, so "New York City" wins over "New York". A respelling wrapped in
slashes, like `/ˈdʒɪf/`, is phonemes: `apply_lexicon(..., phonemes=True)` puts it in verbatim for engines that
take phonemes; every other engine keeps the plain word (see `is_phonemes`).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Mapping

__all__ = ["apply_lexicon", "used_entries", "check_entry", "is_phonemes", "normal_word", "MAX_WORD_CHARS",
           "MAX_RESPELLING_CHARS"]

MAX_WORD_CHARS = 100
MAX_RESPELLING_CHARS = 200

# A word may hold apostrophes and hyphens ("don't", "GIF-based"): an entry must not match part of one.
_BEFORE = r"(?<!\w)(?<!\w['’\-])"
# An optional possessive ("Nguyen's") keeps its ending; nothing word-like may follow.
_AFTER = r"(?P<poss>['’]s)?(?!\w)(?!['’\-]\w)"
_SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’)\]»]*$")
_Entries = tuple[tuple[str, str], ...]


def normal_word(word: str) -> str:
    """The form entries are compared in: whitespace runs as one space, lower case."""
    return " ".join(word.split()).lower()


def is_phonemes(respelling: str) -> bool:
    """Whether a respelling is phonemes (`/ˈdʒɪf/`) rather than letters for the engine to read."""
    text = respelling.strip()
    return len(text) > 2 and text[0] == text[-1] == "/" and any(c.isalpha() for c in text)


def check_entry(word: str, respelling: str) -> tuple[str, str]:
    """A lexicon entry cleaned up (whitespace collapsed), or ValueError saying what is wrong with it."""
    if not isinstance(word, str) or not isinstance(respelling, str):
        raise ValueError("A lexicon entry is a word and its respelling, both text.")
    word, respelling = " ".join(word.split()), " ".join(respelling.split())
    if not word:
        raise ValueError("The word is empty: type the word as it is written in the script.")
    if len(word) > MAX_WORD_CHARS:
        raise ValueError(f"The word {word[:30]!r}… is {len(word)} characters long; at most {MAX_WORD_CHARS}.")
    if not re.search(r"\w", word):
        raise ValueError(f"The word {word!r} has no letters or digits, so it can never match.")
    if not respelling:
        raise ValueError(f"The respelling of {word!r} is empty: type how it should sound.")
    if len(respelling) > MAX_RESPELLING_CHARS:
        raise ValueError(f"The respelling of {word!r} is {len(respelling)} characters long; "
                         f"at most {MAX_RESPELLING_CHARS}.")
    if not any(c.isalpha() for c in respelling):
        raise ValueError(f"The respelling of {word!r} ({respelling!r}) has no letters to speak.")
    return word, respelling


@lru_cache(maxsize=32)
def _prepared(entries: _Entries) -> tuple[re.Pattern[str] | None, dict[str, tuple[str, str, str]]]:
    """One pattern for the whole lexicon (longest entries first) and normal word -> (key, value, respelling).
    Two entries differing only in case or spacing: the later one wins."""
    lookup: dict[str, tuple[str, str, str]] = {}
    for key, value in entries:
        word, respelling = check_entry(key, value)
        lookup[normal_word(word)] = (key, value, respelling)
    if not lookup:
        return None, lookup
    words = sorted(lookup, key=lambda w: (-len(w), w))
    alternatives = "|".join(r"\s+".join(map(re.escape, w.split(" "))) for w in words)
    return re.compile(f"{_BEFORE}(?P<w>{alternatives}){_AFTER}", re.IGNORECASE), lookup


def _prepare(lexicon: Mapping[str, str]) -> tuple[re.Pattern[str] | None, dict[str, tuple[str, str, str]]]:
    if not isinstance(lexicon, Mapping):
        raise ValueError(f"The lexicon must be a mapping of word -> respelling, got {type(lexicon).__name__}.")
    try:
        return _prepared(tuple(lexicon.items()))
    except TypeError:  # an unhashable value: check_entry says what is wrong
        for key, value in lexicon.items():
            check_entry(key, value)
        raise


def _starts_sentence(text: str, position: int) -> bool:
    """Whether `position` begins the text or follows a sentence's end (opening quotes skipped)."""
    before = text[:position].rstrip().rstrip("\"'“‘«([{").rstrip()
    return not before or _SENTENCE_END.search(before) is not None


def apply_lexicon(text: str, lexicon: Mapping[str, str], *, phonemes: bool = False) -> str:
    """`text` with every lexicon word replaced by its respelling (whole words, case-insensitive, longest first).

    A lower-case respelling of a capitalised word, or of a word starting the text or a sentence, gets a capital
    ("GIF files" -> "Jif files"). Phoneme respellings (`/.../`) are put in verbatim only with `phonemes=True`
    (an engine that reads phonemes); otherwise the word is left as written. Raises ValueError for a bad entry.
    """
    pattern, lookup = _prepare(lexicon)
    if pattern is None:
        return text

    def swap(match: re.Match[str]) -> str:
        original = match.group("w")
        entry = lookup.get(normal_word(original))
        if entry is None:
            return match.group(0)
        respelling = entry[2]
        if is_phonemes(respelling):
            return respelling + (match.group("poss") or "") if phonemes else match.group(0)
        if respelling == respelling.lower() and (original[:1].isupper() or _starts_sentence(text, match.start())):
            respelling = respelling[:1].upper() + respelling[1:]
        return respelling + (match.group("poss") or "")

    return pattern.sub(swap, text)


def used_entries(text: str, lexicon: Mapping[str, str]) -> dict[str, str]:
    """The lexicon's entries (as given) that match somewhere in `text`, in order of first use."""
    pattern, lookup = _prepare(lexicon)
    used: dict[str, str] = {}
    if pattern is None:
        return used
    for match in pattern.finditer(text):
        entry = lookup.get(normal_word(match.group("w")))
        if entry is not None:
            used.setdefault(entry[0], entry[1])
    return used
