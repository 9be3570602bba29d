"""Countries as a person picks them from a list: ISO 3166 codes (what the schemas accept),
named in the page's language by Babel's CLDR data, sorted as that language sorts them."""

from __future__ import annotations

from functools import cache

import pycountry
from babel.core import Locale

from app.i18n.core import current_locale, lazy

# Shown first: where the people Haven serves come from, and where they most often are.
COMMON = ("RU", "BY", "UA", "GE", "AM", "KZ", "KG", "UZ", "TR", "RS", "LT", "PL", "DE")

Choice = tuple[str, str]


# Cyrillic alphabets in their own order (code points put і, ї, є, ґ, ў after я).
_ALPHABETS = {
    "ru": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    "uk": "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя",
    "be": "абвгдеёжзійклмнопрстуўфхцчшыьэюя",
}


def sort_key(locale: str, name: str) -> tuple[int, ...]:
    """A key that sorts names as a reader of locale expects to find them in a list."""
    order = {letter: i for i, letter in enumerate(_ALPHABETS.get(locale, ""))}
    return tuple(order.get(c, 1_000 + ord(c)) for c in name.casefold())


@cache
def _names(locale: str) -> dict[str, str]:
    territories = Locale.parse(locale).territories
    return {c.alpha_2: str(territories.get(c.alpha_2) or c.name) for c in pycountry.countries}


def country_name(code: str) -> str:
    """The country's name in the current locale (the code itself when unknown)."""
    return _names(current_locale()).get(code.upper(), code)


def country_groups() -> list[tuple[object, list[Choice]]]:
    """`<optgroup>`s for a country `<select>`: the common ones, then every country."""
    locale = current_locale()
    names = _names(locale)
    everything = sorted(names.items(), key=lambda item: sort_key(locale, item[1]))
    return [
        (lazy("Most often chosen"), [(code, names[code]) for code in COMMON]),
        (lazy("All countries"), everything),
    ]
