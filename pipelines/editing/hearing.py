"""Comparing what a recogniser heard with the words that should be there, as a listener would: spellings,
digits and homophones folded, a slight mishearing of a kept word forgiven (a short window makes the recogniser
guess), none of a new word (to a listener "arbor" is not "harbour"), and words no one wrote found beside new
ones. The edit check (check.py) and the edit benchmark judge with these."""
from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import NamedTuple

from ..textnorm import cardinal, spelling_key
from .diff import normalize_token

__all__ = ["Beside", "as_expected", "comparable", "extra_beside", "heard_beside", "matched", "new_words_heard",
           "words_heard"]

_ALIKE = 0.8  # a heard word this similar to an expected one (difflib ratio) is that word misheard slightly
# words that sound the same: the check compares what is heard, and the recogniser picks one spelling freely
_SOUNDS_ALIKE = {"two": "to", "too": "to", "four": "for"}
# a symbol written as a word of its own is heard as the word said for it ("press * to mute": "press star")
_SAID_FOR = {"*": "star", "&": "and", "+": "plus", "=": "equals", "@": "at", "%": "percent"}


def comparable(words: Sequence[str]) -> list[str]:
    """Words as the recogniser's are compared: normalised, hyphenated words split ("cold-hearted" and
    "cold hearted" are heard alike), punctuation dropped, digits spelled out ("8" and "eight"), symbols said
    ("*" and "star", "50%" and "fifty percent"), homophones one spelling ("two" and "to"), British spellings
    American ("harbour" and "harbor")."""
    out: list[str] = []
    for word in words:
        if word.strip() in _SAID_FOR:
            out.append(_SAID_FOR[word.strip()])
            continue
        for part in re.split(r"[-\s]+", normalize_token(word)):
            digits = part.isascii() and part.isdigit()  # "²" is a digit to Python, not to cardinal()
            spoken = cardinal(part).replace("-", " ").split() if digits else [part] if part else []
            out += [_SOUNDS_ALIKE.get(w, spelling_key(w)) for w in spoken]
        out += ["percent"] if word.rstrip(".,;:!?)\"'").endswith("%") else []
    return out


def as_expected(heard: list[str], expected: list[str]) -> list[str]:
    """Heard words that are near misses of an expected one ("impression" for "impressions": a short
    window of ungrammatical text makes the recogniser's language model guess) count as that word."""
    out = []
    for word in heard:
        close = [e for e in expected if min(len(e), len(word)) >= 4 and SequenceMatcher(a=e, b=word).ratio() >= _ALIKE]
        out.append(word if word in expected or not close else close[0])
    return out


def matched(expected: list[str], heard: list[str], near_misses: bool = True) -> dict[int, int]:
    """expected index -> heard index, for the words the two have in common (in order); a near miss of an
    expected word counts as that word unless `near_misses` is off."""
    positions: dict[int, int] = {}
    matcher = SequenceMatcher(a=expected, b=as_expected(heard, expected) if near_misses else heard, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            positions[block.a + k] = block.b + k
    return positions


def words_heard(heard: Sequence[str], expected: Sequence[str]) -> bool:
    """Every expected word is heard, in order (other words may come between or around them); a near miss
    counts (the recording's own words, which a short window makes the recogniser guess at)."""
    heard_, expected_ = comparable(heard), comparable(expected)
    return len(matched(expected_, heard_)) == len(expected_)


def new_words_heard(heard: Sequence[str], new: Sequence[str]) -> bool:
    """Every new (inserted or replacing) word is heard as itself, in order: a near miss of a new word is
    another word to a listener too ("arbor" for "harbour"), so it counts as not heard."""
    heard_, new_ = comparable(heard), comparable(new)
    return len(matched(new_, heard_, near_misses=False)) == len(new_)


class Beside(NamedTuple):
    """Words heard beside new words that no one wrote: `before` them (after the kept word before them), `within`
    them, `after` them (up to the kept word after them). None where that kept word is not heard: what stands
    for it cannot be told (the window clipped it, or it is misheard), so nothing is judged on that side."""

    before: list[str] | None
    within: list[str]
    after: list[str] | None


def heard_beside(heard: Sequence[str], left: Sequence[str], new: Sequence[str], right: Sequence[str]) -> Beside:
    """What is heard beside the new words, between them and their kept neighbours (`left`: the word before
    them, `right`: the word after; either may be empty at the recording's ends, and is then not judged). An
    extra word is one no one wrote: "once again *at* her", a trace of a neighbour the edit's point fell inside
    ("to" heard after new words put in before it), a syllable the splice made. New words not heard: nothing."""
    heard_, new_ = comparable(heard), comparable(new)
    at = matched(new_, heard_, near_misses=False)
    if len(at) != len(new_) or not new_:
        return Beside([], [], [])
    first, last = at[0], at[len(new_) - 1]
    within = [w for k, w in enumerate(heard_[first:last + 1], first) if k not in at.values()]
    left_, right_ = comparable(left)[-1:], comparable(right)[:1]
    before: list[str] | None = []
    after: list[str] | None = []
    if left_:
        found = [k for k, w in enumerate(as_expected(heard_[:first], left_)) if w == left_[0]]
        before = heard_[found[-1] + 1:first] if found else None
    if right_:
        found = [k for k, w in enumerate(as_expected(heard_[last + 1:], right_), last + 1) if w == right_[0]]
        after = heard_[last + 1:found[0]] if found else None
    return Beside(before, within, after)


def extra_beside(heard: Sequence[str], left: Sequence[str], new: Sequence[str], right: Sequence[str]) -> list[str]:
    """The extra words `heard_beside` finds, in the order heard."""
    found = heard_beside(heard, left, new, right)
    return [*(found.before or []), *found.within, *(found.after or [])]
