"""The leak guard catches the person's identifiers however they are disguised, and lets
ordinary volunteer instructions through. All people here are invented."""

from datetime import date

import pytest

from app.tasks.leak_guard import Finding, PersonMarkers, find_leaks

PERSON = PersonMarkers(
    legal_name="Тимофей Андреевич Колосовский",
    aliases=("Тимоха", "Tim Kolos"),
    handles=("@kolos_tim77", "timkolos@example.org"),
    date_of_birth=date(1994, 3, 14),
)

CLEAN = [
    "Meet at the railway station on Thursday 14:00, bring a SIM card; ask for 'Misha'.",
    "Встретить на вокзале в четверг в 14:00, купить сим-карту.",
    "Зустріти на вокзалі у четвер о 14:00.",
    "Buy a train ticket to Tbilisi for 2026-12-03 and hand it over at the café.",
    "Accompany to the lawyer's office, room 12, 3rd floor, at 10:30.",
    "Bring 2 blankets and 3 packs of food for a family of 4.",
]


@pytest.mark.parametrize("text", CLEAN)
def test_ordinary_instructions_pass(text: str) -> None:
    assert find_leaks(text, PERSON) == []


@pytest.mark.parametrize(
    "text",
    [
        "Ask for Колосовский at the gate",
        "Ask for Kolosovsky at the gate",
        "Ask for Kolosovskiy at the gate",
        "Ask for Kolosovskij at the gate",
        "Ask for KOLOSOVSKII at the gate",
        "Ask for Kolosowski",
        "Ask for Timofei",
        "Ask for Тимофій (Ukrainian spelling)",
        "Ask for Цімафей? no — Timofey",
        "Ask for K o l o s o v s k y",
        "Ask for K.o.l.o.s.o.v.s.k.y",
        "Ask for Kolo\u200bsovsky",
        "Ask for Kolo\u200dsov\u2060sky",
        "Ask for \u202eKolosovsky\u202c",
        "Ask for Коlosovsky",  # Cyrillic К and о inside a Latin word
        "Ask for Kолосовский",  # Latin K inside a Cyrillic word
        "Ask for Kolos ovsky",
        "Ask for ＫＯＬＯＳＯＶＳＫＹ",  # full-width letters
    ],
)
def test_name_is_found_through_disguises(text: str) -> None:
    assert Finding.NAME in find_leaks(text, PERSON)


@pytest.mark.parametrize("text", ["Ask for Тимоха", "Ask for Timokha", "Ask for Kolos"])
def test_alias_is_found(text: str) -> None:
    assert Finding.ALIAS in find_leaks(text, PERSON)


@pytest.mark.parametrize(
    "text",
    [
        "Call +7 916 123-45-67",
        "call 8(916)1234567",
        "call +375 29 123 45 67",
        "звонить +380 (67) 123 45 67",
        "call 9 1 6 1 2 3 4 5 6 7",
        "call 1234567",  # seven digits, a local number: the shortest counted
        "call 123 45 67",
        "call 123-45-67",  # a local number as Russians write it: not a date (3-digit first part)
        "звонить 123.45.67",
    ],
)
def test_phone_numbers_are_found(text: str) -> None:
    assert Finding.PHONE in find_leaks(text, PERSON)


@pytest.mark.parametrize(
    "text",
    [
        "write to @kolos_tim77",
        "write to kolos_tim77 on Telegram",
        "write to t.me/someone_else",
        "mail timkolos@example.org",
        "mail anyone@example.net",
    ],
)
def test_handles_and_emails_are_found(text: str) -> None:
    assert Finding.HANDLE in find_leaks(text, PERSON)


@pytest.mark.parametrize(
    "text",
    [
        "born 1994-03-14",
        "born 14.03.1994",
        "born 14/03/1994",
        "born 03/14/1994",
        "born 14.03.94",
        "born 14 March 1994",
        "born March 14, 1994",
        "родился 14 марта 1994 г.",
        "народився 14 березня 1994",
        "born 14 - 03 - 1994",
    ],
)
def test_birth_date_is_found(text: str) -> None:
    assert Finding.BIRTH_DATE in find_leaks(text, PERSON)


CHILD = PersonMarkers(legal_name="Мирослава Вигадана", date_of_birth=date(2005, 3, 14))


@pytest.mark.parametrize(
    ("person", "text"),
    [
        (PERSON, "born 14 March 94"),
        (PERSON, "родился 14 марта 94"),
        (CHILD, "born 14.03.05"),
        (CHILD, "born 03/14/05"),
        (CHILD, "born 14 March 05"),
        (CHILD, "народилася 14 березня 05"),
    ],
)
def test_birth_date_with_a_two_digit_year_is_found(person: PersonMarkers, text: str) -> None:
    """A year written with two digits is read as 19xx or 20xx, whichever the person was born
    in: a child's "05" is 2005, in figures and with the month in words."""
    assert Finding.BIRTH_DATE in find_leaks(text, person)


def test_other_dates_are_not_the_birth_date() -> None:
    assert find_leaks("due 15.03.1994 and 14.04.1994", PERSON) == []


def test_findings_never_contain_the_data() -> None:
    findings = find_leaks("Колосовский +7 916 123-45-67 @kolos_tim77 14.03.1994", PERSON)
    # The handle holds the alias "Kolos" too.
    assert findings == [
        Finding.NAME,
        Finding.ALIAS,
        Finding.PHONE,
        Finding.HANDLE,
        Finding.BIRTH_DATE,
    ]
    for f in findings:
        assert "Колос" not in f.value
        assert "916" not in f.value


def test_short_name_parts_do_not_flag_ordinary_words() -> None:
    person = PersonMarkers(legal_name="Ян Ли")
    assert find_leaks("Bring a jacket and a lid", person) == []


# Declension: Russian, Ukrainian and Belarusian put names in six or seven cases.
OLEG = PersonMarkers(legal_name="Олег Петров", aliases=("Алик",), date_of_birth=date(1994, 3, 14))
ANNA = PersonMarkers(legal_name="Анна Коваль", aliases=("Оля", "Майя"))
BELARUSIAN = PersonMarkers(legal_name="Алесь Пятроў", aliases=("Ігар",))
SHORT_NAMES = PersonMarkers(legal_name="Иван Игорь Федір Павел Наталка Колосовский")

CLEAN_SLAVIC = [
    "Встретить на вокзале в четверг",
    "Купить билет на автобус до Тбилиси",
    "Передать тёплую куртку в приют",
    "Пройти 200 метров до входа, потом налево; ветров сегодня нет",
    "Отвезти продукты семье, купить лекарства в аптеке",
    "Позвонить юристу и записаться на приём в среду",
    "Левый вход, второй этаж, иметь при себе паспорт",
    "Зустріти на вокзалі, але не раніше восьмої",
    "Купити квиток на потяг до Варшави, я маю гроші",
    "Передати теплу куртку до притулку, ані слова про справу",
    "Сустрэць на вакзале ў чацвер і перадаць ежу",
    "Annoy no one; take the time to bring a spare SIM card",
    "Bring any documents alike, an old map and a ticket",
]


@pytest.mark.parametrize("text", CLEAN_SLAVIC)
@pytest.mark.parametrize("person", [OLEG, ANNA, BELARUSIAN, SHORT_NAMES, PERSON])
def test_ordinary_slavic_instructions_pass(text: str, person: PersonMarkers) -> None:
    assert find_leaks(text, person) == []


@pytest.mark.parametrize(
    ("person", "text", "kind"),
    [
        (OLEG, "Олеже, чекай біля входу", Finding.NAME),  # Ukrainian vocative (г: ж)
        (OLEG, "Передати Олегові документи", Finding.NAME),
        (OLEG, "Дочекатися Петрова біля входу", Finding.NAME),
        (OLEG, "Поговорить о Петрове", Finding.NAME),
        (OLEG, "Встретить Петровых", Finding.NAME),
        (OLEG, "Vstretitsya s Olegom", Finding.NAME),  # Latin transliteration
        (OLEG, "Peredat Petrovym", Finding.NAME),
        (OLEG, "Пазваніць Алегу", Finding.NAME),  # Belarusian for Олег: а for о
        (OLEG, "Квиток Аліку", Finding.ALIAS),
        (BELARUSIAN, "Сустрэцца з Алесем", Finding.NAME),
        (BELARUSIAN, "Перадаць Пятрову", Finding.NAME),  # ў: в
        (BELARUSIAN, "Сустрэцца з Ігарам", Finding.ALIAS),
        (ANNA, "Передать Анне пакет", Finding.NAME),
        (ANNA, "Зустрітися з Анною", Finding.NAME),
        (ANNA, "Передать Ковалю", Finding.NAME),
        (ANNA, "Позвонить Оле вечером", Finding.ALIAS),
        (ANNA, "Встретить Олю", Finding.ALIAS),
        (ANNA, "Передати Майї", Finding.ALIAS),
        (SHORT_NAMES, "Встретиться с Иваном", Finding.NAME),
        (SHORT_NAMES, "Іване, чекай", Finding.NAME),
        (SHORT_NAMES, "Передать Игорю", Finding.NAME),
        (SHORT_NAMES, "Зустрітися з Ігорем", Finding.NAME),
        (SHORT_NAMES, "Передати Федорові", Finding.NAME),  # Ukrainian і: о
        (SHORT_NAMES, "Встретить Павла", Finding.NAME),  # fleeting vowel
        (SHORT_NAMES, "Передати Наталці", Finding.NAME),  # к: ц
        (SHORT_NAMES, "Брат Колосовского", Finding.NAME),
        (SHORT_NAMES, "Сестра Колосовской", Finding.NAME),
        (SHORT_NAMES, "Колосовському", Finding.NAME),
    ],
)
def test_declined_names_are_found(person: PersonMarkers, text: str, kind: Finding) -> None:
    assert kind in find_leaks(text, person)


@pytest.mark.parametrize(
    "text",
    [
        "born the 14th of March, 1994",
        "born March the 14th 1994",
        "born 14TH MARCH 1994",
        "народився 14-го березня 1994",
        "нарадзіўся 14-га сакавіка 1994",
    ],
)
def test_ordinal_birth_dates_are_found(text: str) -> None:
    assert Finding.BIRTH_DATE in find_leaks(text, OLEG)


def test_ordinal_of_another_day_is_not_the_birth_date() -> None:
    assert find_leaks("due March 15th, 1994 and 14-го апреля 1994", OLEG) == []


@pytest.mark.parametrize(
    ("person", "text", "kind"),
    [
        # г: з in the Ukrainian dative (Ольга, Ользі), as г: ж in the vocative (Олег, Олеже).
        (PersonMarkers(legal_name="Ольга Вигадана"), "Передати Ользі ключі", Finding.NAME),
        # As many Cyrillic look-alikes as Latin letters: a tie folds to Latin.
        (PERSON, "Ask for Коlоѕоvsky", Finding.NAME),
        # A three-letter alias spelt out a letter at a time.
        (PersonMarkers(legal_name="Ян Ли", aliases=("Ева",)), "Ask for Е в а", Finding.ALIAS),
        # ў: в (Belarusian), і: е (Ukrainian), two-letter stems letter for letter.
        (PersonMarkers(legal_name="Сяргей Пятроў"), "Спытаць Пятрова", Finding.NAME),
        (PersonMarkers(legal_name="Марта Лебідь"), "Передати Лебедю ключі", Finding.NAME),
        (PersonMarkers(legal_name="Ира Вигаданова"), "Передать Ире ключи", Finding.NAME),
        (PersonMarkers(legal_name="Оля Вигаданова"), "Спросить Олю", Finding.NAME),
        # A date spelt with DOT in capitals, or broken over a line after a hyphen.
        (PERSON, "born 14 DOT 03 DOT 1994", Finding.BIRTH_DATE),
        (PERSON, "born 14.0-\n3.1994", Finding.BIRTH_DATE),
    ],
)
def test_the_edges_of_declension_folding_and_spacing(
    person: PersonMarkers, text: str, kind: Finding
) -> None:
    assert kind in find_leaks(text, person)


@pytest.mark.parametrize(
    ("person", "text"),
    [
        (PERSON, "Ask for Kolosovsly"),  # one letter mistyped
        (PERSON, "Ask for Kolosovsy"),  # one letter dropped
        (PERSON, "Ask for Kolosovsrky"),  # one letter added
        (PERSON, "Ask for Klosovsky"),
        (PersonMarkers(legal_name="Александр Вигаданов"), "Ask for Olexandr"),  # vowels differ
        (PersonMarkers(legal_name="Лев Ира Вигаданова"), "Ask for Lev"),  # short, in Latin
        (PersonMarkers(legal_name="Лев Ира Вигаданова"), "Ask for Ira"),
    ],
)
def test_a_name_one_typo_away_or_short_in_latin_is_found(person: PersonMarkers, text: str) -> None:
    """Words of six letters or more match at one edit (a letter mistyped, dropped or added;
    first letters equal or both vowels); a short name in Latin text matches as it is."""
    assert Finding.NAME in find_leaks(text, person)


@pytest.mark.parametrize(
    ("person", "text"),
    [
        # A three-letter name spelt out whose letter pairs (Ле, ев) are no form of it.
        (PersonMarkers(legal_name="Лев Вигаданов"), "Передайте Л е в пакет"),
        # A Latin p (a look-alike of р) in a mostly Cyrillic word: read as р.
        (PersonMarkers(legal_name="Пётр Вигаданов"), "Спросить Пётp у входа"),
        # The bare stem of a short name (genitive plural: двух Анн), letter for letter.
        (PersonMarkers(legal_name="Анна Вигаданова"), "Здесь двух Анн не было"),
        # A six-letter surname one letter mistyped.
        (PersonMarkers(legal_name="Иван Волков"), "Встретить Волкоф"),
        # Instrumental case on a three-letter skeleton stem (len-, olh-).
        (PersonMarkers(legal_name="Лена Вигаданова"), "Поговорить с Леной"),
        (PersonMarkers(legal_name="Ольга Вигаданова"), "Поговорить с Ольгой"),
        # Consonant and vowel alternations on stems too short for a one-letter tolerance:
        # Ukrainian к: ц (Ірка, Ірці) and і: о (Кіт, Кота), Belarusian ў: в (Лёў, Лёва).
        (PersonMarkers(legal_name="Ірка Вигадана"), "Передати Ірці ключі"),
        (PersonMarkers(legal_name="Кіт Вигаданий"), "Спитати Кота"),
        (PersonMarkers(legal_name="Лёў Вигаданы"), "Спытаць Лёва"),
        # Russian typed in Latin letters: a four-letter stem with a two-letter ending.
        (PersonMarkers(legal_name="Petr Vigadanov"), "Vstretit zavtra s Petrom"),
        # The surname inside a login, digits after it: found in the text as written (the
        # digits-for-letters view reads "petrovst", which is not the name).
        (PersonMarkers(legal_name="Ivan Petrov"), "Write to petrov57 on arrival"),
    ],
)
def test_a_name_reached_by_one_rule_alone_is_found(person: PersonMarkers, text: str) -> None:
    """Each of these is found by one rule only (the mutation run of 6 December showed that
    dropping it let the name through while every other test passed)."""
    assert Finding.NAME in find_leaks(text, person)


def test_a_five_letter_handle_written_without_its_at_sign_is_found() -> None:
    """Handles are also looked for squashed into the text (no @, no punctuation) from five
    letters on."""
    person = PersonMarkers(handles=("@kolya",))
    assert find_leaks("Message kolya on arrival", person) == [Finding.HANDLE]
    assert find_leaks("Message k.o.l.y.a on arrival", person) == [Finding.HANDLE]


@pytest.mark.parametrize(
    "text", ["Meet on 14.03.2025", "Meet on 2025-03-14", "on 3/14/25 at noon", "on 14-3-2025"]
)
def test_dates_are_not_phone_numbers(text: str) -> None:
    assert Finding.PHONE not in find_leaks(text, PERSON)
