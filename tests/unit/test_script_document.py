"""Script documents (text, Markdown, SRT) -> narration lines; and the hash that names a segment's audio."""
from __future__ import annotations

import numpy as np
import pytest

from pipelines.narration.document import (MAX_LINE_CHARS, MAX_LINES, ScriptLine, detect_format, parse_script,
                                          segment_hash)
from pipelines.narration.script import MAX_PAUSE_S

THREE_VOICES = """NARRATOR: The house was quiet. Too quiet.

ADA: Is anyone there?
BOB: Only me. Go back to sleep.

The narration goes on, still Bob's.

[voice: Narrator]
Morning came.

[voice: Ada] And with it, coffee.
"""

BOOK = """# Chapter One

It was a *dark* and **stormy** night.

The end of `chapter` one, see [the notes](https://example.com/notes).

## Chapter Two

Morning.
"""

SUBTITLES = """1
00:00:01,000 --> 00:00:02,500
<i>Hello</i> there.

2
00:00:04,000 --> 00:00:06,000
- ADA: Hi.
- BOB: Hey.

3
00:00:06,000 --> 00:01:30,000
{\\an8}Still here.

4
00:05:00,000 --> 00:05:01,000
Bye.
"""


def texts(lines: list[ScriptLine]) -> list[str]:
    return [line.text for line in lines]


def test_three_voices_with_tags():
    lines = parse_script(THREE_VOICES)
    assert [(line.speaker, line.text) for line in lines] == [
        ("NARRATOR", "The house was quiet. Too quiet."),
        ("ADA", "Is anyone there?"),
        ("BOB", "Only me. Go back to sleep."),
        ("BOB", "The narration goes on, still Bob's."),
        ("Narrator", "Morning came."),
        ("Ada", "And with it, coffee."),
    ]
    assert all(line.section is None for line in lines)
    assert [line.pause_after_s for line in lines] == [0.6] * 5 + [0.0]


def test_sentence_split_uses_the_script_splitter():
    lines = parse_script(THREE_VOICES, split="sentence", pause_s=0.4)
    assert texts(lines)[:4] == ["The house was quiet.", "Too quiet.", "Is anyone there?", "Only me."]
    assert [line.speaker for line in lines[:4]] == ["NARRATOR", "NARRATOR", "ADA", "BOB"]
    assert texts(parse_script("Dr. Smith met Mr. Jones. They talked.", split="sentence")) == [
        "Dr. Smith met Mr. Jones.", "They talked."]
    assert lines[0].pause_after_s == 0.4


def test_ordinary_sentences_with_a_colon_are_not_tags():
    lines = parse_script("Note: this is important.\n\nWarning: hot. A: yes.\n\nQ: why?\n\nAt 10:30 we left.")
    assert texts(lines) == ["Note: this is important.", "Warning: hot. A: yes.", "Q: why?", "At 10:30 we left."]
    assert {line.speaker for line in lines} == {None}
    # a colon must be followed by a space: no URLs; more than three words is a sentence
    assert parse_script("HTTP://EXAMPLE.COM is down.")[0].speaker is None
    assert parse_script("THE FOUR OF US: we went.")[0].speaker is None


def test_speakers_list_decides_which_names_are_tags():
    source = "Dr Smith: Sit down.\n\nNote: this is not a tag.\n\nNARRATOR: nor is this.\n\nada: Hi."
    lines = parse_script(source, speakers=["Dr. Smith", "Ada"])
    assert [(line.speaker, line.text) for line in lines] == [
        ("Dr. Smith", "Sit down."), ("Dr. Smith", "Note: this is not a tag."),
        ("Dr. Smith", "NARRATOR: nor is this."), ("Ada", "Hi.")]
    assert parse_script("Note: x", speakers=["Note"])[0].speaker == "Note"
    assert parse_script("ADA: x", speakers=[])[0].speaker is None
    assert parse_script("[voice: Ada] x", speakers=["ADA"])[0].speaker == "ADA"


def test_tag_forms():
    assert parse_script("O'BRIEN-SMITH: hello")[0].speaker == "O'BRIEN-SMITH"
    assert parse_script("R2D2: beep")[0].speaker == "R2D2"
    assert parse_script("NARRATOR:\nThe text after it.")[0] == ScriptLine("The text after it.", None, "NARRATOR", 0.0)
    assert parse_script("[Voice = Dr Who]\n\nHello.")[0].speaker == "Dr Who"


def test_markdown_document_with_two_chapters():
    lines = parse_script(BOOK, section_pause_s=2.0)
    assert lines == [
        ScriptLine("It was a dark and stormy night.", "Chapter One", None, 0.6),
        ScriptLine("The end of chapter one, see the notes.", "Chapter One", None, 2.0),
        ScriptLine("Morning.", "Chapter Two", None, 0.0),
    ]
    assert detect_format(BOOK) == "markdown"


def test_markdown_lists_code_comments_rules_and_setext_headings():
    source = """Intro
=====

- first _item_
- second item
  continued here
1. numbered

```python
print("not spoken")
```

<!-- a note
for the editor -->
Before the rule.

***

After the rule, **ADA:** speaking. ![a picture](x.png)

> Quoted __words__ and a \\*literal\\* star.

[ref]: https://example.com
"""
    lines = parse_script(source, fmt="markdown")
    assert texts(lines) == ["first item", "second item continued here", "numbered", "Before the rule.",
                            "After the rule, ADA: speaking.", "Quoted words and a *literal* star."]
    assert {line.section for line in lines} == {"Intro"}
    assert lines[3].pause_after_s == 1.5  # the horizontal rule
    assert parse_script("**NARRATOR:** Hello.", fmt="markdown")[0].speaker == "NARRATOR"


def test_srt_cues_with_gaps_as_pauses():
    lines = parse_script(SUBTITLES)
    assert detect_format(SUBTITLES) == "srt"
    assert [(line.speaker, line.text, line.pause_after_s) for line in lines] == [
        (None, "Hello there.", 1.5),
        ("ADA", "Hi.", 0.6),
        ("BOB", "Hey.", 0.0),  # the next cue starts as this one ends
        ("BOB", "Still here.", MAX_PAUSE_S),  # a 3.5-minute gap, clamped
        ("BOB", "Bye.", 0.0),
    ]


def test_srt_overlapping_cues_and_empty_cues():
    source = "1\n00:00:01,000 --> 00:00:03,000\nOne.\n\n2\n00:00:04,000 --> 00:00:05,000\n♪\n\n" \
             "3\n00:00:02.500 --> 00:00:04,000\nThree.\n"
    assert [(line.text, line.pause_after_s) for line in parse_script(source, fmt="srt")] == [("One.", 0.0),
                                                                                            ("Three.", 0.0)]


@pytest.mark.parametrize("source, says", [
    ("1\n00:00:01,000 --> 00:00:02,000\nHi.\n\nx\n00:00:03,000 --> 00:00:04,000\nBye.", "SRT line 5"),
    ("1\n00:00:01,000 --> 00:00:02,000\nHi.\n\n2\n00:00:03,000 -> 00:00:04,000\nBye.", "SRT cue 2 \\(line 6\\)"),
    ("1\n00:00:01,000 --> 00:00:02,000\nHi.\n\n2\n00:00:05,000 --> 00:00:04,000\nBye.", "SRT cue 2"),
    ("1\n00:00:01,000 --> 00:00:02,000\nHi.\n\n2", "SRT cue 2"),
    ("1\n00:00:01,000 --> 00:00:02,000\nHi.\n\n3\n00:00:75,000 --> 00:00:80,000\nBye.", "SRT cue 3"),
])
def test_malformed_srt_is_refused_naming_the_cue(source, says):
    with pytest.raises(ValueError, match=says):
        parse_script(source, fmt="srt")


def test_pause_marks_set_the_pause_after_the_previous_line():
    lines = parse_script("One.\n\n[pause 2s]\n\nTwo. [pause 800ms] Three.\n\n# Next\n\nFour.")
    assert [(line.text, line.pause_after_s) for line in lines] == [
        ("One.", 2.0), ("Two.", 0.8), ("Three.", 1.5), ("Four.", 0.0)]
    # an explicit pause wins over the section pause; a trailing one is kept
    lines = parse_script("One.\n\n[pause 0.2s]\n\n# Next\n\nTwo.\n\n[pause 3s]")
    assert [line.pause_after_s for line in lines] == [0.2, 3.0]
    assert lines[1].section == "Next"
    with pytest.raises(ValueError, match="Line 3: .*at most"):
        parse_script("One.\n\n[pause 90s]")


def test_auto_detection_falls_back_to_text():
    assert detect_format("Just words.\n\nMore words: 3 * 4 = 12.") == "text"
    assert detect_format("# Title\n\nWords.") == "markdown"
    assert detect_format("\ufeff1\n00:00:01,000 --> 00:00:02,000\nHi.") == "srt"
    # in plain text, Markdown syntax is spoken as written
    assert texts(parse_script("# not a heading", fmt="text")) == ["# not a heading"]


@pytest.mark.parametrize("source, says", [
    ("", "The script is empty"), ("  \n\t\n ", "The script is empty"),
    ("... !!! ---", "no words to speak"), ("[pause 1s]\n\n[voice: Ada]", "no words to speak"),
    ("# Only a heading", "no words to speak"), ("```\ncode only\n```", "no words to speak"),
])
def test_scripts_with_nothing_to_say_are_refused(source, says):
    with pytest.raises(ValueError, match=says):
        parse_script(source)


def test_unknown_format_split_and_pauses_are_refused():
    with pytest.raises(ValueError, match="Unknown script format 'docx'"):
        parse_script("Hi.", fmt="docx")
    with pytest.raises(ValueError, match="Unknown split 'word'"):
        parse_script("Hi.", split="word")
    with pytest.raises(ValueError, match="pause_s"):
        parse_script("Hi.", pause_s=-1)
    with pytest.raises(ValueError, match="section_pause_s"):
        parse_script("Hi.", section_pause_s=MAX_PAUSE_S + 1)


def test_at_most_max_lines():
    assert len(parse_script("\n\n".join(f"Line {i}." for i in range(MAX_LINES)))) == MAX_LINES
    with pytest.raises(ValueError, match="more than 2,000 lines"):
        parse_script("\n\n".join(f"Line {i}." for i in range(MAX_LINES + 1)))
    with pytest.raises(ValueError, match="more than 2,000 lines"):  # sentence split counts the sentences
        parse_script(" ".join(f"Line {i}." for i in range(MAX_LINES + 1)), split="sentence")


def test_an_over_long_line_is_refused_naming_it():
    long = "word " * (MAX_LINE_CHARS // 5) + "x"
    assert len(long) == MAX_LINE_CHARS + 1
    with pytest.raises(ValueError, match="Line 5 is too long .*5,001 characters.*“word word word"):
        parse_script(f"First.\n\nSecond.\n\n{long}")
    assert len(parse_script(long[:MAX_LINE_CHARS])[0].text) == MAX_LINE_CHARS - 1  # trailing space collapsed
    with pytest.raises(ValueError, match="Line 1 is too long"):
        parse_script(long, split="sentence")


HASH_ARGS = dict(voice_key="voice:ada", engine_id="kokoro", lexicon={"GIF": "jif", "Nguyen": "win"},
                 settings={"speed": 1.0, "seed": 7})


def test_hash_is_stable():
    first = segment_hash("A GIF for Nguyen.", **HASH_ARGS)
    assert len(first) == 64 and int(first, 16) >= 0
    assert segment_hash("A GIF for Nguyen.", **HASH_ARGS) == first
    assert segment_hash("A  GIF for\nNguyen.", **HASH_ARGS) == first  # whitespace is not heard
    reordered = dict(HASH_ARGS, settings={"seed": 7, "speed": 1.0},
                     lexicon={"Nguyen": "win", "GIF": "jif", "unused": "un used"})
    assert segment_hash("A GIF for Nguyen.", **reordered) == first
    with_numpy = dict(HASH_ARGS, settings={"speed": np.float64(1.0), "seed": np.int64(7)})
    assert segment_hash("A GIF for Nguyen.", **with_numpy) == first


def test_hash_changes_with_what_is_heard():
    first = segment_hash("A GIF for Nguyen.", **HASH_ARGS)
    changes = [
        segment_hash("A GIF for Nguyen!", **HASH_ARGS),
        segment_hash("A GIF for Nguyen.", **dict(HASH_ARGS, voice_key="voice:bob")),
        segment_hash("A GIF for Nguyen.", **dict(HASH_ARGS, engine_id="piper")),
        segment_hash("A GIF for Nguyen.", **dict(HASH_ARGS, settings={"speed": 1.1, "seed": 7})),
        segment_hash("A GIF for Nguyen.", **dict(HASH_ARGS, settings={"speed": 1.0, "seed": 7, "pitch": 0})),
        segment_hash("A GIF for Nguyen.", **dict(HASH_ARGS, lexicon={"GIF": "ghif", "Nguyen": "win"})),
        segment_hash("A GIF for Nguyen.", **dict(HASH_ARGS, lexicon={"GIF": "jif", "Nguyen": "/wɪn/"})),
        segment_hash("A GIF for Nguyen.", **dict(HASH_ARGS, lexicon={"GIF": "jif"})),
    ]
    assert first not in changes and len(set(changes)) == len(changes)


def test_hash_ignores_lexicon_entries_the_text_does_not_use():
    first = segment_hash("A GIF.", **HASH_ARGS)
    assert segment_hash("A GIF.", **dict(HASH_ARGS, lexicon={"GIF": "jif", "Nguyen": "nuh-gwen"})) == first
    assert segment_hash("A GIF.", **dict(HASH_ARGS, lexicon={"GIF": "jif"})) == first


def test_hash_refuses_settings_json_cannot_hold():
    with pytest.raises(ValueError, match="cannot be part of a segment's hash"):
        segment_hash("Hi.", **dict(HASH_ARGS, settings={"callback": object()}))
