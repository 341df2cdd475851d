"""Splitting scripts for narration, and planning the chunks a Narrator will speak.

hypothesis is not installed, so the properties are checked on many seeded random scripts built from
awkward pieces (abbreviations, initials, numbers, quotes, dashes, ellipses, over-long words, pause marks).
"""
from __future__ import annotations

import random
import re

import numpy as np
import pytest

from pipelines.audio import Audio
from pipelines.narration import (DEFAULT_MAX_CHARS, NarrationSettings, Narrator, PlannedChunk, Segment, chunk_seed,
                                 parse_pause, split)
from pipelines.speak import SpeakPipeline
from tests.counting import growth

PAUSE = re.compile(r"\[\s*pause\b[^\[\]]*\]", re.IGNORECASE)
WORDS = ("the", "a", "narrator", "speaks", "quietly", "and", "then", "Dr.", "Smith", "Mr.", "e.g.", "i.e.", "etc.",
         "J.", "R.", "U.S.", "3.14", "$5.50", "No.", "5", "12%", "“quoted”", "'single'", "(aside)", "well-known",
         "—", "–", "-", "...", "…", "Supercalifragilisticexpialidocious" * 3, "日本語。", "naïve", "café")
ENDINGS = (".", "!", "?", "...", ".\"", "?)", ",", ";", ":", " —", "")
MARKS = ("[pause 0.8s]", "[pause 800ms]", "[PAUSE 1s]", "[pause]", "[pause: 2 seconds]", "[pause .5s]")


def random_script(rng: random.Random, sentences: int) -> str:
    parts = []
    for _ in range(sentences):
        words = [rng.choice(WORDS) for _ in range(rng.randint(1, 40))]
        words[0] = words[0].capitalize()
        sentence = " ".join(words) + rng.choice(ENDINGS)
        parts.append(sentence)
        roll = rng.random()
        if roll < 0.15:
            parts.append(rng.choice(("\n\n", "\n \n\n", "\r\n\r\n")))
        elif roll < 0.25:
            parts.append(rng.choice(MARKS) if rng.random() < 0.5 else " " + rng.choice(MARKS) + " ")
        elif roll < 0.3:
            parts.append("\n")
        else:
            parts.append(rng.choice((" ", "  ", "\t")))
    return "".join(parts)


def tokens(text: str) -> list[str]:
    return PAUSE.sub(" ", text).split()


SCRIPTS = [random_script(random.Random(seed), random.Random(seed).randint(1, 25)) for seed in range(300)]


# ------------------------------------------------------------------------------------------- properties


@pytest.mark.parametrize("max_chars", [1, 12, 40, 80, DEFAULT_MAX_CHARS])
def test_properties_on_random_scripts(max_chars: int) -> None:
    for script in SCRIPTS:
        segments = split(script, max_chars)
        speech = [s for s in segments if s.kind == "speech"]
        # never mid-word, nothing lost, nothing added: the words come out in order, whole
        assert [t for s in speech for t in s.text.split()] == tokens(script), script
        for s in speech:
            assert s.text == s.text.strip() and "  " not in s.text and "\n" not in s.text
            assert len(s.text) <= max_chars or len(s.text.split()) == 1, (s.text, max_chars)
            assert s.text, script
        # pause marks become pause segments, in order
        marks = PAUSE.findall(script)
        assert [s.text for s in segments if s.kind == "pause"] == marks
        assert segments[-1].pause_after_s == 0.0 or segments[-1].kind == "pause"


def test_concatenation_equals_input_modulo_whitespace() -> None:
    for script in SCRIPTS[:100]:
        joined = "".join(s.text for s in split(script, 50))
        assert re.sub(r"\s+", "", joined) == re.sub(r"\s+", "", script)


def test_long_text_splits_in_linear_time() -> None:
    script = "".join(SCRIPTS)
    assert len(split((script * (100_000 // len(script) + 1))[:100_000], 200)) > 500
    assert growth(lambda n: split((script * 3)[:n], 200), 20_000) < 2.2


def test_text_without_spaces_is_not_quadratic() -> None:
    assert [s.text for s in split("a." * 50_000 + " End.", 100)] == ["a." * 50_000, "End."]  # one word alone
    assert growth(lambda n: split("a." * n + " End.", 100), 5_000) < 2.2


# ---------------------------------------------------------------------------------------------- examples


def speech_texts(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
    return [s.text for s in split(text, max_chars) if s.kind == "speech"]


def test_sentences_and_paragraphs_get_their_pauses() -> None:
    segments = split("One here. Two there!\n\nThree, again? Four.", sentence_pause_s=0.3, paragraph_pause_s=0.9)
    assert segments == [
        Segment("speech", "One here.", 0.3, "sentence"),
        Segment("speech", "Two there!", 0.9, "paragraph"),
        Segment("speech", "Three, again?", 0.3, "sentence"),
        Segment("speech", "Four.", 0.0, "end"),
    ]


@pytest.mark.parametrize("text, expected", [
    ("Dr. Smith met Mr. Jones at St. Paul's.", ["Dr. Smith met Mr. Jones at St. Paul's."]),
    ("J. R. R. Tolkien wrote it. Then he slept.", ["J. R. R. Tolkien wrote it.", "Then he slept."]),
    ("Fruit, e.g. Apples, i.e. Red ones. Yes.", ["Fruit, e.g. Apples, i.e. Red ones.", "Yes."]),
    ("See No. 5 and Fig. 3 now. Done.", ["See No. 5 and Fig. 3 now.", "Done."]),
    ("It costs $5.50. That is 3.5 times more.", ["It costs $5.50.", "That is 3.5 times more."]),
    ("He said \"Stop!\" Then he left.", ["He said \"Stop!\"", "Then he left."]),
    ("Wait... what? No!", ["Wait... what?", "No!"]),
    ("Wait... What?", ["Wait...", "What?"]),
    ("He left (quietly.) She stayed.", ["He left (quietly.)", "She stayed."]),
    ("The U.S. Army came. Next.", ["The U.S. Army came.", "Next."]),
    ("Hello. ... World.", ["Hello. ...", "World."]),
    ("日本語です。英語も。", ["日本語です。", "英語も。"]),
    ("a line\nbroken in two. Next.", ["a line broken in two.", "Next."]),
])
def test_sentence_examples(text: str, expected: list[str]) -> None:
    assert speech_texts(text) == expected


def test_long_sentence_splits_at_clauses_then_words() -> None:
    sentence = ("It was a long sentence, with many clauses; some were long: indeed — very long, and it went on "
                "and on and on until it was longer than any chunk of narration should ever be allowed to become.")
    segments = split(sentence, 80)
    assert all(len(s.text) <= 80 for s in segments)
    assert segments[0].text.endswith("very long,") and segments[0].boundary == "clause"  # packed clauses
    assert {s.boundary for s in segments[1:-1]} <= {"word", "clause"}
    assert segments[-1].boundary == "end"
    lengths = [len(s.text) for s in segments]
    assert min(lengths) >= 30, lengths  # even runs: no two-word stragglers
    assert split(sentence, 80, clause_pause_s=0.25)[0].pause_after_s == 0.25


def test_a_word_longer_than_max_chars_stands_alone() -> None:
    word = "x" * 30
    assert speech_texts(f"short words {word} more words here", 12) == ["short words", word, "more words", "here"]


def test_pause_marks() -> None:
    segments = split("Hello there [pause 1.5s] friend.\n\n[pause 800ms]\n\nNext [pause] one.", paragraph_pause_s=0.7)
    assert [(s.kind, s.text, s.pause_after_s) for s in segments] == [
        ("speech", "Hello there", 0.0),  # an explicit pause replaces the natural one
        ("pause", "[pause 1.5s]", 1.5),
        ("speech", "friend.", 0.0),
        ("pause", "[pause 800ms]", 0.8),
        ("speech", "Next", 0.0),
        ("pause", "[pause]", 0.7),  # no length: a paragraph pause
        ("speech", "one.", 0.0),
    ]


@pytest.mark.parametrize("mark, seconds", [
    ("[pause 0.8s]", 0.8), ("[pause 800ms]", 0.8), ("[Pause 2]", 2.0), ("[pause: 1.5 seconds]", 1.5),
    ("[pause=250 milliseconds]", 0.25), ("[pause .5s]", 0.5), ("[ pause ]", 0.8), ("[pause 0s]", 0.0),
])
def test_parse_pause(mark: str, seconds: float) -> None:
    assert parse_pause(mark) == pytest.approx(seconds)


@pytest.mark.parametrize("mark, message", [("[pause soon]", "not understood"), ("[pause 2 minutes]", "not understood"),
                                           ("[pause 90s]", "at most 60")])
def test_bad_pause_marks_are_refused(mark: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        split(f"Hello {mark} there.")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        split("Hello.", 0)
    with pytest.raises(ValueError, match="sentence_pause_s"):
        split("Hello.", sentence_pause_s=-1)
    with pytest.raises(ValueError, match="text must be a string"):
        split(None)  # type: ignore[arg-type]
    assert split("") == [] or all(not s.text for s in split(""))


# ---------------------------------------------------------------------------------------------- planning


class Recorder(SpeakPipeline):
    """A stand-in engine: a tone whose length follows the text; records every call."""

    def __init__(self, max_chars: int | None = None) -> None:
        self.calls: list[tuple[str, int | None]] = []
        if max_chars is not None:
            self.max_chars = max_chars

    @classmethod
    def from_pretrained(cls, model_path, *, device="cpu", dtype=None, **options):  # pragma: no cover
        return cls()

    @property
    def sample_rate(self) -> int:
        return 16000

    def __call__(self, text, *, voice=None, seed=None, **options) -> Audio:
        self.calls.append((text, seed))
        t = np.arange(int(0.05 * len(text) * 16000)) / 16000
        return Audio((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)


def test_plan_normalises_and_folds_pauses() -> None:
    narrator = Narrator(Recorder(), NarrationSettings(sentence_pause_s=0.3, paragraph_pause_s=0.9))
    plan = narrator.plan("[pause 0.5s] Dr. Smith paid $5. [pause 1s] [pause 0.25s] Then left.\n\nThe end.")
    assert plan == [
        PlannedChunk(0, "Dr. Smith paid $5.", "Doctor Smith paid five dollars.", 0.5, 1.25, "mark"),
        PlannedChunk(1, "Then left.", "Then left.", 0.0, 0.9, "paragraph"),
        PlannedChunk(2, "The end.", "The end.", 0.0, 0.0, "end"),
    ]
    raw = Narrator(Recorder(), NarrationSettings(normalize_text=False)).plan("Dr. Smith paid $5.")
    assert raw[0].spoken == "Dr. Smith paid $5."


def test_plan_skips_unspeakable_pieces() -> None:
    plan = Narrator(Recorder()).plan("Hello.\n\n...\n\n— — —")
    assert [c.spoken for c in plan] == ["Hello."]
    with pytest.raises(ValueError, match="nothing to speak"):
        Narrator(Recorder()).plan("... [pause 1s] !!")
    with pytest.raises(ValueError, match="non-empty"):
        Narrator(Recorder()).plan("   ")


def test_max_chars_comes_from_the_engine() -> None:
    assert Narrator(Recorder()).max_chars == DEFAULT_MAX_CHARS
    assert Narrator(Recorder(max_chars=120)).max_chars == 120
    assert Narrator(Recorder(max_chars=120), NarrationSettings(max_chars=60)).max_chars == 60
    assert Narrator(Recorder(max_chars=120), NarrationSettings(max_chars=500)).max_chars == 120  # engine's cap


def test_normalised_text_longer_than_max_chars_is_split_again() -> None:
    narrator = Narrator(Recorder(), NarrationSettings(max_chars=40))
    plan = narrator.plan("It cost $1,234,567.89 in 2024.")  # 30 characters, 100+ once spelled out
    assert len(plan) > 1 and all(len(c.spoken) <= 40 for c in plan)
    assert " ".join(c.spoken for c in plan).startswith("It cost one million")


@pytest.mark.parametrize("bad", [dict(sentence_pause_s=-0.1), dict(crossfade_s=1.0), dict(target_lufs=3.0),
                                 dict(max_chars=5), dict(edge_pad_s=-1.0)])
def test_settings_are_checked(bad: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        NarrationSettings(**bad)


def test_chunk_seeds_are_stable_and_distinct() -> None:
    assert chunk_seed(7, 0) == chunk_seed(7, 0)
    seeds = {chunk_seed(7, i, k) for i in range(100) for k in range(3)}
    assert len(seeds) == 300 and all(0 <= s < 2**31 for s in seeds)
    assert chunk_seed(7, 0) != chunk_seed(8, 0)
