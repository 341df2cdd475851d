"""Which language a text is written in, so text an engine cannot speak is refused before anything is made.

Two signals, both instant and offline. The writing system comes first and is exact: letters are counted per
Unicode script, and kana means Japanese, Hangul Korean, Cyrillic Russian (or Ukrainian, Bulgarian, Serbian by
their own letters), and so on. Latin-script text is told apart by function words ("the", "und", "les",
"de", ...), the most frequent and most language-specific words there are: English prose is about 40% of
them, and a German paragraph has many German and almost no English ones.

Why no statistical detector: py3langid (BSD-3-Clause, a 4.6 MB wheel, 97 languages) was tried. It needs 2.3 s
and 120 MB to load its model in every process, and on the short texts a narration check meets it is unsure or
wrong ("Hello" -> Breton, "Mr. Schmidt went to Berlin" -> German at 0.35), so it would need the same length
and word guards as this module. Engines today list one language each, and the question is only "is this
clearly not that language?", which the two signals above answer.

`detect_language` answers None whenever it is not sure (few words, mixed scripts, no language clearly ahead);
`check_language` refuses only clear cases, so an English narration quoting a French phrase is never refused.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["detect_language", "check_language", "language_name", "script_shares"]

MIN_LATIN_WORDS = 5  # fewer words than this: too little to tell ("Hallo Welt" is German and Dutch and ...)
MIN_LETTERS = 8  # letters of a non-Latin script needed before it names a language
MIN_CJK_CHARS = 4  # a Japanese or Chinese character carries a syllable or a word
DOMINANT_SHARE = 0.8  # one script must hold this share of the letters, else the text is mixed
FOREIGN_SCRIPT_SHARE = 0.2  # a script the engine cannot read at all, over this share: refused even when mixed
MIN_FUNCTION_SHARE = 0.12  # the winning language's function words among all words
LEAD = 2.0  # ... and this many times the runner-up's
SAMPLE_CHARS = 20_000  # longer texts are judged on evenly spaced windows (a 100,000-character chapter: ~5 ms)
_WINDOWS = 20

NAMES = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "sv": "Swedish", "da": "Danish", "nb": "Norwegian", "no": "Norwegian", "pl": "Polish",
    "cs": "Czech", "tr": "Turkish", "fi": "Finnish", "ru": "Russian", "uk": "Ukrainian", "bg": "Bulgarian",
    "sr": "Serbian", "be": "Belarusian", "el": "Greek", "ar": "Arabic", "fa": "Persian", "ur": "Urdu",
    "he": "Hebrew", "hi": "Hindi", "th": "Thai", "ja": "Japanese", "zh": "Chinese", "ko": "Korean",
}

# Letters per writing system (code point ranges). Latin includes its accented and extended letters.
_SCRIPTS = {
    "Latin": "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff",
    "Cyrillic": "\u0400-\u052f",
    "Greek": "\u0370-\u03ff\u1f00-\u1fff",
    "Arabic": "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff",
    "Hebrew": "\u0590-\u05ff",
    "Devanagari": "\u0900-\u097f",
    "Thai": "\u0e00-\u0e7f",
    "Hangul": "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f",
    "Kana": "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f",
    "Han": "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff",
}
_SCRIPT_RE = {name: re.compile(f"[{chars}]") for name, chars in _SCRIPTS.items()}
# Languages written in each non-Latin script (for "can this engine read it at all?").
SCRIPT_LANGUAGES = {
    "Cyrillic": ("ru", "uk", "bg", "sr", "be", "mk", "kk", "ky", "mn", "tg"),
    "Greek": ("el",), "Arabic": ("ar", "fa", "ur", "ps"), "Hebrew": ("he", "yi"),
    "Devanagari": ("hi", "mr", "ne", "sa"), "Thai": ("th",), "Hangul": ("ko",),
    "CJK": ("ja", "zh"),
}

# Function words: frequent in any prose of the language, rare in the others. Words shared between these
# languages ("in", "a", "die" in English and German, "de" in five of them) are left out of all but one
# list or out of all, so a hit says something.
_FUNCTION_WORDS = {
    "en": "the and of to is that it was for on are with as his they be at this have from or had by not but "
          "what all were when we there can your which their if do will each about how up out them then she "
          "many some would other into has more her him could been who its now my than first did just you "
          "our these those very should because through after before under while where",
    "de": "der und den das ist nicht sich mit dem des auf ein eine einen einem für von zu im auch es sie wir "
          "ich er wie bei aus nach oder aber wenn noch nur vom zum zur sind haben wird werden kann über "
          "dass schon dieser diese dieses mein meine kein keine sehr jetzt immer wieder hier dann unter "
          "mehr sein seine seinen ihr ihre jeden jede jedes wurde hatte ins vor durch ohne gegen bis doch "
          "mich dich uns euch",
    "fr": "le la les et des est un une du que qui dans pour pas sur au avec il elle ils nous vous je ce cette "
          "ces sont mais ou son sa ses leur aux par plus ont été être fait comme tout très aussi bien où "
          "donc alors quand puis sous après avant",
    "es": "el los las y que del en un una es por con para se su sus al lo como más pero fue ha este esta "
          "estos son muy también sin sobre entre cuando hay yo él ella nosotros porque todo ya otro luego "
          "bajo después",
    "it": "il di che è e la le gli un una per non sono con del della dei delle nel nella alla al si ma anche "
          "come più questo questa io lui lei noi loro ci ha hanno essere stato molto perché quando poi "
          "sotto sopra dopo ancora degli sulla",
    "pt": "o os as e que do da dos das em um uma não para com por se mais como mas foi ao sua seu são está "
          "também muito já eu ele ela nós quando isso esta este pelo pela nos na no depois sob então ainda "
          "até onde você",
    "nl": "de het een en van is dat niet zijn op te met voor aan er maar om ook als bij nog wel naar dan "
          "uit wordt werd heeft hebben ik je jij wij zij hij ze dit deze zo geen veel waar omdat daarna "
          "zich haar onder tussen toen heel",
    "sv": "och att det som en på är av för med till den har inte om ett var jag men så vi kan hon han "
          "sig från ut när skulle eller vid också utan mycket detta här sedan hade något någon vara",
    "da": "og at det som en på er af for med til den har ikke om et var jeg men så vi kan hun han sig fra "
          "ud når skulle eller ved også uden meget dette her derefter mig dig hvad nogen noget være blev",
    "nb": "og å det som en på er av for med til den har ikke om et var jeg men så vi kan hun han seg fra "
          "ut når skulle eller ved også etter uten mye dette her meg deg hva noen noe være ble",
    "pl": "i w nie na się że z do to jest jak o po ale tak za od co już przez czy jego jej są był była "
          "było tylko też może bardzo jestem który która które gdy ich potem nad pod",
    "cs": "a v se na je že s z do to jako o ale jsem jsou byl byla bylo jeho její pro tak už jen také "
          "které který která když nebo po od při velmi potom nad pod",
    "tr": "ve bir bu da de için ile çok ne o ama gibi daha en var yok değil olarak sonra kadar ben sen "
          "biz onlar şey her mi mı",
    "fi": "ja on ei että se oli hän ovat mutta kun niin tai myös vain jo ole olla minä sinä me he tämä "
          "joka kuin mitä sitä siitä",
}
_WORDS = {lang: frozenset(words.split()) for lang, words in _FUNCTION_WORDS.items()}
# Which language leads is decided on the words no other list has ("the", "und", "les", "af" but not "som",
# which Swedish, Danish and Norwegian share); how much of the text is function words, on the whole lists.
_DISTINCT = {lang: words - frozenset().union(*(other for o, other in _WORDS.items() if o != lang))
             for lang, words in _WORDS.items()}
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def language_name(code: str) -> str:
    """English name of an ISO 639-1 code ("ru" -> "Russian"); the code itself when unknown."""
    return NAMES.get(code.split("-")[0].lower(), code)


def _sample(text: str) -> str:
    """The text, or evenly spaced windows of it when it is long (a language check must stay instant)."""
    if len(text) <= SAMPLE_CHARS:
        return text
    size = SAMPLE_CHARS // _WINDOWS
    step = (len(text) - size) / (_WINDOWS - 1)
    return " ".join(text[int(i * step): int(i * step) + size] for i in range(_WINDOWS))


def script_shares(text: str) -> dict[str, int]:
    """Letters per script ("Latin", "Cyrillic", ..., Han and Kana counted together as "CJK")."""
    counts = {name: len(pattern.findall(text)) for name, pattern in _SCRIPT_RE.items()}
    counts["CJK"] = counts.pop("Han") + counts.pop("Kana")
    return {name: n for name, n in counts.items() if n}


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the language `text` is written in, or None when unsure (short or mixed text)."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}.")
    sample = _sample(text)
    counts = script_shares(sample)
    total = sum(counts.values())
    if not total:
        return None
    script, letters = max(counts.items(), key=lambda item: item[1])
    if letters / total < DOMINANT_SHARE:
        return None
    if script == "Latin":
        return _latin_language(sample)
    if letters < (MIN_CJK_CHARS if script in ("CJK", "Hangul") else MIN_LETTERS):
        return None
    return _by_script(script, sample)


def _by_script(script: str, text: str) -> str:
    if script == "CJK":  # Japanese mixes kana into its kanji; Chinese has none
        kana = len(_SCRIPT_RE["Kana"].findall(text))
        return "ja" if kana >= 0.05 * len(_SCRIPT_RE["Han"].findall(text) + _SCRIPT_RE["Kana"].findall(text)) \
            else "zh"
    if script == "Cyrillic":
        lower = text.lower()
        if re.search("[єїґ]", lower) or (re.search("і", lower) and not re.search("[ыэё]", lower)):
            return "uk"
        if re.search("[ђјљњћџ]", lower):
            return "sr"
        if "ў" in lower:
            return "be"
        if not re.search("[ыэё]", lower) and lower.count("ъ") > 0.01 * len(lower):
            return "bg"
        return "ru"
    if script == "Arabic":
        if re.search("[ٹڈڑںے]", text):
            return "ur"
        if re.search("[پچژگکی]", text):
            return "fa"
        return "ar"
    return SCRIPT_LANGUAGES[script][0]


def _latin_language(text: str) -> str | None:
    words = [w.lower().replace("’", "'") for w in _WORD_RE.findall(text)]
    if len(words) < MIN_LATIN_WORDS:
        return None
    distinct = sorted(((sum(w in vocabulary for w in words), lang) for lang, vocabulary in _DISTINCT.items()),
                      reverse=True)
    (best, lang), (second, _) = distinct[0], distinct[1]
    share = sum(w in _WORDS[lang] for w in words) / len(words)
    if best < 2 or best < LEAD * second or share < MIN_FUNCTION_SHARE:
        return None
    return lang


def check_language(text: str, languages: Sequence[str], engine_name: str) -> None:
    """Raise ValueError with a readable message when `text` is clearly in a language the engine does not
    list (or a good part of it is in a script none of its languages is written in); quiet when unsure."""
    spoken = {code.split("-")[0].lower() for code in languages}
    if not spoken or "*" in spoken:
        return
    listed = ", ".join(f"{language_name(code)} ({code})" for code in sorted(spoken))
    detected = detect_language(text)
    if detected is not None and detected not in spoken and not (detected in ("nb", "no") and spoken & {"nb", "no"}):
        name = language_name(detected)
        raise ValueError(f"The text is written in {name}; {engine_name} speaks {listed} only. Choose an engine "
                         f"that speaks {name}, or give the text in {language_name(sorted(spoken)[0])}.")
    if detected is None:
        counts = script_shares(_sample(text))
        total = sum(counts.values())
        for script, letters in sorted(counts.items(), key=lambda item: -item[1]):
            readable = script == "Latin" or spoken & set(SCRIPT_LANGUAGES.get(script, ()))
            if not readable and letters >= MIN_LETTERS and letters / total >= FOREIGN_SCRIPT_SHARE:
                example = language_name(_by_script(script, text))
                raise ValueError(f"{letters / total:.0%} of the text is in the {script} script (probably "
                                 f"{example}); {engine_name} speaks {listed} only and cannot read it. "
                                 "Remove that part or choose an engine that speaks it.")
