"""English text normalisation for speech: write out what a reader would say, so engines never guess.

TTS engines read "$5.50", "3:30 pm", "Dr." or "1865" inconsistently (some spell the symbols, some skip
them, some read years as "one thousand eight hundred..."). `normalize` rewrites them as words before
synthesis, and the scorer runs the same function on both the script and the ASR transcript, so "5" and
"five" count as the same word.

Number words come from `inflect` (MIT); the rules here only decide *which* reading a number gets
(year, time, money, ordinal, decimal...). Bracketed tags such as `[pause 0.8s]` are left untouched.
Only English is normalised; any other language is returned unchanged (a wrong reading is worse than none).
"""
from __future__ import annotations

import functools
import re

__all__ = ["normalize", "cardinal", "ordinal", "year", "decimal", "spelling_key"]

_MAX_DIGITS = 15  # longer digit strings are codes or IDs: read digit by digit
_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")
_MONTH_BY_KEY = {m.lower(): i for i, m in enumerate(_MONTHS, 1)}
_MONTH_BY_KEY.update({m[:3].lower(): i for i, m in enumerate(_MONTHS, 1)})
_MONTH_BY_KEY["sept"] = 9
# "May" and "Mar" only count as months next to a day number: the patterns below always require one.
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|" \
         r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"

# Words after which a bare 20xx is a year ("in 2024") rather than a count ("2024 people").
_YEAR_CONTEXT = {
    "in", "since", "by", "from", "until", "till", "through", "to", "of", "year", "circa", "around", "before",
    "after", "during", "early", "late", "mid", "spring", "summer", "autumn", "fall", "winter", "born", "died",
    "between", "and", "or", "c.", "ca.", *(m.lower() for m in _MONTHS),
}

_CURRENCIES = {  # symbol -> (unit singular, unit plural, subunit singular, subunit plural)
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
    "¥": ("yen", "yen", "sen", "sen"),
}
_SCALES = {"k": "thousand", "thousand": "thousand", "m": "million", "mn": "million", "million": "million",
           "b": "billion", "bn": "billion", "billion": "billion", "trillion": "trillion"}

# Abbreviations that come before a name and so never end a sentence.
_TITLES = {
    "Mr.": "Mister", "Mrs.": "Missus", "Ms.": "Miz", "Prof.": "Professor", "Capt.": "Captain",
    "Gen.": "General", "Lt.": "Lieutenant", "Col.": "Colonel", "Sgt.": "Sergeant", "Rev.": "Reverend",
    "Hon.": "Honorable", "Gov.": "Governor", "Sen.": "Senator", "Mt.": "Mount", "Ft.": "Fort",
}
# Abbreviations that may end a sentence: the full stop is kept when the sentence ends there.
_TRAILING = {
    "Jr.": "Junior", "Sr.": "Senior", "Ave.": "Avenue", "Blvd.": "Boulevard", "Rd.": "Road",
    "Inc.": "Incorporated", "Ltd.": "Limited", "Corp.": "Corporation", "Dept.": "Department",
    "Fig.": "Figure", "approx.": "approximately", "etc.": "et cetera",
}
# Never at the end of a sentence, any capitalisation.
_LATIN = {"e.g.": "for example", "i.e.": "that is", "a.k.a.": "also known as", "vs.": "versus", "cf.": "compare"}

_TAG = re.compile(r"(\[[^\[\]\n]*\])")  # [pause 0.8s], [laugh]: markup for other layers, never spoken as is
_END_AHEAD = r"(?=\s+[A-Z\"'“‘(]|\s*$)"  # what follows a full stop that ends a sentence


@functools.lru_cache(maxsize=1)
def _inflect():
    import inflect

    return inflect.engine()


# ------------------------------------------------------------------------------------------ number words


def cardinal(value: int | str) -> str:
    """1234 -> "one thousand two hundred thirty-four" (American: no "and"); very long numbers digit by digit."""
    digits = str(value).replace(",", "")
    negative = digits.startswith("-")
    digits = digits.lstrip("-")
    if not digits.isdigit():
        raise ValueError(f"cardinal() needs a whole number, got {value!r}.")
    words = _digits(digits) if len(digits) > _MAX_DIGITS else _words(int(digits))
    return f"minus {words}" if negative else words


@functools.lru_cache(maxsize=4096)
def _words(value: int) -> str:
    """inflect's words, cached: inflect checks types at run time and costs ~0.1 ms a call."""
    return _inflect().number_to_words(value, andword="", comma="", zero="zero")


def ordinal(value: int | str) -> str:
    """3 -> "third", 21 -> "twenty-first"."""
    return _inflect().ordinal(cardinal(value))


def decimal(text: str) -> str:
    """"3.14" -> "three point one four"; ".5" -> "point five"; "1,234.5" keeps its thousands."""
    whole, _, fraction = text.replace(",", "").partition(".")
    negative = whole.startswith("-")
    whole = whole.lstrip("-")
    head = cardinal(whole) if whole else ""
    words = f"{head} point {_digits(fraction)}".strip() if fraction else head
    return f"minus {words}" if negative else words


def year(value: int) -> str:
    """How years are said: 1865 "eighteen sixty-five", 1905 "nineteen oh five", 1900 "nineteen hundred",
    2000 "two thousand", 2008 "two thousand eight", 2024 "twenty twenty-four"."""
    if not 1000 <= value <= 9999 or value % 1000 == 0 or 2000 < value < 2010:
        return cardinal(value)
    high, low = divmod(value, 100)
    if low == 0:
        return f"{cardinal(high)} hundred"
    if low < 10:
        return f"{cardinal(high)} oh {cardinal(low)}"
    return f"{cardinal(high)} {cardinal(low)}"


def _digits(digits: str) -> str:
    return " ".join(_DIGIT_WORDS[int(d)] for d in digits if d.isdigit())


def _number(text: str) -> str:
    """Any plain number token: "007" digit by digit, "3.5" as a decimal, "1,200" as a cardinal."""
    text = text.replace(",", "")
    if "." in text:
        return decimal(text)
    if len(text) > 1 and text.startswith("0"):
        return _digits(text)
    return cardinal(text)


def _plural_year(value: int) -> str:
    """1990s -> "nineteen nineties", 1800s -> "eighteen hundreds", 2000s -> "two thousands"."""
    words = year(value)
    if words.endswith("y"):
        return words[:-1] + "ies"
    return words + ("es" if words.endswith("x") else "s")


# ------------------------------------------------------------------------------------------------ rules


def _money(match: re.Match[str]) -> str:
    symbol, whole, fraction, scale = match.group("sym"), match.group("whole"), match.group("frac"), match.group("scale")
    unit, units, sub, subs = _CURRENCIES[symbol]
    whole_n = int(whole.replace(",", ""))
    if scale:  # "$1.5 million" -> "one point five million dollars"
        amount = decimal(f"{whole}.{fraction}") if fraction else cardinal(whole)
        return f"{amount} {_SCALES[scale.lower()]} {units}"
    if fraction is not None and len(fraction) != 2:  # "$1.5" or "$0.125": read the number as it is written
        return f"{decimal(f'{whole}.{fraction}')} {units}"
    cents = int(fraction) if fraction else 0
    parts = []
    if whole_n or not cents:
        parts.append(f"{cardinal(whole)} {unit if whole_n == 1 else units}")
    if cents:
        parts.append(f"{cardinal(cents)} {sub if cents == 1 else subs}")
    return " and ".join(parts)


def _time(match: _TimeMatch) -> str:
    hour, minute, meridiem = int(match.group("h") or 0), int(match.group("m") or 0), match.group("ampm")
    if hour > 24 or minute > 59:
        return match.group(0) or ""
    words = cardinal(hour)
    if minute == 0:
        words += "" if meridiem else " o'clock"
    elif minute < 10:
        words += f" oh {cardinal(minute)}"
    else:
        words += f" {cardinal(minute)}"
    if meridiem:
        words += " AM" if meridiem.lower().startswith("a") else " PM"
        if meridiem.endswith(".") and re.match(_END_AHEAD, match.string[match.end():]):
            words += "."  # "at 3 p.m. Then ..." keeps the full stop that ended the sentence
    return words


def _day_month(day: str, month: str) -> tuple[int, str] | None:
    number = int(day)
    name = _MONTHS[_MONTH_BY_KEY[month.rstrip(".").lower()] - 1]
    return (number, name) if 1 <= number <= 31 else None


def _month_day(match: re.Match[str]) -> str:
    found = _day_month(match.group("day"), match.group("month"))
    if found is None:
        return match.group(0)
    words = f"{found[1]} {ordinal(found[0])}"
    return f"{words}, {year(int(match.group('year')))}" if match.group("year") else words


def _day_of_month(match: re.Match[str]) -> str:
    found = _day_month(match.group("day"), match.group("month"))
    if found is None:
        return match.group(0)
    words = f"the {ordinal(found[0])} of {found[1]}"
    return f"{words}, {year(int(match.group('year')))}" if match.group("year") else words


def _iso_date(match: re.Match[str]) -> str:
    y, m, d = (int(match.group(k)) for k in ("y", "m", "d"))
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return match.group(0)
    return f"{_MONTHS[m - 1]} {ordinal(d)}, {year(y)}"


def _slash_date(match: re.Match[str], day_first: bool) -> str:
    a, b, y = int(match.group("a")), int(match.group("b")), match.group("y")
    month, day = (b, a) if day_first else (a, b)
    if month > 12 and day <= 12:  # 25/12/2024 can only be day first
        month, day = day, month
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return match.group(0)
    full = int(y) if len(y) == 4 else 2000 + int(y)
    return f"{_MONTHS[month - 1]} {ordinal(day)}, {year(full)}"


def _bare_year(match: re.Match[str]) -> str:
    value = int(match.group("year"))
    if match.group("s"):
        return _plural_year(value)
    before = match.string[max(0, match.start() - 40):match.start()].split()  # a window: linear on long texts
    previous = before[-1].lower().strip("(\"'“‘,") if before else ""
    after = match.string[match.end():match.end() + 4]
    in_context = previous in _YEAR_CONTEXT or re.match(r"\s*(?:AD|BC|CE|BCE)\b", after) is not None
    # 1100-1999 in prose is almost always a year, and "fifteen hundred" is a fine reading of a count too;
    # a 20xx is read as a year only where the words around it say so ("two thousand twenty-four" otherwise).
    return year(value) if value < 2000 or in_context else cardinal(value)


def _latin(match: re.Match[str]) -> str:
    words = _LATIN[match.group(0).lower()]
    return words[0].upper() + words[1:] if match.group(0)[0].isupper() else words


def _saint_or_street(match: re.Match[str]) -> str:
    """"St. Louis" is Saint, "Main St." Street: Saint only before a name and not after one (a capitalised
    word that merely starts the sentence does not count as a name)."""
    text, start = match.string, match.start()
    before = text[max(0, start - 80):start].rstrip()
    words_before = before.split()
    after_name = bool(words_before) and words_before[-1][:1].isupper() and not (
        len(words_before) == 1 or re.search(r"[.!?]\s*\S+$", before))
    if re.match(r"\s+[A-Z]", text[match.end():]) and not after_name:
        return "Saint"
    return "Street." if re.match(_END_AHEAD, text[match.end():]) else "Street"


def _abbreviations(text: str) -> str:
    text = re.sub("|".join(rf"(?<![\w.]){re.escape(k)}(?=[\s,;:)]|$)" for k in _LATIN), _latin, text,
                  flags=re.IGNORECASE)
    for short, long in _TITLES.items():
        text = re.sub(rf"(?<![\w.]){re.escape(short)}(?=\s)", long, text)
    # Dr. after a street name and not before a name is Drive; otherwise Doctor.
    text = re.sub(r"(\b[A-Z][a-z]+\s+)Dr\.(\s*)$", r"\1Drive.\2", text)
    text = re.sub(r"(\b[A-Z][a-z]+\s+)Dr\.(?=\s+[a-z]|[,;:])", r"\1Drive", text)
    text = re.sub(r"(?<![\w.])Dr\.(?=\s)", "Doctor", text)
    text = re.sub(r"(?<![\w.])St\.", _saint_or_street, text)
    for short, long in _TRAILING.items():
        pattern = rf"(?<![\w.]){re.escape(short)}"
        flags = re.IGNORECASE if short.islower() else 0
        text = re.sub(pattern + _END_AHEAD, long + ".", text, flags=flags)
        text = re.sub(pattern, long, text, flags=flags)
    text = re.sub(r"(?<![\w.])vs(?=\s)", "versus", text)
    text = re.sub(r"(?<![\w.])(?:No\.|no\.|#)\s?(?=\d)", "number ", text)
    text = re.sub(r"\s&\s", " and ", text)
    return text


_NUM = r"\d{1,3}(?:,\d{3})+|\d+"
_MONEY = re.compile(rf"(?P<neg>-)?(?P<sym>[$£€¥])\s?(?P<whole>{_NUM})(?:\.(?P<frac>\d+))?"
                    r"(?:\s?(?P<scale>thousand|million|billion|trillion|[kK]|M|mn|bn|B)\b)?")
_AMPM = r"[aApP]\.?[mM]\.?(?![A-Za-z])"
_TIME = re.compile(rf"(?<![\d.:])(?P<h>\d{{1,2}})(?:(?::(?P<m>\d{{2}})(?!\d))(?:\s*(?P<ampm>{_AMPM}))?"
                   rf"|(?:[:.](?P<m2>\d{{2}}))?\s*(?P<ampm2>{_AMPM}))")
_ISO_DATE = re.compile(r"(?<![\d-])(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?![\d-])")
_SLASH_DATE = re.compile(r"(?<![\d/])(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4}|\d{2})(?![\d/])")
_MONTH_DAY = re.compile(rf"\b(?P<month>{_MONTH})\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<year>\d{{4}})\b)?")
_DAY_MONTH = re.compile(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month>{_MONTH})(?![a-z])"
                        r"(?:,?\s+(?P<year>\d{4})\b)?")
_DECADE_OR_YEAR = re.compile(r"(?<![\d,.$£€¥#-])(?P<year>1[1-9]\d\d|20\d\d)(?P<s>'?s)?(?![\d%]|[.,]\d)")
_SHORT_DECADE = re.compile(r"(?:(?<![\w'’])['’]|(?<=[Tt]he )|(?<=early )|(?<=late )|(?<=mid-)|(?<=mid ))"
                           r"(?P<d>[2-9])0['’]?s\b")  # the '90s, the 80s (but "30s left" is seconds)
_PERCENT = re.compile(rf"(?P<num>-?(?:{_NUM})(?:\.\d+)?)\s?%")
_DEGREES = re.compile(rf"(?P<num>-?(?:{_NUM})(?:\.\d+)?)\s?°\s?(?P<unit>[CF](?![a-z]))?")
_ORDINAL = re.compile(r"\b(?P<num>\d+)(?:st|nd|rd|th)\b", re.IGNORECASE)
_RANGE = re.compile(rf"(?<![\w.,-])(?P<a>{_NUM})\s?(?:–|-|—)\s?(?P<b>{_NUM})(?![\w.,-]\d|\d)")
_NEGATIVE = re.compile(r"(?:(?<=^)|(?<=[\s(\[]))[-−](?=\d)")
_FRACTION = re.compile(r"(?<![\d/.,])(?P<a>\d{1,3})/(?P<b>\d{1,3})(?![\d/]|[.,]\d)")
_VERSION = re.compile(r"(?<![\d.])\d+(?:\.\d+){2,}(?![\d]|\.\d)")
_PLAIN = re.compile(rf"(?:{_NUM})(?:\.\d+)?|\.\d+")


def _spaced(match: re.Match[str], words: str) -> str:
    """Keep a spoken number apart from letters it was glued to: "MP3" -> "MP three", "10km" -> "ten km"."""
    text = match.string
    before = " " if match.start() > 0 and text[match.start() - 1].isalpha() else ""
    after = " " if match.end() < len(text) and text[match.end()].isalpha() else ""
    return f"{before}{words}{after}"


def _range(match: re.Match[str]) -> str:
    a, b = match.group("a"), match.group("b")
    if len(a) == 4 and len(b) == 4 and a.isdigit() and b.isdigit() and 1000 <= int(a) <= 2099:
        return f"{year(int(a))} to {year(int(b))}"  # 1914-1918
    return f"{_number(a)} to {_number(b)}"


def _normalize_english(text: str, day_first: bool) -> str:
    text = _abbreviations(text)
    text = _MONEY.sub(lambda m: ("minus " if m.group("neg") else "") + _money(m), text)
    text = _ISO_DATE.sub(_iso_date, text)
    text = _SLASH_DATE.sub(lambda m: _slash_date(m, day_first), text)
    text = _MONTH_DAY.sub(_month_day, text)
    text = _DAY_MONTH.sub(_day_of_month, text)
    text = _FRACTION.sub(_fraction, text)
    text = _TIME.sub(lambda m: _time(_TimeMatch(m)), text)
    text = _PERCENT.sub(lambda m: f"{_number_signed(m.group('num'))} percent", text)
    text = _DEGREES.sub(_degrees, text)
    text = _ORDINAL.sub(lambda m: _spaced(m, ordinal(m.group("num"))), text)
    text = _RANGE.sub(_range, text)
    text = _DECADE_OR_YEAR.sub(lambda m: _spaced(m, _bare_year(m)), text)
    text = _SHORT_DECADE.sub(lambda m: cardinal(int(m.group("d")) * 10)[:-1] + "ies", text)
    text = _NEGATIVE.sub("minus ", text)
    text = _VERSION.sub(lambda m: _spaced(m, " point ".join(_number(p) for p in m.group(0).split("."))), text)
    return _PLAIN.sub(lambda m: _spaced(m, _number(m.group(0))), text)


def _fraction(match: re.Match[str]) -> str:
    """1/2 "one half", 3/4 "three quarters", 2/3 "two thirds"; odd ones (7/100) as "seven over one hundred"."""
    a, b = int(match.group("a")), int(match.group("b"))
    if b == 0 or b > 20 and b % 10:
        return f"{cardinal(a)} over {cardinal(b)}"
    name = {2: "half", 4: "quarter"}.get(b) or ordinal(b)
    if a != 1:
        name = "halves" if b == 2 else name + "s"
    return f"{cardinal(a)} {name}"


def _number_signed(text: str) -> str:
    return f"minus {_number(text[1:])}" if text.startswith("-") else _number(text)


def _degrees(match: re.Match[str]) -> str:
    unit = {"C": " Celsius", "F": " Fahrenheit"}.get(match.group("unit") or "", "")
    number = match.group("num")
    word = "degree" if number.lstrip("-") == "1" else "degrees"
    return f"{_number_signed(number)} {word}{unit}"


class _TimeMatch:
    """The two spellings of a time ("3:30 pm" and "3pm" / Whisper's "3.30 p.m.") seen as one match."""

    def __init__(self, match: re.Match[str]) -> None:
        self._match = match
        self.string = match.string

    def end(self) -> int:
        return self._match.end()

    def group(self, name: str | int) -> str | None:
        m = self._match
        if name == "m":
            return m.group("m") or m.group("m2")
        if name == "ampm":
            return m.group("ampm") or m.group("ampm2")
        return m.group(name)


def normalize(text: str, language: str = "en") -> str:
    """Spell out numbers, dates, times, money, percentages and common abbreviations for English text.

    `language` is a code such as "en", "en-US" or "en_GB" (British: 3/4/2024 is the 3rd of April);
    for any other language the text comes back unchanged. Line breaks and [bracketed tags] are kept,
    so paragraphs and pause marks survive for the narration splitter. Idempotent.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}.")
    code = (language or "").replace("_", "-").lower()
    if not (code == "en" or code.startswith("en-")):
        return text
    day_first = code not in ("en", "en-us", "en-ca", "en-ph")
    pieces = _TAG.split(text)  # odd indices are tags
    return "".join(piece if i % 2 else _normalize_english(piece, day_first) for i, piece in enumerate(pieces))


# British spellings folded into American ones for comparison only: a recogniser writes "harbor" for "harbour"
# and "center" for "centre" (Whisper learnt mostly American text), and neither is a wrong word.
_BRITISH_ENDINGS = (
    (re.compile(r"^(\w{2,})our(s|ed|ing|ite|ites|ful|less|able)?$"), r"\1or\2"),  # colour, harbours ("four" stays)
    (re.compile(r"^(?!entre$|timbre)(\w{2,})([bt])re(s|d)?$"), r"\1\2er\3"),  # centre, metres, fibre
    (re.compile(r"^(\w{3,})ogue(s)?$"), r"\1og\2"),  # catalogue, dialogues
)
_BRITISH_WORDS = {"grey": "gray", "greys": "grays", "programme": "program", "programmes": "programs",
                  "cheque": "check", "cheques": "checks", "tyre": "tire", "tyres": "tires", "kerb": "curb",
                  "plough": "plow", "aluminium": "aluminum", "jewellery": "jewelry", "mould": "mold",
                  "travelled": "traveled", "travelling": "traveling", "cancelled": "canceled"}


def spelling_key(word: str) -> str:
    """`word` (lower case, no punctuation) as an American spelling, so the two spellings of one word compare
    equal. Only for comparing; the rules leave alone the words they would turn into other words ("four",
    "hour", "your", "entre", "timbre")."""
    if word in _BRITISH_WORDS:
        return _BRITISH_WORDS[word]
    for pattern, replacement in _BRITISH_ENDINGS:
        if pattern.match(word):
            return pattern.sub(replacement, word)
    return word
