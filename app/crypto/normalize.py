"""Normalisation for matching people across scripts and spellings (blind indexes, leak guard).

A name becomes a *skeleton*: NFKC, case-folded, invisible format characters (zero-width,
bidirectional controls, soft hyphen) removed, apostrophes dropped, split on anything that is
not a letter or digit, Russian/Ukrainian/Belarusian Cyrillic transliterated to Latin, Latin
diacritics and foreign conventions (Polish sz/cz, German sch/tsch/w) mapped, then the usual
spelling variants folded: y/i/j, yu/iu, ya/ia, ye/ie/e, yo/io/e (ё), kh/h and g/h
(Олег = Oleg = Oleh), ts/tz/c (Łacinka), x/ks, -iy/-ii/-y endings, doubled letters.
So "Иван Петров", "Ivan Petrov" and "Іван Петров" all become "ivan petrov". Folding is
deliberately generous: a blind index is truncated anyway, and a leak guard should rather
over-match."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

# One table for the three languages; where they differ (Г: ru g, uk/be h; И: ru i, uk y)
# the later folds (g->h, y->i) make both spellings meet.
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "ё": "e",
    "є": "ye", "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "yi", "й": "y", "к": "k",
    "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ў": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
    "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip
# Latin letters with diacritics used in scientific, Czech-style, Polish and Belarusian
# Łacinka transliterations; others lose their marks.
_LATIN = {
    "š": "sh", "ž": "zh", "č": "ch", "ś": "s", "ź": "z", "ć": "c", "ł": "l", "ŭ": "u",
    "ß": "ss", "ø": "o", "đ": "d", "æ": "ae", "œ": "oe",
}  # fmt: skip
_APOSTROPHES = dict.fromkeys(map(ord, "'’ʼ`´ʹ′‘"), None)
# Ordered folds; applied until nothing changes.
_FOLDS = [
    ("shch", "sh"), ("tsch", "ch"), ("sch", "sh"), ("sz", "sh"), ("cz", "ch"),
    ("kh", "h"), ("g", "h"), ("tz", "c"), ("ts", "c"), ("x", "ks"), ("w", "v"), ("ph", "f"),
    ("j", "i"), ("y", "i"), ("ie", "e"), ("io", "e"),
]  # fmt: skip
_DOUBLES = re.compile(r"([a-z])\1+")
_SPLIT = re.compile(r"[^\w]+|_+")


def _clean(text: str) -> str:
    """NFKC, case-fold, drop format characters (zero-width, bidi controls) and apostrophes."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return text.translate(_APOSTROPHES)


def tokenize(text: str) -> list[str]:
    """Words of a text after cleaning, in order (letters and digits; punctuation splits)."""
    return [t for t in _SPLIT.split(_clean(text)) if t]


def transliterate(token: str) -> str:
    """Cyrillic and accented Latin to plain lower-case ASCII letters and digits."""
    out = []
    for ch in unicodedata.normalize("NFC", token):
        if ch in _CYRILLIC:
            out.append(_CYRILLIC[ch])
        elif ch in _LATIN:
            out.append(_LATIN[ch])
        else:
            base = unicodedata.normalize("NFKD", ch)
            out.append("".join(c for c in base if c.isascii() and c.isalnum()))
    return "".join(out)


def fold_token(token: str) -> str:
    """The spelling skeleton of one word (idempotent)."""
    word = transliterate(token)
    while True:
        before = word
        for old, new in _FOLDS:
            word = word.replace(old, new)
        word = _DOUBLES.sub(r"\1", word)
        if word == before:
            return word


def name_tokens(text: str) -> list[str]:
    """Skeletons of each word of a name (or of any text, for the leak guard)."""
    return [s for s in (fold_token(t) for t in tokenize(text)) if s]


def normalize_name(text: str) -> str:
    """A name as one string of word skeletons in their original order."""
    return " ".join(name_tokens(text))


def name_key(text: str) -> str:
    """Order-independent form of a name ("Petrov Ivan" = "Ivan Petrov"), for blind indexes."""
    return " ".join(sorted(name_tokens(text)))


def normalize_phone(text: str) -> str:
    """A phone number as international digits (E.164 without '+').

    National forms common to the clients are expanded: Russian/Kazakh 8XXXXXXXXXX -> 7...,
    Belarusian 80XXXXXXXXX -> 375..., Ukrainian 0XXXXXXXXX -> 380..., bare Russian 9XXXXXXXXX
    -> 79...; 00 is an international prefix. Anything else is kept as its digits."""
    cleaned = _clean(text).strip()
    digits = "".join(ch for ch in cleaned if ch.isdigit() and ch.isascii())
    if not digits:
        raise ValueError("a phone number needs digits")
    if cleaned.startswith("+"):
        return digits
    for length, prefix, drop, country in _NATIONAL_FORMS:
        if (length is None or len(digits) == length) and digits.startswith(prefix):
            return country + digits[drop:]
    return digits


# (length or None, national prefix, digits to drop, country code), first match wins.
_NATIONAL_FORMS: list[tuple[int | None, str, int, str]] = [
    (None, "00", 2, ""),
    (11, "80", 2, "375"),
    (11, "8", 1, "7"),
    (10, "0", 0, "38"),
    (10, "9", 0, "7"),
]


_HANDLE_PREFIXES = re.compile(r"^(https?://)?(www\.)?(t\.me/|telegram\.me/|signal\.me/#u/)")


def normalize_handle(text: str) -> str:
    """A messenger handle: no '@', no t.me link prefix, case-folded, invisible characters gone."""
    cleaned = "".join(_clean(text).split())
    cleaned = _HANDLE_PREFIXES.sub("", cleaned).lstrip("@")
    if not cleaned:
        raise ValueError("empty handle")
    return cleaned


_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y", "%Y.%m.%d", "%d.%m.%y")


def normalize_date(value: date | str) -> str:
    """A date as ISO YYYY-MM-DD; text in the usual European orders (day first) is accepted."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = "".join(_clean(value).split())
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date().isoformat()  # noqa: DTZ007 - a date
        except ValueError:
            continue
    raise ValueError("unrecognised date")
