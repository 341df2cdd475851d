"""Language check before speaking: scripts decide non-Latin text, function words decide Latin text, and
anything short or mixed is left alone (None / no refusal) so a real narration is never refused by mistake."""
from __future__ import annotations


import pytest

from pipelines.catalog import Catalog
from pipelines.languages import check_language, detect_language, language_name

ENGLISH = [
    "The studio keeps every take. Nothing is lost when you try again with another seed.",
    "Welcome to Retake. This paragraph was typed in the browser and spoken by Piper.",
    "Mr. Schmidt went to Berlin and München to see the Brandenburger Tor with his friends.",
    "He smiled and said, 'Je ne sais pas,' which is French for I do not know, and then he walked away.",
    "The lighthouse keeper climbed the spiral stairs every evening at dusk. On clear nights, the beam "
    "reached ships more than twenty miles away.",
]
GERMAN = ("Der Leuchtturmwärter stieg jeden Abend die Wendeltreppe hinauf. In klaren Nächten reichte das Licht "
          "mehr als zwanzig Meilen weit, und er schrieb jedes Schiff in sein Buch.")
FRENCH = "Le gardien du phare montait chaque soir l'escalier, et il notait dans son livre tous les bateaux qui passaient."
SPANISH = "El farero subía cada tarde por la escalera y anotaba en su libro todos los barcos que pasaban por la costa."
RUSSIAN = ("Смотритель маяка каждый вечер поднимался по винтовой лестнице и записывал в журнал все корабли, "
           "которые проходили мимо.")
UKRAINIAN = "Доглядач маяка щовечора піднімався сходами і записував у журнал усі кораблі, що пропливали повз."
JAPANESE = "灯台守は毎晩らせん階段を上り、通り過ぎるすべての船を日誌に書き留めました。"
CHINESE = "灯塔看守人每天晚上都爬上螺旋楼梯，把经过的每一艘船都记在日志里。"
KOREAN = "등대지기는 매일 저녁 나선형 계단을 올라가 지나가는 모든 배를 일지에 적었습니다."
GREEK = "Ο φαροφύλακας ανέβαινε κάθε βράδυ τη σκάλα και έγραφε κάθε πλοίο στο ημερολόγιό του."


@pytest.mark.parametrize("text", ENGLISH)
def test_english_is_english(text):
    assert detect_language(text) == "en"


@pytest.mark.parametrize("text, code", [(GERMAN, "de"), (FRENCH, "fr"), (SPANISH, "es"), (RUSSIAN, "ru"),
                                        (UKRAINIAN, "uk"), (JAPANESE, "ja"), (CHINESE, "zh"), (KOREAN, "ko"),
                                        (GREEK, "el")])
def test_other_languages_are_named(text, code):
    assert detect_language(text) == code


@pytest.mark.parametrize("text", ["Hello there.", "Hallo Welt.", "Да.", "OK", "Dr. Müller", "", "12 345 !?",
                                  "Apples, oranges, bananas, grapes, melons."])
def test_short_or_wordless_text_is_unsure(text):
    assert detect_language(text) is None


def test_half_english_half_german_is_unsure_and_not_refused():
    mixed = ENGLISH[4] + " " + GERMAN
    assert detect_language(mixed) is None
    check_language(mixed, ["en"], "Piper")  # unsure: quiet


def test_english_with_a_few_foreign_words_is_english_and_speakable():
    text = ENGLISH[4] + " The sign on the door said Добро пожаловать, and the keeper laughed every time he read it."
    assert detect_language(text) == "en"
    check_language(text, ["en"], "Piper")


@pytest.mark.parametrize("text, name", [(GERMAN, "German"), (RUSSIAN, "Russian"), (JAPANESE, "Japanese")])
def test_clearly_foreign_text_is_refused_with_a_readable_message(text, name):
    with pytest.raises(ValueError) as error:
        check_language(text, ["en"], "Piper VITS – Joe")
    message = str(error.value)
    assert f"written in {name}" in message and "Piper VITS – Joe speaks English (en) only" in message


def test_a_large_part_in_a_script_the_engine_cannot_read_is_refused_even_when_mixed():
    text = ENGLISH[4] + " " + RUSSIAN
    assert detect_language(text) is None
    with pytest.raises(ValueError, match=r"\d+% of the text is in the Cyrillic script \(probably Russian\)"):
        check_language(text, ["en"], "Piper")


def test_engines_that_list_the_language_or_all_languages_accept_it():
    check_language(GERMAN, ["en", "de"], "Multi")
    check_language(RUSSIAN, ["*"], "Any")
    check_language(JAPANESE, ["ja"], "Kokoro JA")
    check_language(ENGLISH[0], ["en-US"], "US")  # regional codes compare by their language
    check_language(GERMAN, [], "Unlisted")  # nothing listed: nothing to check against


def test_every_speak_engine_in_the_catalog_accepts_english():
    for engine in Catalog.load().for_task("speak"):
        check_language(ENGLISH[0], engine.languages, engine.name)


def test_a_100k_character_text_is_checked_on_a_bounded_sample(monkeypatch):
    """A chapter is judged on evenly spaced windows: the work does not grow with the text."""
    from pipelines import languages

    seen: list[int] = []
    real = languages.script_shares
    monkeypatch.setattr(languages, "script_shares", lambda text: seen.append(len(text)) or real(text))
    text = (ENGLISH[4] + " ") * (100_000 // (len(ENGLISH[4]) + 1))
    assert detect_language(text) == "en"
    assert seen and max(seen) <= languages.SAMPLE_CHARS + 100


def test_language_names():
    assert language_name("ru") == "Russian" and language_name("pt-BR") == "Portuguese"
    assert language_name("xx") == "xx"


def test_non_text_is_a_value_error():
    with pytest.raises(ValueError, match="string"):
        detect_language(None)  # type: ignore[arg-type]
