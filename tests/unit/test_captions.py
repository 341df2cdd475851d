"""Captions (pipelines.narration.captions): cues within their limits, breaking at sentences and pauses,
timed exactly by their words, and written as valid SRT and WebVTT."""
from __future__ import annotations

import re

import pytest

from pipelines.base import Word
from pipelines.narration.captions import Cue, caption_cues, to_srt, to_vtt, wrap_caption


def timed(text: str, start: float = 0.0, word_s: float = 0.3, gap_s: float = 0.05) -> list[Word]:
    """Words of `text` one after another, `word_s` long with `gap_s` between them."""
    words, t = [], start
    for token in text.split():
        words.append(Word(token, round(t, 6), round(t + word_s, 6)))
        t += word_s + gap_s
    return words


def test_no_words_no_cues():
    assert caption_cues([]) == []
    assert caption_cues([Word("  ", 0.0, 0.2)]) == []
    assert to_srt([]) == ""
    assert to_vtt([]).startswith("WEBVTT")


def test_cues_keep_their_limits_and_their_words_times():
    text = ("The lighthouse keeper climbed the spiral stairs every evening at dusk and lit the great lamp "
            "that warned the fishing boats away from the rocks below the cliffs of the northern shore")
    words = timed(text)
    cues = caption_cues(words, max_chars=32, max_lines=2, max_s=4.0)
    assert len(cues) > 2
    assert " ".join(c.text.replace("\n", " ") for c in cues) == text  # nothing lost, nothing reordered
    position = 0
    for cue in cues:
        lines = cue.text.split("\n")
        assert len(lines) <= 2 and all(len(line) <= 32 for line in lines)
        assert cue.end - cue.start <= 4.0 + 1e-9
        n = len(cue.text.split())
        assert cue.start == words[position].start and cue.end == words[position + n - 1].end
        position += n
    assert all(a.end <= b.start for a, b in zip(cues, cues[1:]))


def test_breaks_at_sentence_ends_and_long_pauses():
    words = timed("It was late. The house was quiet, and nobody moved.")
    cues = caption_cues(words, min_s=0.5)
    assert [c.text.replace("\n", " ") for c in cues] == ["It was late.", "The house was quiet, and nobody moved."]
    # A pause of min_gap_s or more ends a cue even mid-sentence; short ones do not.
    paused = timed("and then", 0.0) + timed("there was nothing", 2.0)
    assert [c.text for c in caption_cues(paused, min_gap_s=0.8)] == ["and then", "there was nothing"]
    assert [c.text for c in caption_cues(paused, min_gap_s=5.0)] == ["and then there was nothing"]
    # A short first sentence stays with the next while the cue is brief (no flashing one-word cues).
    assert len(caption_cues(timed("Yes. I know."), min_s=1.0)) == 1


def test_an_overfull_cue_breaks_at_the_best_point_inside_it():
    words = timed("When the storm finally passed, we walked down to the harbour to count the boats")
    cues = caption_cues(words, max_chars=30, max_lines=1)
    assert cues[0].text == "When the storm finally passed,"
    assert all(len(c.text) <= 30 for c in cues)


def test_a_long_wordless_stretch_gets_no_cue():
    words = timed("Chapter one.", 0.0) + timed("Twenty seconds of music later, the story begins.", 25.0)
    cues = caption_cues(words)
    assert len(cues) == 2
    assert cues[0].end == words[1].end and cues[1].start == words[2].start == 25.0
    assert not any(c.start < 20.0 < c.end for c in cues)


def test_one_word_longer_than_the_limits_still_gets_its_cue():
    words = [Word("a", 0.0, 0.2), Word("Pneumonoultramicroscopicsilicovolcanoconiosis", 0.3, 8.0), Word("b", 8.1, 8.2)]
    cues = caption_cues(words, max_chars=20, max_s=6.0)
    assert [c.text for c in cues] == ["a", "Pneumonoultramicroscopicsilicovolcanoconiosis", "b"]
    assert cues[1].start == 0.3 and cues[1].end == 8.0


def test_wrapping_is_balanced_and_bounded():
    assert wrap_caption("short line", 42) == ["short line"]
    lines = wrap_caption("one two three four five six seven eight nine ten eleven", 42)
    assert len(lines) == 2 and abs(len(lines[0]) - len(lines[1])) <= 6
    assert wrap_caption("a b c d e f g h", 3, max_lines=2)[0] == "a b"


def test_srt_format():
    cues = [Cue(1.234, 2.5, "Hello there."), Cue(3661.0, 3662.0005, "A second\ncue")]
    srt = to_srt(cues)
    assert srt == ("1\n00:00:01,234 --> 00:00:02,500\nHello there.\n\n"
                   "2\n01:01:01,000 --> 01:01:02,000\nA second\ncue\n")
    long = to_srt([Cue(0.0, 1.0, "a line far longer than the forty two characters a caption line may hold")])
    body = long.split("\n")[2:]
    assert all(len(line) <= 42 for line in body)


def test_vtt_format():
    vtt = to_vtt([Cue(0.0, 1.2345, "Tom & Jerry <3 --> fun"), Cue(61.5, 62.0, "next")])
    assert vtt.startswith("WEBVTT\n\n")
    assert "00:00:00.000 --> 00:00:01.234\nTom &amp; Jerry &lt;3 --&gt; fun\n" in vtt
    assert "00:01:01.500 --> 00:01:02.000\nnext\n" in vtt
    stamps = re.findall(r"\d\d:\d\d:\d\d\.\d\d\d --> \d\d:\d\d:\d\d\.\d\d\d", vtt)
    assert len(stamps) == 2


def test_words_with_spaces_from_asr_are_tidied():
    words = [Word(" Hello", 0.0, 0.4), Word(" world.", 0.5, 0.9)]
    assert caption_cues(words) == [Cue(0.0, 0.9, "Hello world.")]


@pytest.mark.parametrize("bad", [{"max_chars": 0}, {"max_lines": 0}, {"max_s": 0.0}, {"min_gap_s": 0.0}])
def test_bad_limits_are_refused(bad):
    with pytest.raises(ValueError):
        caption_cues(timed("a b"), **bad)
