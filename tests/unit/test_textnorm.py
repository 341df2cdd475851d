"""English text normalisation for TTS: what a reader would say for numbers, dates, money and abbreviations."""
from __future__ import annotations

import pytest

from pipelines.scoring import word_error_rate
from pipelines.textnorm import cardinal, decimal, normalize, ordinal, spelling_key, year

pytest.importorskip("inflect")

EXAMPLES = [
    # cardinals, negatives, decimals, codes
    ("It happened 12 times.", "It happened twelve times."),
    ("1,234,567 people", "one million two hundred thirty-four thousand five hundred sixty-seven people"),
    ("It fell to -12 overnight.", "It fell to minus twelve overnight."),
    ("pi is 3.14", "pi is three point one four"),
    ("0.5 and .5", "zero point five and point five"),
    ("Agent 007", "Agent zero zero seven"),
    ("1234567890123456789", "one two three four five six seven eight nine zero one two three four five six "
                            "seven eight nine"),
    ("MP3 and 10km and 3D", "MP three and ten km and three D"),
    ("Version 2.0.1", "Version two point zero point one"),
    ("pages 5-10", "pages five to ten"),
    ("1/2 and 3/4 and 2/3 and 1/3", "one half and three quarters and two thirds and one third"),
    # ordinals
    ("the 3rd, 21st, 42nd and 112th", "the third, twenty-first, forty-second and one hundred twelfth"),
    # years, decades, dates
    ("In 1865, the war ended.", "In eighteen sixty-five, the war ended."),
    ("in 1905 and 1900", "in nineteen oh five and nineteen hundred"),
    ("in 2024", "in twenty twenty-four"),
    ("in 2000 and 2005", "in two thousand and two thousand five"),
    ("2024 people", "two thousand twenty-four people"),
    ("the 1990s and the 1800s", "the nineteen nineties and the eighteen hundreds"),
    ("the '90s and the 80s", "the nineties and the eighties"),
    ("1914-1918", "nineteen fourteen to nineteen eighteen"),
    ("March 3, 2024", "March third, twenty twenty-four"),
    ("on Dec. 25th", "on December twenty-fifth"),
    ("on 3 March 2024", "on the third of March, twenty twenty-four"),
    ("2024-03-03", "March third, twenty twenty-four"),
    ("03/04/2024", "March fourth, twenty twenty-four"),
    ("25/12/2024", "December twenty-fifth, twenty twenty-four"),
    ("You may 5 times", "You may five times"),
    # times
    ("at 3:30 pm.", "at three thirty PM."),
    ("at 3:30 p.m. Then we left.", "at three thirty PM. Then we left."),
    ("at 3 p.m. on Friday", "at three PM on Friday"),
    ("at 3pm", "at three PM"),
    ("at 3.30 p.m.", "at three thirty PM."),  # Whisper's spelling
    ("at 10:05", "at ten oh five"),
    ("at 9:00", "at nine o'clock"),
    ("at 15:45", "at fifteen forty-five"),
    # money and percentages
    ("It cost $5.50 today.", "It cost five dollars and fifty cents today."),
    ("$1, $0.99, $1.01, $2.00", "one dollar, ninety-nine cents, one dollar and one cent, two dollars"),
    ("£3.20 or €1,000 or ¥500", "three pounds and twenty pence or one thousand euros or five hundred yen"),
    ("$1.5 million, $5M, $3bn", "one point five million dollars, five million dollars, three billion dollars"),
    ("$5.505", "five point five zero five dollars"),
    ("-$5", "minus five dollars"),
    ("50% and 3.5% and -2%", "fifty percent and three point five percent and minus two percent"),
    ("20°C", "twenty degrees Celsius"),
    # abbreviations
    ("Dr. Smith lives on Mulholland Dr.", "Doctor Smith lives on Mulholland Drive."),
    ("Mr. and Mrs. Jones met Ms. Brown", "Mister and Missus Jones met Miz Brown"),
    ("St. Louis", "Saint Louis"),
    ("He lives on Main St. Then he left.", "He lives on Main Street. Then he left."),
    ("apples, pears, etc. Then more.", "apples, pears, et cetera. Then more."),
    ("apples, pears, etc.", "apples, pears, et cetera."),
    ("e.g. this, i.e. that", "for example this, that is that"),
    ("E.g. this", "For example this"),
    ("Ali vs. Frazier", "Ali versus Frazier"),
    ("No. 5 and #7", "number five and number seven"),
    ("Martin Luther King Jr. spoke", "Martin Luther King Junior spoke"),
    ("Salt & pepper", "Salt and pepper"),
]


@pytest.mark.parametrize("text, expected", EXAMPLES)
def test_examples(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize("text", [t for t, _ in EXAMPLES])
def test_idempotent(text: str) -> None:
    """The scorer normalises text that may already be normalised: a second pass must change nothing."""
    once = normalize(text)
    assert normalize(once) == once


def test_no_digits_left() -> None:
    for text, _ in EXAMPLES:
        assert not any(c.isdigit() for c in normalize(text)), text


def test_tags_and_paragraphs_survive() -> None:
    text = "Wait 5 [pause 0.8s] seconds [laugh].\n\nThen 2 more."
    assert normalize(text) == "Wait five [pause 0.8s] seconds [laugh].\n\nThen two more."


def test_british_dates_are_day_first() -> None:
    assert normalize("03/04/2024", "en-GB") == "April third, twenty twenty-four"
    assert normalize("03/04/2024", "en_US") == "March fourth, twenty twenty-four"


@pytest.mark.parametrize("language", ["de", "fr-FR", "ja", ""])
def test_other_languages_unchanged(language: str) -> None:
    text = "Dr. Müller zahlt $5.50 am 3. März 2024."
    assert normalize(text, language) == text


def test_plain_text_unchanged() -> None:
    text = "The quick brown fox jumps over the lazy dog, doesn't it?\nYes!"
    assert normalize(text) == text


def test_helpers() -> None:
    assert cardinal(0) == "zero"
    assert cardinal(101) == "one hundred one"
    assert cardinal("-7") == "minus seven"
    assert ordinal(1) == "first" and ordinal(11) == "eleventh" and ordinal(23) == "twenty-third"
    assert decimal("-0.25") == "minus zero point two five"
    assert [year(y) for y in (1066, 1800, 2000, 2009, 2010, 2099)] == [
        "ten sixty-six", "eighteen hundred", "two thousand", "two thousand nine", "twenty ten", "twenty ninety-nine"]
    with pytest.raises(ValueError, match="whole number"):
        cardinal("1.5")


def test_rejects_non_text() -> None:
    with pytest.raises(ValueError, match="string"):
        normalize(5)  # type: ignore[arg-type]


def test_long_text_takes_linear_time() -> None:
    from tests.counting import growth

    sentence = "On March 3, 2024 at 3:30 pm Dr. Smith paid $5.50 (12% more than in 1999). "
    out = normalize(sentence * 1000)
    assert "five dollars and fifty cents" in out and "$" not in out
    assert growth(lambda n: normalize(sentence * n), 200) < 2.2


def test_british_and_american_spellings_share_a_key_and_other_words_keep_theirs() -> None:
    for british, american in [("harbour", "harbor"), ("colours", "colors"), ("honoured", "honored"),
                              ("centre", "center"), ("metres", "meters"), ("fibre", "fiber"), ("grey", "gray"),
                              ("catalogue", "catalog"), ("programme", "program")]:
        assert spelling_key(british) == spelling_key(american) == american
    for word in ("four", "hour", "your", "tour", "entre", "timbre", "acre", "genre", "sure"):
        assert spelling_key(word) == word  # no false friend is folded into another word
    assert spelling_key("timber") != spelling_key("timbre")
    # the recogniser writes American spellings: a British reference is not an error for that
    assert word_error_rate("Ask her to harbour these colours.", "Ask her to harbor these colors.") == 0.0
    assert word_error_rate("the harbour", "the arbor") == 0.5
