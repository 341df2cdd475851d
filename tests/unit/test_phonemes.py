"""Phonemes written into text (a lexicon's /IPA/ entries): where they are, and how the gate's WER counts them."""
from __future__ import annotations

import pytest

from pipelines.phonemes import phoneme_parts
from pipelines.scoring import word_error_rate


@pytest.mark.parametrize(("text", "parts"), [
    ("a /ˈdʒɪf/ file.", [("a ", False), ("ˈdʒɪf", True), (" file.", False)]),
    ("/wˈɪn/, he said", [("wˈɪn", True), (", he said", False)]),
    ("say /nu ˈjɔɹk/ now", [("say ", False), ("nu ˈjɔɹk", True), (" now", False)]),
    ("and/or 1/2 or a/b/c", [("and/or 1/2 or a/b/c", False)]),  # slashes inside words are not phonemes
    ("a / b / c", [("a / b / c", False)]),
    ("/12/ done", [("/12/ done", False)]),  # no letters: not phonemes
    ("", [("", False)]),
])
def test_phoneme_spans_sit_at_word_edges(text, parts):
    assert phoneme_parts(text) == parts


def test_a_phoneme_span_matches_any_one_heard_word_and_nothing_else():
    assert word_error_rate("Mister /wˈɪn/ called at noon.", "Mr. Win called at noon.") == 0.0
    assert word_error_rate("Mister /wˈɪn/ called at noon.", "Mr. called at noon.") == pytest.approx(0.2)
    assert word_error_rate("Mister /wˈɪn/ called at noon.", "Mr. Win Win called at noon.") == pytest.approx(0.2)
    assert word_error_rate("Mister /wˈɪn/ called at noon.", "Mr. Win called at midnight.") == pytest.approx(0.2)
    assert word_error_rate("Mister Nguyen called.", "Mister Win called.") == pytest.approx(1 / 3)
