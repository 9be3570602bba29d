"""Invented people for `haven demo`: Russian and Ukrainian names from Faker, Belarusian ones
from a small invented list, in Cyrillic with a passport-style Latin spelling as an alias.

Every value is synthetic. Contacts are messenger usernames ending in `_demo` (no phone
numbers, which could belong to someone real)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from faker import Faker

_RU = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "ie", "ы": "y", "ь": "", "э": "e", "ю": "iu",
    "я": "ia",
}  # fmt: skip
# Ukrainian (the 2010 national table) and Belarusian differ from Russian in a few letters.
_UK = {**_RU, "г": "h", "ґ": "g", "и": "y", "і": "i", "ї": "i", "є": "ie", "й": "i",
       "х": "kh", "щ": "shch", "ю": "iu", "я": "ia", "'": "", "ʼ": ""}  # fmt: skip
_BE = {**_RU, "г": "h", "і": "i", "ў": "u", "ы": "y", "х": "kh", "'": ""}  # fmt: skip
_TABLES = {"RU": _RU, "UA": _UK, "BY": _BE}

BELARUSIAN_FIRST = (
    "Алесь", "Андрэй", "Уладзімір", "Зміцер", "Павел", "Мікола", "Сяргей", "Язэп",
    "Янка", "Раман", "Віталь", "Антон", "Юрась", "Максім", "Цімох", "Ігар",
)  # fmt: skip
BELARUSIAN_LAST = (
    "Карповіч", "Лукашэвіч", "Шыманскі", "Навумчык", "Ждановіч", "Касцюкевіч", "Барысевіч",
    "Мацкевіч", "Савіцкі", "Грыневіч", "Янушкевіч", "Дубовік", "Латушка", "Сакалоўскі",
)  # fmt: skip
BELARUSIAN_PATRONYMIC = ("Алегавіч", "Віктаравіч", "Іванавіч", "Міхайлавіч", "Пятровіч")

COUNTRIES_NOW = ("GE", "AM", "KZ", "LT", "PL", "DE", "RS", "TR", "LV", "FR")
CITIES = {
    "GE": "Тбилиси", "AM": "Ереван", "KZ": "Астана", "LT": "Вильнюс", "PL": "Варшава",
    "DE": "Берлин", "RS": "Белград", "TR": "Стамбул", "LV": "Рига", "FR": "Париж",
}  # fmt: skip
SITUATIONS = (
    "deserted", "awol", "evading_mobilisation", "refused_service", "conscientious_objector",
)  # fmt: skip
SERVICE = ("conscript", "mobilised", "contract", "reservist")
ARTICLES = {"RU": ("337", "338", "339", "328"), "BY": ("445", "446", "447"), "UA": ("407", "408")}
LANGUAGE = {"RU": (), "BY": ("be",), "UA": ("uk",)}
NOTES = (
    "Ушёл из части, живёт у знакомых. Просит помощи с документами.",
    "Получил повестку, выехал через границу. Нужна консультация юриста.",
    "Покинув частину, зараз у безпечному місці. Потрібна допомога з притулком.",
    "Мае патрэбу ў юрыдычнай дапамозе і часовым жытле.",
)


def latin(name: str, citizenship: str) -> str:
    """A passport-style Latin spelling of a Cyrillic name."""
    table = _TABLES[citizenship]
    words = []
    for word in name.split():
        spelled = "".join(table.get(ch, ch) for ch in word.lower())
        words.append(spelled[:1].upper() + spelled[1:])
    return " ".join(words)


class PeopleMaker:
    """Makes invented people; one instance per run (Faker instances are slow to build)."""

    def __init__(self, seed: int | None = None) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - demo data, not security
        self.ru = Faker("ru_RU")
        self.uk = Faker("uk_UA")
        if seed is not None:
            self.ru.seed_instance(seed)
            self.uk.seed_instance(seed + 1)

    def _name(self, citizenship: str) -> str:
        if citizenship == "RU":
            f = self.ru
            return f"{f.last_name_male()} {f.first_name_male()} {f.middle_name_male()}"
        if citizenship == "UA":
            f = self.uk
            return f"{f.last_name_male()} {f.first_name_male()} {f.middle_name_male()}"
        r = self.rng
        first, last = r.choice(BELARUSIAN_FIRST), r.choice(BELARUSIAN_LAST)
        return f"{last} {first} {r.choice(BELARUSIAN_PATRONYMIC)}"

    def person(self, today: date) -> dict[str, Any]:
        """The intake fields of one invented person (validated later like any input)."""
        r = self.rng
        citizenship = r.choices(("RU", "BY", "UA"), weights=(6, 3, 1))[0]
        name = self._name(citizenship)
        spelled = latin(name, citizenship)
        first = "".join(ch for ch in spelled.split()[1].lower() if "a" <= ch <= "z") or "demo"
        country = r.choice(COUNTRIES_NOW)
        born = today - timedelta(days=r.randint(19 * 365, 52 * 365))
        channel = r.choice(("telegram", "signal"))
        handle = f"{first}_{r.randint(1000, 9999)}_demo"
        if channel == "signal":  # Signal usernames end in a dot and two or more digits
            handle += f".{r.randint(10, 99)}"
        return {
            "legal_name": name,
            "aliases": [spelled],
            "date_of_birth": born.isoformat(),
            "citizenship": citizenship,
            "current_country": country,
            "current_city": CITIES[country],
            "languages": ["ru", *LANGUAGE[citizenship]],
            "situation": r.choice(SITUATIONS),
            "service_status": r.choice(SERVICE),
            "contacts": [{"channel": channel, "value": handle}],
            "criminal_case": {"article": r.choice(ARTICLES[citizenship]), "status": "opened"},
            "intake_notes": r.choice(NOTES),
        }
