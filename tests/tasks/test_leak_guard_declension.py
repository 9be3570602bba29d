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
