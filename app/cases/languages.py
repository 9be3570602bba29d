"""The languages a person speaks, as typed in a form: the codes the record keeps (ru, uk, en)
or the names the case page shows (русский, українська, English), in any of the pages'
languages, separated by commas, semicolons, spaces or lines. The intake form and the
section edit read them the same way."""

from __future__ import annotations

import re
from functools import cache

from babel import Locale

from app.i18n import LOCALES

_PARTS = re.compile(r"[,;\n]+")


@cache
def _codes_by_name() -> dict[str, str]:
    """Every two-letter language's name in English and the pages' languages, lowercased."""
    out: dict[str, str] = {}
    for locale in ("en", *LOCALES):
        for code, name in Locale.parse(locale).languages.items():
            if len(code) == 2 and code.isalpha():
                out.setdefault(name.casefold(), code)
    return out


def _one(word: str) -> str:
    """A code, or the code a language's name stands for; anything else as typed (lowercased),
    for the record's check to refuse naming the field."""
    word = word.strip().casefold()
    return _codes_by_name().get(word, word)


def language_codes(text: str) -> list[str]:
    """The codes of the languages typed, in order, each once."""
    found: list[str] = []
    for typed in _PARTS.split(text):
        part = typed.strip()
        if not part:
            continue
        whole = part.casefold()
        words = [whole] if whole in _codes_by_name() else part.split()
        for word in words:
            code = _one(word)
            if code not in found:
                found.append(code)
    return found
