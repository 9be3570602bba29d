"""The request form's errors in plain words, in the visitor's language, beside the field they
concern, never in the validator's wording and never repeating what was typed. Invented
people only."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

VALIDATOR_WORDING = re.compile(r"String should|Value error|Input should|List should|ISO 3166")


def _post(client: TestClient, lang: str = "en", **fields: str) -> str:
    page = client.get("/request", headers={"accept-language": lang})
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    data = {
        "csrf_token": match.group(1),
        "pseudonym": "Лесник",
        "contact_channel": "signal",
        "contact_value": "lesnik_safe.42",
        "contact2_channel": "telegram",
        "contact2_value": "",
        "message": "Нужна помощь с документами.",
        "citizenship": "",
        "current_country": "",
        **fields,
    }
    r = client.post("/request", data=data, headers={"accept-language": lang})
    assert r.status_code == 422, r.text[:300]
    return r.text


def _error(html: str, field: str) -> str:
    match = re.search(rf'<strong id="f-{field}-error"[^>]*>([^<]+)</strong>', html)
    assert match, f"no error beside {field}"
    return match.group(1)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"pseudonym": ""}, "pseudonym", "Write a name we may call you by."),
        ({"pseudonym": "x" * 201}, "pseudonym", "at most 200 characters."),
        ({"contact_value": ""}, "contact_value", "Write at least one way to reach you."),
        ({"contact_channel": "pigeon"}, "contact_channel", "Choose how to reach you from the"),
        (
            {"contact_channel": "phone", "contact_value": "call me"},
            "contact_value",
            "Write a phone number with the country code",
        ),
        ({"contact_value": "no"}, "contact_value", "Write a Signal username"),
        (
            {"contact_channel": "email", "contact_value": "nobody"},
            "contact_value",
            "Write an e-mail address",
        ),
        ({"message": " "}, "message", "Write a few words about the help you need."),
        ({"message": "x" * 5001}, "message", "at most 5,000 characters."),
        ({"citizenship": "XX"}, "citizenship", "Choose a country from the list."),
        ({"current_country": "RUS"}, "current_country", "Choose a country from the list."),
    ],
)
def test_each_mistake_gets_a_plain_message_beside_its_field(
    client: TestClient, fields: dict[str, str], field: str, message: str
) -> None:
    html = _post(client, **fields)
    error = _error(html, field)
    assert message in error
    assert not VALIDATOR_WORDING.search(html)
    for name, typed in fields.items():
        if not name.endswith("_channel") and len(typed) > 3:
            assert typed not in error
    assert 'value="Лесник"' in html or field == "pseudonym"


def test_messages_speak_the_visitors_language(client: TestClient) -> None:
    html = _post(client, "ru", pseudonym="", citizenship="XX", message="x" * 5001)
    assert _error(html, "pseudonym").startswith("Напишите имя")
    assert _error(html, "citizenship") == "Выберите страну из списка."
    assert _error(html, "message") == "Слишком длинный текст: максимум 5\xa0000 символов."
    html = _post(client, "uk", contact_channel="phone", contact_value="дзвоніть")
    assert _error(html, "contact_value").startswith("Напишіть номер телефону з кодом країни")


def test_a_mistake_in_the_second_contact_is_shown_beside_the_second_contact(
    client: TestClient,
) -> None:
    html = _post(client, contact_value="", contact2_channel="telegram", contact2_value="ab")
    assert "Write a Telegram username" in _error(html, "contact2_value")
    assert 'id="f-contact_value-error"' not in html


def test_the_chosen_country_comes_back_selected_once(client: TestClient) -> None:
    html = _post(client, pseudonym="", citizenship="RU")
    assert html.count('<option value="RU" selected>') == 1
    assert '<option value="RU">' in html  # also listed under every country, unselected
