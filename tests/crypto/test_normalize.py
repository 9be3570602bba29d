"""Normalisation: real-world spellings of the same name meet across Russian, Ukrainian,
Belarusian and Latin; invisible characters, case and punctuation change nothing."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.crypto.normalize import (
    fold_token,
    name_key,
    name_tokens,
    normalize_date,
    normalize_handle,
    normalize_name,
    normalize_phone,
    tokenize,
)

# (one spelling, another spelling of the same name); synthetic people, real naming patterns.
SAME_NAME = [
    # Russian Cyrillic <-> Latin transliteration conventions
    ("Иван Петров", "Ivan Petrov"),
    ("Дмитрий", "Dmitriy"),
    ("Дмитрий", "Dmitry"),
    ("Дмитрий", "Dmitrii"),
    ("Дмитрий", "Dmitrij"),
    ("Юрий", "Yuriy"),
    ("Юрий", "Jurij"),
    ("Юрий", "Iurii"),
    ("Фёдор", "Fyodor"),
    ("Фёдор", "Fedor"),
    ("Фёдор", "Федор"),
    ("Пётр", "Pyotr"),
    ("Пётр", "Piotr"),
    ("Семён", "Semyon"),
    ("Алексей", "Alexey"),
    ("Алексей", "Aleksei"),
    ("Алексей", "Aleksej"),
    ("Евгений", "Yevgeniy"),
    ("Евгений", "Evgeny"),
    ("Наталья", "Natalya"),
    ("Наталья", "Natalia"),
    ("Мария", "Mariya"),
    ("Мария", "Maria"),
    ("Ксения", "Kseniya"),
    ("Ксения", "Xenia"),
    ("Хабаров", "Khabarov"),
    ("Хабаров", "Habarov"),
    ("Царёв", "Tsarev"),
    ("Царёв", "Tzarev"),
    ("Щукин", "Shchukin"),
    ("Щукин", "Schukin"),
    ("Зеленский", "Zelenskiy"),
    ("Зеленский", "Zelensky"),
    ("Жуков", "Zhukov"),
    ("Владимир", "Wladimir"),
    ("Анна", "Ana"),
    ("Савва", "Sava"),
    ("Ярослав", "Jaroslav"),
    ("Ярослав", "Iaroslav"),
    ("Шевченко", "Schewtschenko"),
    # Ukrainian Cyrillic <-> Latin (official 2010 table and older variants) and Russian forms
    ("Іван Петров", "Иван Петров"),
    ("Олег", "Oleh"),
    ("Олег", "Oleg"),
    ("Олексій", "Oleksii"),
    ("Олексій", "Oleksiy"),
    ("Михайло", "Mykhailo"),
    ("Михайло", "Mikhailo"),
    ("Євген", "Yevhen"),
    ("Євген", "Ievgen"),
    ("Юрій", "Yurii"),
    ("Юрій", "Юрий"),
    ("Наталія", "Nataliia"),
    ("Юлія", "Iuliia"),
    ("Юлія", "Yulia"),
    ("Сергій", "Serhiy"),
    ("Сергій", "Serhii"),
    ("Григорій", "Hryhoriy"),
    ("Григорій", "Григорий"),
    ("Зеленський", "Zelenskyi"),
    ("Зеленський", "Зеленский"),
    ("Шевченко", "Shevchenko"),
    ("Шевченко", "Szewczenko"),
    ("Мар'яна", "Maryana"),
    ("Мар’яна", "Mariana"),
    ("Дар’я", "Darya"),
    ("Ярослава", "Yaroslava"),
    ("Володимир", "Volodymyr"),
    ("Галина", "Halyna"),
    ("Галина", "Galina"),
    ("Гончаренко", "Honcharenko"),
    ("Гончаренко", "Goncharenko"),
    # Belarusian Cyrillic <-> Latin (national romanisation and Łacinka)
    ("Аляксандр", "Aliaksandr"),
    ("Аляксандр", "Aljaksandr"),
    ("Лукашэнка", "Lukashenka"),
    ("Лукашэнка", "Łukašenka"),
    ("Глеб", "Hleb"),
    ("Уладзімір", "Uladzimir"),
    ("Ўладзіслаў", "Uladzislau"),
    ("Ўладзіслаў", "Uładzisłaŭ"),
    ("Сяргей", "Siarhei"),
    ("Сяргей", "Siarhiej"),
    ("Алесь", "Ales"),
    ("Віктар", "Viktar"),
    ("Кацярына", "Katsiaryna"),
    ("Кацярына", "Kaciaryna"),
    ("Тарашкевіч", "Taraškievič"),
    ("Мікалай", "Mikalai"),
]

DIFFERENT = [
    ("Иван Петров", "Иван Сидоров"),
    ("Oleg", "Olga"),
    ("Maria", "Marina"),
    ("Aleksandr", "Aleksandra"),
    ("Petrov", "Petrova"),
]


def test_there_are_at_least_forty_pairs_in_each_direction() -> None:
    assert len(SAME_NAME) >= 40
    cyrillic = sum(any("\u0400" <= ch <= "\u04ff" for ch in a + b) for a, b in SAME_NAME)
    assert cyrillic >= 40


@pytest.mark.parametrize(("one", "other"), SAME_NAME)
def test_spellings_of_one_name_meet(one: str, other: str) -> None:
    assert normalize_name(one) == normalize_name(other)


@pytest.mark.parametrize(("one", "other"), DIFFERENT)
def test_different_names_stay_apart(one: str, other: str) -> None:
    assert normalize_name(one) != normalize_name(other)


def test_the_issue_example() -> None:
    assert {normalize_name(n) for n in ("Иван Петров", "Ivan Petrov", "Іван Петров")} == {
        "ivan petrov"
    }


def test_invisible_and_bidi_characters_are_removed() -> None:
    tricky = "\u202eИв\u200bан\u200d \u2066Пет\u00adров\u2069\ufeff"
    assert normalize_name(tricky) == "ivan petrov"


def test_fullwidth_and_case_and_punctuation_fold() -> None:
    assert normalize_name("ＩＶＡＮ,  petrov!!") == "ivan petrov"
    assert normalize_name("Petrov-Vodkin") == normalize_name("petrov vodkin")


def test_name_key_ignores_word_order() -> None:
    assert name_key("Петров Иван") == name_key("Ivan Petrov")


def test_tokenizer_keeps_words_in_order_for_the_leak_guard() -> None:
    assert tokenize("Meet Иван at 14:00, ask for 'Misha'") == [
        "meet", "иван", "at", "14", "00", "ask", "for", "misha",
    ]  # fmt: skip
    assert name_tokens("Meet Иван") == ["met", "ivan"]  # doubled letters fold too


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+7 (916) 123-45-67", "79161234567"),
        ("8 916 123 45 67", "79161234567"),
        ("9161234567", "79161234567"),
        ("0044 20 7946 0000", "442079460000"),
        ("+380 50 123 4567", "380501234567"),
        ("050 123 45 67", "380501234567"),
        ("8 029 123-45-67", "375291234567"),
        ("+375 (29) 123-45-67", "375291234567"),
        ("+370 612 34567", "37061234567"),
        ("＋７ ９１６ １２３ ４５ ６７", "79161234567"),
        # Written with its "+": international as it stands, even where a national form
        # would match its digits (a Japanese number is not a Russian 8-number).
        ("+81 3 1234 5678", "81312345678"),
    ],
)
def test_phone_numbers_become_international_digits(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "@Canary_Handle",
        "canary_handle",
        "https://t.me/canary_handle",
        " @CANARY_HANDLE\u200b",
        "@canary_ handle",  # a space typed inside
    ],
)
def test_handles_fold(raw: str) -> None:
    assert normalize_handle(raw) == "canary_handle"


@pytest.mark.parametrize(
    "raw",
    ["1990-03-07", "07.03.1990", "7.3.1990", "07/03/1990", "07. 03. 1990", date(1990, 3, 7)],
)
def test_dates_fold_to_iso(raw: str | date) -> None:
    assert normalize_date(raw) == "1990-03-07"


def test_bad_values_are_refused() -> None:
    with pytest.raises(ValueError, match="digits"):
        normalize_phone("no digits")
    with pytest.raises(ValueError, match="date"):
        normalize_date("31.02.1990")
    with pytest.raises(ValueError, match="handle"):
        normalize_handle("@")


_names = st.text(
    alphabet=st.sampled_from(
        list("абвгґдеёєжзиіїйклмнопрстуўфхцчшщъыьэюяАБВГІЇЎЁ abcdefghijklmnopqrstuvwxyzšžčł-'’")
    ),
    max_size=30,
)
_invisible = st.sampled_from(["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a",
                              "\u202e", "\u2066", "\u2069", "\ufeff", "\u00ad"])  # fmt: skip


@given(_names)
def test_normalisation_is_idempotent(name: str) -> None:
    once = normalize_name(name)
    assert normalize_name(once) == once


@given(_names)
def test_output_is_plain_ascii_words(name: str) -> None:
    out = normalize_name(name)
    assert all(ch.isascii() and (ch.isalnum() or ch == " ") for ch in out)
    assert "  " not in out
    assert out == out.strip()


@given(_names, st.lists(st.tuples(st.integers(0, 30), _invisible), max_size=5))
def test_invisible_characters_never_change_the_result(
    name: str, inserts: list[tuple[int, str]]
) -> None:
    tampered = name
    for position, char in inserts:
        tampered = tampered[:position] + char + tampered[position:]
    assert normalize_name(tampered) == normalize_name(name)


@given(_names)
def test_case_never_changes_the_result(name: str) -> None:
    assert normalize_name(name.upper()) == normalize_name(name.lower())


@given(st.text(max_size=40))
def test_any_text_normalises_without_error(text: str) -> None:
    for token in name_tokens(text):
        assert fold_token(token) == token
