"""The leak guard finds the person's name in the ordinary Russian and Ukrainian grammatical
cases (instrumental, dative, genitive...) a caseworker writes in nearly every sentence, and
birth dates written with ordinals. Invented people only."""

from datetime import date

import pytest

from app.tasks.leak_guard import Finding, PersonMarkers, find_leaks

PERSON = PersonMarkers(
    legal_name="Олег Петров",
    aliases=("Алик",),
    date_of_birth=date(1994, 3, 14),
)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Встретиться с Петровым на вокзале", Finding.NAME),  # instrumental surname
        ("Зустрітися з Петровим біля вокзалу", Finding.NAME),  # Ukrainian instrumental
        ("Передать сим-карту Олегу", Finding.NAME),  # dative given name
        ("Встретиться с Олегом в 14:00", Finding.NAME),  # instrumental given name
        ("Брат Олега будет ждать у входа", Finding.NAME),  # genitive given name
        ("Отдать билет Алику", Finding.ALIAS),  # dative alias
        ("Born March 14th, 1994", Finding.BIRTH_DATE),  # ordinal suffix
        ("Родился 14-го марта 1994", Finding.BIRTH_DATE),
    ],
)
def test_declined_name_is_found(text: str, kind: Finding) -> None:
    assert kind in find_leaks(text, PERSON)


# A Russian name written the Ukrainian way and declined: one letter apart from a declined
# form of the name (Александр -> Олександра), which neither the one-letter tolerance on the
# name alone nor the declined forms alone found.
SPELT_APART = PersonMarkers(legal_name="Александр Синтетов", aliases=(), date_of_birth=None)


@pytest.mark.parametrize(
    "text",
    [
        "Зустріньте Олександра біля вокзалу",  # Ukrainian spelling, genitive
        "Передайте ключі Олександрові",  # Ukrainian dative
        "Встретиться с Синтетовим у вокзала",  # surname, Ukrainian instrumental ending
    ],
)
def test_a_name_spelt_the_other_languages_way_and_declined_is_found(text: str) -> None:
    assert Finding.NAME in find_leaks(text, SPELT_APART)


@pytest.mark.parametrize(
    "text",
    ["Зустріньте волонтера біля вокзалу", "Передайте ключі охоронцеві", "Синя сумка"],
)
def test_words_near_no_form_of_the_name_stay_allowed(text: str) -> None:
    assert Finding.NAME not in find_leaks(text, SPELT_APART)
