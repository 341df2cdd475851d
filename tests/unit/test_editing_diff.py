"""Transcript text edits -> word edits: what counts as an edit, and in which original words it lies."""
from __future__ import annotations

import numpy as np
import pytest

from pipelines.base import Word
from pipelines.editing import (EditError, WordEdit, align_words, diff_words, join_words, normalize_token, tokens,
                               word_units)


def words_of(text: str) -> list[Word]:
    """Words as an ASR gives them: punctuation attached, 0.4 s apart."""
    return [Word(t, 0.4 * i, 0.4 * i + 0.3) for i, t in enumerate(text.split())]


ORIGINAL = words_of("Hello, world. This is a recording of my voice, made today.")


def test_tokens_split_on_any_whitespace() -> None:
    assert tokens("  one\ttwo\n\nthree  ") == ["one", "two", "three"]
    assert tokens(" \n ") == []


def test_normalize_token_keeps_inner_apostrophes_and_hyphens() -> None:
    assert normalize_token("“Don’t,") == "don't"
    assert normalize_token("well-known.") == "well-known"
    assert normalize_token("—") == ""
    assert normalize_token("HELLO!") == "hello"


def test_case_and_punctuation_changes_are_not_edits() -> None:
    assert diff_words(ORIGINAL, "hello world this is a recording of my voice made today") == []
    assert diff_words(ORIGINAL, "Hello — world! This is a recording... of my voice; made today") == []
    assert diff_words(ORIGINAL, " ".join(w.text for w in ORIGINAL)) == []


def test_deleting_one_word() -> None:
    edits = diff_words(ORIGINAL, "Hello, world. This is a recording of voice, made today.")
    assert edits == [WordEdit("delete", 7, 8, "my", "")]


def test_deleting_two_separate_words_gives_two_edits() -> None:
    edits = diff_words(ORIGINAL, "Hello, world. This is recording of my voice, today.")
    assert edits == [WordEdit("delete", 4, 5, "a", ""), WordEdit("delete", 9, 10, "made", "")]


def test_deleting_the_last_words() -> None:
    edits = diff_words(ORIGINAL, "Hello, world. This is a recording of my voice,")
    assert edits == [WordEdit("delete", 9, 11, "made today.", "")]


def test_inserting_at_the_start_middle_and_end() -> None:
    edits = diff_words(ORIGINAL, "Well, hello, world. This is a new recording of my voice, made today. Thanks")
    assert edits == [WordEdit("insert", 0, 0, "", "Well,"), WordEdit("insert", 5, 5, "", "new"),
                     WordEdit("insert", 11, 11, "", "Thanks")]


def test_a_partly_changed_word_is_a_whole_word_replace() -> None:
    edits = diff_words(ORIGINAL, "Hello, world. This is a recordings of my voice, made today.")
    assert edits == [WordEdit("replace", 5, 6, "recording", "recordings")]


def test_adjacent_delete_and_insert_become_one_replace() -> None:
    edits = diff_words(ORIGINAL, "Hello, world. This was one take of my voice, made today.")
    assert edits == [WordEdit("replace", 3, 6, "is a recording", "was one take")]


def test_replacing_several_words_with_more_words() -> None:
    edits = diff_words(ORIGINAL, "Hello there, dear world. This is a recording of my voice, made yesterday evening.")
    assert edits == [WordEdit("insert", 1, 1, "", "there, dear"),
                     WordEdit("replace", 10, 11, "today.", "yesterday evening.")]


def test_repeated_words_delete_only_the_right_one() -> None:
    words = words_of("the cat saw the the dog")
    assert diff_words(words, "the cat saw the dog") in ([WordEdit("delete", 3, 4, "the", "")],
                                                         [WordEdit("delete", 4, 5, "the", "")])


def test_an_edit_in_a_long_transcript_with_frequent_words_stays_small() -> None:
    """difflib's autojunk would treat "the" as junk in > 200 words and produce a sprawling diff."""
    rng = np.random.default_rng(1)
    vocabulary = ["the", "the", "the", "of", "and", "a", "cat", "dog", "house", "river", "blue", "green"]
    text = [str(rng.choice(vocabulary)) for _ in range(600)]
    words = [Word(t, i * 0.3, i * 0.3 + 0.2) for i, t in enumerate(text)]
    edited = text[:300] + ["zebra"] + text[301:]
    edits = diff_words(words, " ".join(edited))
    assert edits == [WordEdit("replace", 300, 301, text[300], "zebra")]


def test_an_edit_with_no_words_left_deletes_everything_and_is_refused() -> None:
    for text in ("", "   ", "... — !"):
        with pytest.raises(EditError, match="delete everything"):
            diff_words(ORIGINAL, text)


def test_non_text_is_refused() -> None:
    with pytest.raises(EditError):
        diff_words(ORIGINAL, None)  # type: ignore[arg-type]


def test_alignment_covers_every_word_and_token_in_order() -> None:
    rng = np.random.default_rng(7)
    base = "one two three four five six seven eight nine ten eleven twelve".split()
    for _ in range(200):
        edited = [w for w in base if rng.random() > 0.2]
        for _ in range(int(rng.integers(0, 3))):
            edited.insert(int(rng.integers(0, len(edited) + 1)), str(rng.choice(["new", "—", "extra", "two"])))
        if not any(normalize_token(t) for t in edited):
            continue
        words = [Word(t, i, i + 0.5) for i, t in enumerate(base)]
        ops = align_words(words, " ".join(edited))
        assert ops[0][1] == 0 and ops[0][3] == 0
        assert ops[-1][2] == len(base) and ops[-1][4] == len(edited)
        for (_, _, i2, _, j2), (_, i1, _, j1, _) in zip(ops, ops[1:]):
            assert i2 == i1 and j2 == j1
        # Applying the edits to the word list gives the edited words.
        result = []
        for tag, i1, i2, j1, j2 in ops:
            result += [w.text for w in words[i1:i2]] if tag == "equal" else edited[j1:j2]
        assert [normalize_token(t) for t in result if normalize_token(t)] == \
            [normalize_token(t) for t in edited if normalize_token(t)]
        for edit in diff_words(words, " ".join(edited)):
            assert 0 <= edit.start <= edit.end <= len(base)
            assert (edit.kind == "insert") == (edit.start == edit.end)


def test_pieces_the_asr_split_off_a_word_belong_to_it() -> None:
    """Whisper gives "cold-hearted" as "cold" + "-hearted": typed back as one word it is not an edit, and
    an edit of it covers both pieces."""
    words = words_of("rather cold -hearted and kind")
    assert word_units(words) == [[0], [1, 2], [3], [4]]
    assert join_words(words[1:3]) == "cold-hearted"
    assert diff_words(words, "rather cold-hearted and kind") == []
    assert diff_words(words, "rather warm-hearted and kind") == [
        WordEdit("replace", 1, 3, "cold-hearted", "warm-hearted")]
    assert diff_words(words, "rather and kind") == [WordEdit("delete", 1, 3, "cold-hearted", "")]
