"""Transcript text edits -> word-level edits.

The creator edits the transcript as free text; the audio can only be changed where the recording has
word timings, so the edited text is aligned with the original words and every difference is expressed
in whole original words. Case and punctuation are not pronounced differently enough to be worth
regenerating speech for (and the ASR's own punctuation is a guess anyway), so they are compared away;
a partly changed word ("recording" -> "recordings") still regenerates the whole word, because a cut can
only be made cleanly between words.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from ..base import Word

__all__ = ["EditError", "WordEdit", "Opcode", "tokens", "normalize_token", "word_units", "join_words", "align_words",
           "diff_words", "highlight"]

# Punctuation around a word (quotes, brackets, commas, dashes, ellipses...) is not part of what is said;
# apostrophes and hyphens inside a word are ("don't", "well-known").
_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "ʼ": "'"})


class EditError(ValueError):
    """An edit that cannot be made; message is user-readable."""


@dataclass(frozen=True)
class WordEdit:
    """One contiguous change in original-word coordinates.

    kind: "delete" | "insert" | "replace". `start` is the first original word affected; for "insert" the
    index of the word it goes before (len(words) = append at the end). `end` is exclusive (== start for
    "insert"). `old_text`: the original words joined by spaces ("" for insert); `new_text`: the new
    words as typed ("" for delete).
    """

    kind: str
    start: int
    end: int
    old_text: str
    new_text: str


# ("equal" | "delete" | "insert" | "replace", word_start, word_end, token_start, token_end): original word
# indices [word_start, word_end) correspond to edited token indices [token_start, token_end).
Opcode = tuple[str, int, int, int, int]


def tokens(text: str) -> list[str]:
    """The edited text's tokens: a whitespace split with empty pieces dropped."""
    return text.split()


def normalize_token(token: str) -> str:
    """What a token sounds like, for comparison: casefolded, typographic apostrophes made plain,
    surrounding punctuation stripped (inner apostrophes and hyphens kept). "" for pure punctuation."""
    return _EDGE_PUNCTUATION.sub("", token.translate(_APOSTROPHES).casefold())


def _continues(text: str) -> bool:
    """A word the ASR split off the one before it: Whisper gives "cold-hearted" as "cold" + "-hearted"
    and sometimes "it's" as "it" + "'s"."""
    text = text.strip().translate(_APOSTROPHES)
    return len(text) > 1 and text[0] in "-'" and text[1].isalnum()


def word_units(words: Sequence[Word]) -> list[list[int]]:
    """Indices of `words` grouped into the words of the text: a piece the ASR split off ("-hearted",
    "'s") joins the word before it, so "cold-hearted" typed back compares equal to "cold" + "-hearted"."""
    units: list[list[int]] = []
    for i, word in enumerate(words):
        if units and _continues(word.text):
            units[-1].append(i)
        else:
            units.append([i])
    return units


def join_words(words: Sequence[Word]) -> str:
    """The words as text: spaces between words, none before a split-off piece."""
    text = ""
    for word in words:
        piece = word.text.strip()
        text += piece if (not text or _continues(piece)) else " " + piece
    return text


def align_words(words: Sequence[Word], edited_text: str) -> list[Opcode]:
    """Align original words with the edited text's tokens; every word and every token is covered by
    exactly one opcode, in order.

    difflib's matcher (without its "junk" heuristic, which would ignore frequent words such as "the" in
    long transcripts) anchors on the longest unchanged runs, so several separate edits in one text stay
    separate and each is as small as the text allows. Words are compared as `word_units` (pieces the ASR
    split off a word rejoined). Tokens that are pure punctuation ("—", "...") are left out of the
    comparison and ride along with their neighbours, so adding or removing them is not an edit.
    """
    raw_tokens = tokens(edited_text)
    old = [(unit[0], normalize_token(join_words([words[i] for i in unit]))) for unit in word_units(words)]
    new = [(j, normalize_token(t)) for j, t in enumerate(raw_tokens)]
    old = [(i, n) for i, n in old if n]
    new = [(j, n) for j, n in new if n]
    matcher = SequenceMatcher(None, [n for _, n in old], [n for _, n in new], autojunk=False)
    n_words, n_tokens = len(words), len(raw_tokens)

    def word_at(k: int) -> int:  # original word index of comparable position k (k == len -> past the end)
        return old[k][0] if k < len(old) else n_words

    def token_at(k: int) -> int:
        return new[k][0] if k < len(new) else n_tokens

    ops: list[Opcode] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        ops.append((tag, word_at(i1), word_at(i2), token_at(j1), token_at(j2)))
    if not ops:  # nothing comparable on either side
        ops.append(("equal", 0, n_words, 0, n_tokens))
    # Stretch the first and last opcodes to the ends, so leading/trailing punctuation-only words and
    # tokens belong somewhere.
    first = ops[0]
    ops[0] = (first[0], 0, first[2], 0, first[4])
    last = ops[-1]
    ops[-1] = (last[0], last[1], n_words, last[3], n_tokens)
    return ops


def diff_words(words: Sequence[Word], edited_text: str) -> list[WordEdit]:
    """The word-level edits that turn `words` into `edited_text`, in order (see the module doc).

    Raises EditError if the edited text has no words: that edit would delete everything, which is a
    new recording rather than an edit.
    """
    if not isinstance(edited_text, str):
        raise EditError(f"The edited transcript must be text, got {type(edited_text).__name__}.")
    raw_tokens = tokens(edited_text)
    if not any(normalize_token(t) for t in raw_tokens):
        raise EditError("The edited transcript has no words left: that would delete everything in the "
                        "recording. Keep at least one word, or record a new take instead.")
    edits: list[WordEdit] = []
    for tag, i1, i2, j1, j2 in align_words(words, edited_text):
        if tag == "equal":
            continue
        old_text = join_words(words[i1:i2])
        new_text = " ".join(raw_tokens[j1:j2])
        if tag == "replace" and not any(normalize_token(t) for t in raw_tokens[j1:j2]):
            tag = "delete"  # only punctuation typed in place of the words
        if tag == "replace" and not any(normalize_token(w.text) for w in words[i1:i2]):
            tag = "insert"  # only punctuation-only "words" (rare ASR tokens) were there
        if tag == "delete":
            edits.append(WordEdit("delete", i1, i2, old_text, ""))
        elif tag == "insert":
            edits.append(WordEdit("insert", i1, i1, "", new_text))
        else:
            edits.append(WordEdit("replace", i1, i2, old_text, new_text))
    return edits


def attach_punctuation(words: list[Word], raw: Sequence[str]) -> list[Word]:
    """Glue the edited text's punctuation-only tokens ("—", "...") onto the word before them, in text order."""
    if not words or all(normalize_token(t) for t in raw):
        return words
    out = list(words)
    position = -1  # index in `out` of the last word seen
    pending: list[str] = []  # punctuation before the first word
    for token in raw:
        if normalize_token(token):
            position += 1
            if pending and position == 0:
                w = out[0]
                out[0] = Word(" ".join([*pending, w.text]), w.start, w.end, w.confidence)
                pending = []
            continue
        if position < 0:
            pending.append(token)
        else:
            w = out[position]
            out[position] = Word(f"{w.text} {token}", w.start, w.end, w.confidence)
    return out


def highlight(words: Sequence[Word], edits: Sequence[WordEdit]) -> tuple[tuple[str, str | None], ...]:
    """The transcript as (text, label) pieces: kept words unlabelled, removed words "deleted", new words
    "inserted" — what gr.HighlightedText shows."""
    by_start = {e.start: e for e in edits}
    pieces: list[tuple[str, str | None]] = []
    i = 0
    while i <= len(words):
        edit = by_start.get(i)
        if edit is not None:
            if edit.old_text:
                pieces.append((edit.old_text, "deleted"))
            if edit.new_text:
                pieces.append((edit.new_text, "inserted"))
            if edit.end > i:
                i = edit.end
                continue
        if i < len(words):
            pieces.append((words[i].text, None))
        i += 1
    spaced: list[tuple[str, str | None]] = []
    for k, (text, label) in enumerate(pieces):
        spaced.append((text + (" " if k < len(pieces) - 1 else ""), label))
    return tuple(spaced)
