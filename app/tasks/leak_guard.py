"""The leak guard: text a volunteer will read must not identify the person.

It refuses text holding the person's name or an alias (in any of Cyrillic or Latin, in any
usual transliteration, in the grammatical cases of Russian, Ukrainian and Belarusian: "с
Петровым", "з Петровим", "Олегу", "Олеже", "Алегам"), any phone number, messenger handle
or e-mail address, or the person's birth date in common formats (ordinals too: "March
14th", "14-го марта") — also when disguised with zero-width characters, look-alike letters
from another script, or letters spaced apart. A finding names the kind of data, never the
data itself.
"""

from __future__ import annotations

import enum
import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from app.crypto.normalize import fold_token, transliterate

MIN_NAME_PART = 3
MIN_PHONE_DIGITS = 7
FUZZY_MIN = 6  # words this long also match at one edit's distance ("марта" is not "Мария")
MIN_STEM = 3  # a declined form is matched only on a stem this long (skeleton letters)
MIN_LATIN_STEM = 4  # ... and this long in Latin text, where English words abound
MIN_ADJECTIVE_STEM = 5  # adjectival endings (Колосовского) only on stems this long
MIN_SHORT_STEM = 2  # Оля, Ира: two-letter stems, matched letter for letter in Cyrillic only


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
        "АВЕКМНОРСТХУаеорсхуіјѕԁԛԝӏгп",
        "ABEKMHOPCTXYaeopcxyijsdqwlrn",
        strict=True,
    )
)
_GREEK_TO_LAT = dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοριν", "ABEZHIKMNOPTYXaopiv", strict=True))
_LAT_TO_CYR = {v: k for k, v in _CYR_TO_LAT.items() if k.isupper() or v in "aeopcxy"}
_INVISIBLE = {"Cf", "Cc", "Mn", "Me"}
# What NFKC leaves alone but a reader takes for a plain letter or mark: Latin small capitals,
# Armenian and IPA look-alikes, dotless i and j, slashes and dashes of other kinds; and blank
# letters that show as nothing (Hangul fillers, the Braille blank), dropped.
_CONFUSABLES = str.maketrans(
    {
        **dict(zip("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ", "abcdefghijklmnoprstuvwyz", strict=True)),
        **dict(zip("օսոհցզıȷɑɡɩʋ", "ounhgqijagiv", strict=True)),
        **dict.fromkeys("\u2044\u2215\u29f8", "/"),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043", "-"),
        **dict.fromkeys("\u115f\u1160\u3164\uffa0\u2800"),
    }
)
# Explicit right-to-left runs (embedding, override, isolate) up to their end: text typed
# backwards inside an override shows forwards ("\u202eyksvosoloK" reads "Kolosovsky").
_BIDI_CONTROLS = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
_RTL_RUN = re.compile("[\u202b\u202e\u2067]([^\u202a-\u202e\u2066-\u2069\n]*)")
# Digits standing in for letters inside a word (K0l0s0vsky), for the name check only.
_LEET = str.maketrans("013457", "oieast")


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
    """NFKC, invisible and combining marks removed, look-alikes folded (per word, between
    scripts)."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    text = text.translate(_CONFUSABLES)
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


# Case endings of Russian, Ukrainian and Belarusian nouns, given names and surnames. Surname
# suffixes (-ов, -ев, -ін) are deliberately absent: Петров is not a case of Пётр.
_NOUN_ENDINGS = (
    "а", "я", "у", "ю", "е", "є", "і", "ї", "и", "ы", "о", "ом", "ем", "єм", "ам", "ям", "ой",
    "ей", "ою", "ею", "єю", "ай", "яй", "ым", "им", "ім", "ых", "их", "іх", "ыми", "ими", "імі",
    "ами", "ями", "ах", "ях", "ові", "еві", "єві",
)  # fmt: skip
# Adjectival endings (Колосовский, Колосовского, Колосовская), only on long stems: on short
# ones they make everyday adjectives (Лев: левый, левая).
_ADJECTIVE_ENDINGS = (
    "ий", "ый", "ій", "ая", "яя", "ое", "ее", "ую", "юю", "ого", "его", "ому", "ему",
)  # fmt: skip
_NOUN_SKELETONS = frozenset(fold_token(e) for e in _NOUN_ENDINGS)
_SKELETON_ENDINGS = _NOUN_SKELETONS | {fold_token(e) for e in _ADJECTIVE_ENDINGS}
_LETTER_ENDINGS = frozenset(transliterate(e) for e in _NOUN_ENDINGS)
# Everyday words that are also a case of a short name (Аля/але, Аня/ані, Эля/еле, Ада/аду,
# Мая/маю, має): never taken for the name. Compared as skeletons and transliterations.
_COMMON_WORDS = frozenset(
    form
    for word in ("але", "ані", "ани", "еле", "ели", "ела", "аду", "иду", "маю", "має", "мае", "май")
    for form in (fold_token(word), transliterate(word))
)
_VOWELS = "aeiouy"


@dataclass(frozen=True)
class _Word:
    """A word of the text, as a skeleton and as plain letters."""

    skeleton: str
    letters: str
    cyrillic: bool


def _text_words(words: list[str]) -> list[_Word]:
    return [
        _Word(_fold(w), transliterate(w.casefold()), any(_script(ch) == "cyr" for ch in w))
        for w in _candidates(words)
    ]


def _stems(word: str, endings: frozenset[str], shortest: int) -> set[str]:
    """The word and the word without each case ending it has, none shorter than shortest."""
    out = {word}
    for ending in endings:
        if word.endswith(ending) and len(word) - len(ending) >= shortest:
            out.add(word[: -len(ending)])
    return out


def _alternations(stem: str) -> set[str]:
    """Stems with their usual consonant and vowel alternations.

    Олег/Олеже, Ольга/Ользі (г: ж, з), Наталка/Наталці (к: ц), Павел/Павла,
    Кравец/Кравца (fleeting vowel), Федір/Федора (Ukrainian і: о, е), Пятроў/Пятрова (ў: в).
    """
    out = {stem}
    head, last = stem[:-1], stem[-1:]
    if last in "gh" and not head.endswith(("c", "s", "z")):
        out |= {head + "zh", head + "z"}
    if last == "k":
        out.add(head + "c")
    if m := re.fullmatch(r"(.*[^aeiouy])[eo]([lckv])", stem):
        out.add(m[1] + m[2])
    if m := re.fullmatch(r"(.*[^aeiouy])i([^aeiouy])", stem):
        out |= {m[1] + "o" + m[2], m[1] + "e" + m[2]}
    if m := re.fullmatch(r"(.*[aeo])u", stem):
        out.add(m[1] + "v")
    return out


def _skeleton_forms(word: str) -> tuple[frozenset[str], frozenset[str]]:
    """Declined forms of a name word's skeleton: (for Cyrillic text, for Latin text).

    Latin text needs a longer stem (English is full of them: Алик + e is "alike"). Belarusian
    akanie is included: Олег, Алегам.
    """
    cyrillic: set[str] = set()
    latin: set[str] = set()
    stems = _stems(word, _SKELETON_ENDINGS, MIN_STEM)
    stems |= {"a" + s[1:] for s in stems if s.startswith("o") and len(s) > MIN_STEM}
    for alt in {a for s in stems for a in _alternations(s) if len(a) >= MIN_STEM}:
        for ending in (*_SKELETON_ENDINGS, ""):
            if ending not in _NOUN_SKELETONS and len(alt) < MIN_ADJECTIVE_STEM:
                continue
            form = fold_token(alt + ending)
            cyrillic.add(form)
            if len(alt) >= MIN_LATIN_STEM + (len(ending) < 2):
                latin.add(form)
    return frozenset(cyrillic - _COMMON_WORDS), frozenset(latin)


def _letter_forms(word: str) -> frozenset[str]:
    """Declined forms of a short name letter for letter, doubles kept (Анна: анну, not ану)."""
    forms = {
        alt + ending
        for stem in _stems(word, _LETTER_ENDINGS, MIN_SHORT_STEM)
        for alt in _alternations(stem)
        if len(alt) >= MIN_SHORT_STEM
        for ending in (*_LETTER_ENDINGS, "")
    }
    return frozenset(forms - _COMMON_WORDS)


@dataclass(frozen=True)
class _NamePart:
    """One word of a name, with its declined forms."""

    skeleton: str
    cyrillic_forms: frozenset[str]
    latin_forms: frozenset[str]
    letter_forms: frozenset[str]  # matched in Cyrillic text only

    @classmethod
    def of(cls, word: str) -> _NamePart:
        """The part for one cleaned word of a name."""
        skeleton = _fold(word)
        cyrillic, latin = _skeleton_forms(skeleton)
        return cls(skeleton, cyrillic, latin, _letter_forms(transliterate(word.casefold())))

    def matches(self, word: _Word) -> bool:
        """Whether a word of the text is this name part, in any case or spelling."""
        if _near(self.skeleton, word.skeleton):
            return True
        if word.cyrillic:
            forms = self.cyrillic_forms
            if word.skeleton in forms or word.letters in self.letter_forms:
                return True
        else:
            forms = self.latin_forms
            if word.skeleton in forms:
                return True
        # A declined form spelt one letter apart: a Russian name written the Ukrainian way
        # (Александр, genitive Александра: Олександра) or a typo in a declined form.
        return any(_near(form, word.skeleton) for form in forms)


def _name_parts(names: Iterable[str]) -> list[_NamePart]:
    parts = {}
    for name in names:
        for word in _words(clean(name)):
            if len(_fold(word)) >= MIN_NAME_PART:
                parts[_fold(word)] = _NamePart.of(word)
    return list(parts.values())


_PHONE_RE = re.compile(r"(?<![\w])\+?\(?\d[\d\s().\-/]{5,}\d")
_HANDLE_RE = re.compile(r"(?:^|[\s(:,;])@[A-Za-z0-9_.]{3,}|t\.me/\w+|signal\.me/\S+", re.I)
_EMAIL_RE = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]{2,}")


def _has_phone(text: str) -> bool:
    for match in _PHONE_RE.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if len(digits) >= MIN_PHONE_DIGITS and not _looks_like_date_or_time(match.group(0)):
            return True
    return False


# A date: day or month first (14.03.2025, 3/14/25) or the year first (2025-03-14). A first
# part of three digits is no date: 123-45-67 is a local phone number as Russians write it.
_DATE_LIKE = re.compile(
    r"\s*(?:\d{1,2}[./\-]\d{1,2}[./\-]\d{2,4}|\d{4}[./\-]\d{1,2}[./\-]\d{1,2})\s*"
)


def _looks_like_date_or_time(s: str) -> bool:
    return bool(_DATE_LIKE.fullmatch(s))


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


# A day, possibly an ordinal: 14th, 1st, 14-го, 14-е, 14-ого, 14-га.
_DAY = r"(\d{1,2})(?:st|nd|rd|th|\s*-?\s*(?:ого|го|га|ое|е|й|ий))?"
_WORDED_DATE = re.compile(
    rf"{_DAY}\s+(?:of\s+)?([^\W\d_]+)\.?,?\s+(\d{{2,4}})"
    rf"|([^\W\d_]+)\.?\s+(?:the\s+)?{_DAY},?\s+(\d{{2,4}})",
    re.IGNORECASE,
)


def _worded_dates(text: str, dob: date) -> bool:
    for m in _WORDED_DATE.finditer(text):
        day, word, year = (m.group(1), m.group(2), m.group(3))
        if day is None:
            word, day, year = m.group(4), m.group(5), m.group(6)
        if _month(word) == dob.month and int(day) == dob.day and dob.year in _year(year, dob):
            return True
    return False


def _near(a: str, b: str) -> bool:
    """Equal, or (for longer words) one edit apart: Тимофій/Тимофей, Kolosovski/Kolosovskai.

    The first letters agree, or are both vowels (Олександр/Александр): so Петров is not
    метров or ветров.
    """
    if a == b:
        return True
    if min(len(a), len(b)) < FUZZY_MIN or abs(len(a) - len(b)) > 1:
        return False
    if a[0] != b[0] and not (a[0] in _VOWELS and b[0] in _VOWELS):
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1] <= 1


def _matches(parts: list[_NamePart], words: list[_Word]) -> bool:
    return any(p.matches(w) for p in parts for w in words)


def _visual(text: str) -> str:
    """The text with each explicit right-to-left run reversed, as it is shown."""
    return _RTL_RUN.sub(lambda m: m.group(1)[::-1], text)


def _unleet(text: str) -> str:
    """Digits inside words that also hold letters, read as the letters they stand for."""
    return re.sub(
        r"\w+",
        lambda m: m[0].translate(_LEET) if re.search(r"[^\W\d_]", m[0]) else m[0],
        text,
    )


def _date_view(text: str) -> str:
    """Dates typed apart: spaces (of any width) and line-break hyphens between digits and
    separators dropped, "dot"/"точка" read as a dot."""
    text = re.sub(r"\s+(?:dot|точка|крапка|кропка)\s+", ".", text, flags=re.IGNORECASE)
    text = re.sub(r"(?<=\d)-\s*\n\s*(?=\d)", "", text)
    return re.sub(r"(?<=[\d./\-])\s+(?=[\d./\-])", "", text)


# An e-mail address spelt out: name at domain dot org, name (at) domain [dot] org, name
# собака domain точка ru.
# Only with a country's or a common top-level domain at its end: "coffee at reception dot
# desk" is not an address.
_SPELT_EMAIL_RE = re.compile(
    r"[\w.+-]{2,}\s*(?:\(at\)|\[at\]|\{at\}|\sat\s|\(?собака\)?|\(?равлик\)?)\s*"
    r"[\w-]{2,}\s*(?:\.|\(dot\)|\[dot\]|\{dot\}|\sdot\s|\sточка\s|\sкрапка\s)\s*"
    r"(?:com|org|net|info|io|me|eu|ru|su|ua|by|kz|kg|uz|md|am|az|ge|de|pl|lt|lv|ee|fi|cz|sk"
    r"|at|ch|nl|fr|uk|se|no|dk|tr|rs|il|us|ca)\b",
    re.IGNORECASE,
)


def find_leaks(text: str, person: PersonMarkers) -> list[Finding]:
    """Every kind of identifying data found in text, in a stable order (empty when clean).

    Text with right-to-left controls is checked as typed and as shown."""
    found = _find(text, person)
    if _BIDI_CONTROLS.search(text):
        shown = _find(_visual(text), person)
        found = [kind for kind in Finding if kind in found or kind in shown]
    return found


def _find(text: str, person: PersonMarkers) -> list[Finding]:
    cleaned = clean(text)
    found: list[Finding] = []
    candidates = _text_words(_words(cleaned))
    if re.search(r"\d", cleaned):
        candidates += _text_words(_words(_unleet(cleaned)))
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
        or _SPELT_EMAIL_RE.search(cleaned)
        or any(len(h) >= 5 and h in squashed for h in handles)
    ):
        found.append(Finding.HANDLE)
    spaced = _date_view(cleaned)
    # ... and a hyphen between two digits read as a broken line (14.0-⏎3.1994).
    dates = (cleaned, spaced, re.sub(r"(?<=\d)-(?=\d)", "", spaced))
    if person.date_of_birth and any(
        _numeric_dates(view, person.date_of_birth) or _worded_dates(view, person.date_of_birth)
        for view in dates
    ):
        found.append(Finding.BIRTH_DATE)
    return found
