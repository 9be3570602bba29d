"""Languages as typed in the intake and section forms: codes or names, in the pages'
languages or English, separated by commas, semicolons, spaces or lines; each once, in order;
a word that is neither is kept (lowercased) for the record's check to refuse."""

from __future__ import annotations

import pytest

from app.cases.languages import language_codes


@pytest.mark.parametrize(
    ("typed", "codes"),
    [
        ("ru, uk, en", ["ru", "uk", "en"]),
        ("ru uk", ["ru", "uk"]),
        ("RU;UK", ["ru", "uk"]),
        ("русский, английский", ["ru", "en"]),
        ("Українська\nEnglish", ["uk", "en"]),
        ("беларуская; Russian", ["be", "ru"]),
        ("грузинский, ka, Georgian", ["ka"]),
        ("  \n , ", []),
        ("ru, Klingonese", ["ru", "klingonese"]),
    ],
)
def test_codes_and_names_become_codes(typed: str, codes: list[str]) -> None:
    assert language_codes(typed) == codes
