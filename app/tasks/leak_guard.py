"""The leak guard: text a volunteer will read must not identify the person.

It refuses text holding the person's name or an alias (in any of Cyrillic or Latin, in any
usual transliteration), any phone number, messenger handle or e-mail address, or the
person's birth date in common formats — also when disguised with zero-width characters,
look-alike letters from another script, or letters spaced apart. A finding names the kind of
data, never the data itself.
"""

from __future__ import annotations

import enum
import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from app.crypto.normalize import fold_token

MIN_NAME_PART = 3
MIN_PHONE_DIGITS = 7
FUZZY_MIN = 5  # words this long also match at one edit's distance


class Finding(enum.StrEnum):
    """Kinds of identifying data the guard finds."""

    NAME = "the person's name"
    ALIAS = "an alias of the person"
    PHONE = "a phone number"
    HANDLE = "a messenger handle or e-mail address"
    BIRTH_DATE = "the person's birth date"


@dataclass(frozen=True)
class PersonMarkers:
    """What identifies the person, decrypted by the caller for the check only."""

    legal_name: str | None = None
    aliases: Sequence[str] = field(default_factory=tuple)
    handles: Sequence[str] = field(default_factory=tuple)
    date_of_birth: date | None = None


# Letters that look alike across scripts, folded towards the word's main script.
_CYR_TO_LAT = dict(
    zip(
        "АВЕКМНОРСТХУаеорсхуіјѕԁԛԝӏ",
        "ABEKMHOPCTXYaeopcxyijsdqwl",
        strict=True,
    )
)
_GREEK_TO_LAT = dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοριν", "ABEZHIKMNOPTYXaopiv", strict=True))
_LAT_TO_CYR = {v: k for k, v in _CYR_TO_LAT.items() if k.isupper() or v in "aeopcxy"}
_INVISIBLE = {"Cf", "Cc", "Mn", "Me"}


def _fold(word: str) -> str:
    return fold_token(word.casefold())


def _script(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    name = unicodedata.name(ch, "")
    if name.startswith("CYRILLIC"):
        return "cyr"
    if name.startswith(("LATIN", "GREEK")):
        return "lat"
    return None


def _fold_word(word: str) -> str:
    word = "".join(_GREEK_TO_LAT.get(ch, ch) for ch in word)
    scripts = [s for s in map(_script, word) if s]
    if "cyr" not in scripts or "lat" not in scripts:
        return word
    # Mixed scripts inside one word: a disguise. Fold look-alikes to the majority script.
    # Ties go to Latin, where every look-alike has a home.
    if scripts.count("cyr") > scripts.count("lat"):
        return "".join(_LAT_TO_CYR.get(ch, ch) for ch in word)
    return "".join(_CYR_TO_LAT.get(ch, ch) for ch in word)


def clean(text: str) -> str:
    """NFKC, invisible and combining marks removed, look-alikes folded per word."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _INVISIBLE)
    text = unicodedata.normalize("NFC", text)
    return re.sub(r"\w+", lambda m: _fold_word(m.group(0)), text)


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]+", text)


def _candidates(words: list[str]) -> set[str]:
    """Each word, each pair run together, and runs of spaced single letters joined."""
    out = set(words)
    out.update(a + b for a, b in itertools.pairwise(words))
    run: list[str] = []
    for w in [*words, ""]:
        if len(w) == 1:
            run.append(w)
            continue
        if len(run) >= MIN_NAME_PART:
            out.add("".join(run))
        run = []
    return out


def _name_parts(names: Iterable[str]) -> set[str]:
    parts = set()
    for name in names:
        for word in _words(clean(name)):
            norm = _fold(word)
            if len(norm) >= MIN_NAME_PART:
                parts.add(norm)
    return parts


_PHONE_RE = re.compile(r"(?<![\w])\+?\(?\d[\d\s().\-/]{5,}\d")
_HANDLE_RE = re.compile(r"(?:^|[\s(:,;])@[A-Za-z0-9_.]{3,}|t\.me/\w+|signal\.me/\S+", re.I)
_EMAIL_RE = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]{2,}")


def _has_phone(text: str) -> bool:
    for match in _PHONE_RE.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if len(digits) >= MIN_PHONE_DIGITS and not _looks_like_date_or_time(match.group(0)):
            return True
    return False


def _looks_like_date_or_time(s: str) -> bool:
    return bool(re.fullmatch(r"\s*\d{1,4}[./\-]\d{1,2}[./\-]\d{2,4}\s*", s))


_MONTHS = {
    # English, Russian, Ukrainian and Belarusian month names (nominative and genitive stems).
    1: ("jan", "январ", "янв", "січ", "студз"),
    2: ("feb", "феврал", "фев", "лют"),
    3: ("mar", "март", "берез", "сакав"),
    4: ("apr", "апрел", "квіт", "красав"),
    5: ("may", "ма", "трав"),
    6: ("jun", "июн", "черв"),
    7: ("jul", "июл", "лип"),
    8: ("aug", "август", "серп", "жнів"),
    9: ("sep", "сентябр", "вересн", "верас"),
    10: ("oct", "октябр", "жовт", "кастрыч"),
    11: ("nov", "ноябр", "листопад", "лістапад"),
    12: ("dec", "декабр", "груд", "снеж"),
}


def _month(word: str) -> int | None:
    word = word.casefold()
    best: tuple[int, int] | None = None
    for number, stems in _MONTHS.items():
        for stem in stems:
            if word.startswith(stem) and (best is None or len(stem) > best[1]):
                best = (number, len(stem))
    if best is None or (best[1] <= 2 and len(word) > 4):
        return None
    return best[0]


def _year(text: str, dob: date) -> set[int]:
    y = int(text)
    if len(text) == 4:
        return {y}
    return {1900 + y, 2000 + y} & {dob.year}


def _numeric_dates(text: str, dob: date) -> bool:
    # A lookahead so that overlapping candidates ("77 14.03.1994") are all tried.
    sep = r"\s*[./\-\s]\s*"
    pattern = rf"(?=(?<!\d)(\d{{1,4}}){sep}(\d{{1,2}}){sep}(\d{{2,4}})(?!\d))"
    for m in re.finditer(pattern, text):
        a, b, c = m.groups()
        options = []
        if len(a) == 4:
            options.append((int(a), int(b), int(c)))  # ISO: Y-M-D
        else:
            for y in _year(c, dob):
                options += [(y, int(b), int(a)), (y, int(a), int(b))]  # D.M.Y and M/D/Y
        if (dob.year, dob.month, dob.day) in options:
            return True
    return False


def _worded_dates(text: str, dob: date) -> bool:
    pattern = r"(\d{1,2})\s+([^\W\d_]+)\.?,?\s+(\d{2,4})|([^\W\d_]+)\.?\s+(\d{1,2}),?\s+(\d{2,4})"
    for m in re.finditer(pattern, text):
        day, word, year = (m.group(1), m.group(2), m.group(3))
        if day is None:
            word, day, year = m.group(4), m.group(5), m.group(6)
        if _month(word) == dob.month and int(day) == dob.day and dob.year in _year(year, dob):
            return True
    return False


def _near(a: str, b: str) -> bool:
    """Equal, or (for longer words) one edit apart: Тимофій/Тимофей, Kolosovski/Kolosovskai."""
    if a == b:
        return True
    if min(len(a), len(b)) < FUZZY_MIN or abs(len(a) - len(b)) > 1:
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1] <= 1


def _matches(parts: set[str], candidates: set[str]) -> bool:
    return any(_near(p, c) for p in parts for c in candidates)


def find_leaks(text: str, person: PersonMarkers) -> list[Finding]:
    """Every kind of identifying data found in text, in a stable order (empty when clean)."""
    cleaned = clean(text)
    found: list[Finding] = []
    candidates = {_fold(w) for w in _candidates(_words(cleaned))}
    if person.legal_name and _matches(_name_parts([person.legal_name]), candidates):
        found.append(Finding.NAME)
    if person.aliases and _matches(_name_parts(person.aliases), candidates):
        found.append(Finding.ALIAS)
    if _has_phone(cleaned):
        found.append(Finding.PHONE)
    squashed = _fold(re.sub(r"[\W_]+", "", cleaned))
    handles = {_fold(re.sub(r"[\W_]+", "", h)) for h in person.handles}
    if (
        _HANDLE_RE.search(cleaned)
        or _EMAIL_RE.search(cleaned)
        or any(len(h) >= 5 and h in squashed for h in handles)
    ):
        found.append(Finding.HANDLE)
    if person.date_of_birth and (
        _numeric_dates(cleaned, person.date_of_birth)
        or _worded_dates(cleaned, person.date_of_birth)
    ):
        found.append(Finding.BIRTH_DATE)
    return found
