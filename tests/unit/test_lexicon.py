"""The pronunciation lexicon: whole-word, case-insensitive respellings, longest entry first."""
from __future__ import annotations

import pytest

from pipelines.narration.lexicon import apply_lexicon, check_entry, is_phonemes, used_entries

LEXICON = {"GIF": "jif", "Nguyen": "win", "Dr.": "Doctor", "New York": "noo york", "New York City": "big apple",
           "SQL": "/ˈsiːkwəl/", "rock'n'roll": "rock and roll", "e-mail": "ee mail", "McKee": "MacKEE"}


def test_whole_words_only_and_case_insensitive():
    assert apply_lexicon("the gif and the GIF and the Gif.", LEXICON) == "the jif and the Jif and the Jif."
    assert apply_lexicon("gifted GIFs, a GIF-based format", LEXICON) == "gifted GIFs, a GIF-based format"
    assert apply_lexicon("a (GIF), a 'gif'.", LEXICON) == "a (Jif), a 'jif'."


def test_words_with_dots_apostrophes_and_hyphens():
    assert apply_lexicon("Ask Dr. Smith.", LEXICON) == "Ask Doctor Smith."
    assert apply_lexicon("some rock'n'roll by e-mail", LEXICON) == "some rock and roll by ee mail"
    assert apply_lexicon("Dr.Smith", LEXICON) == "Dr.Smith"


def test_multi_word_entries_longest_first_and_across_spacing():
    assert apply_lexicon("in new york city today", LEXICON) == "in big apple today"
    assert apply_lexicon("in new  york\ntoday", LEXICON) == "in noo york\ntoday"


def test_capital_kept_for_capitalised_words_and_sentence_starts():
    assert apply_lexicon("Nguyen spoke to nguyen.", LEXICON) == "Win spoke to win."
    assert apply_lexicon("gif first. gif? Yes! gif", LEXICON) == "Jif first. Jif? Yes! Jif"
    assert apply_lexicon("“gif” said he", LEXICON) == "“Jif” said he"
    # a respelling with capitals of its own (stress marks) is used as written
    assert apply_lexicon("ask mckee", LEXICON) == "ask MacKEE"


def test_possessive_keeps_its_ending():
    assert apply_lexicon("Nguyen's book", LEXICON) == "Win's book"


def test_phoneme_entries_only_for_engines_that_take_phonemes():
    assert is_phonemes("/ˈsiːkwəl/") and is_phonemes(" /dʒɪf/ ")
    assert not is_phonemes("jif") and not is_phonemes("/") and not is_phonemes("//") and not is_phonemes("/ /")
    assert apply_lexicon("Learn SQL.", LEXICON) == "Learn SQL."
    assert apply_lexicon("Learn SQL.", LEXICON, phonemes=True) == "Learn /ˈsiːkwəl/."


def test_used_entries_are_those_in_the_text():
    assert used_entries("A GIF from New York City, by e-mail.", LEXICON) == {
        "GIF": "jif", "New York City": "big apple", "e-mail": "ee mail"}
    assert used_entries("Nothing here.", LEXICON) == {}
    assert used_entries("gif", {}) == {}
    assert apply_lexicon("gif", {}) == "gif"


def test_check_entry_cleans_and_refuses():
    assert check_entry("  New   York ", " noo  york ") == ("New York", "noo york")
    assert check_entry("SQL", "/ˈsiːkwəl/") == ("SQL", "/ˈsiːkwəl/")
    for word, respelling, says in (("", "x", "empty"), ("  ", "x", "empty"), ("w" * 101, "x", "100"),
                                   ("word", "", "empty"), ("word", "x" * 201, "200"), ("word", "123 !", "no letters"),
                                   ("...", "dots", "no letters or digits"), ("word", "//", "no letters")):
        with pytest.raises(ValueError, match=says):
            check_entry(word, respelling)
    assert check_entry("w" * 100, "x" * 200) == ("w" * 100, "x" * 200)


def test_a_bad_entry_in_the_lexicon_is_reported():
    with pytest.raises(ValueError, match="empty"):
        apply_lexicon("text", {"text": ""})
    with pytest.raises(ValueError):
        used_entries("text", {"text": ["not", "text"]})  # type: ignore[dict-item]


def test_entries_differing_in_case_last_one_wins():
    assert apply_lexicon("a gif", {"GIF": "jif", "gif": "ghif"}) == "a ghif"


def test_regex_characters_in_entries_are_literal():
    assert apply_lexicon("C++ and C#, not Cx", {"C++": "see plus plus", "C": "sea"}) == "See plus plus and Sea#, not Cx"
