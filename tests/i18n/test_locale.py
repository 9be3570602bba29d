"""How a page picks its language, and what Babel does with it: the negotiation order, plural
forms (ru/uk/be have three), numbers, dates and times, lazy texts, and catalogs that work
from a plain checkout (no compiled .mo)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.requests import Request

from app.config import Settings
from app.errors import Locked, NotAuthenticated, Sealed, Throttled
from app.i18n import LazyText, activated, catalogs, gettext, lazy, ngettext
from app.i18n.formatting import date_text, datetime_text, number
from app.i18n.negotiation import accepted_languages, locale_of, note_signed_in
from app.intake.form_errors import too_long
from app.security.errors import CsrfFailed, InvalidCredentials

TOO_LONG = (
    "This is too long: at most %(num)s character.",
    "This is too long: at most %(num)s characters.",
)


def _request(settings: Settings, *, cookie: str = "", accept: str = "") -> Request:
    headers = []
    if cookie:
        headers.append((b"cookie", f"__Host-haven_lang={cookie}".encode()))
    if accept:
        headers.append((b"accept-language", accept.encode()))
    app = type("App", (), {"state": type("State", (), {"settings": settings})()})()
    scope = {"type": "http", "headers": headers, "app": app, "state": {}}
    return Request(scope)


@pytest.fixture
def plain_settings(tmp_path: Path) -> Settings:
    """Settings with Secure cookies (the `__Host-` cookie names)."""
    return Settings(env="test", secure_cookies=True, key_file=tmp_path / "k")


def test_locale_order_user_then_cookie_then_browser_then_english(plain_settings: Settings) -> None:
    assert locale_of(_request(plain_settings)) == "en"
    assert locale_of(_request(plain_settings, accept="de-DE, uk;q=0.8, ru;q=0.9")) == "ru"
    assert locale_of(_request(plain_settings, accept="be-BY,be;q=0.9")) == "be"
    assert locale_of(_request(plain_settings, accept="fr, de")) == "en"
    with_cookie = _request(plain_settings, cookie="uk", accept="ru")
    assert locale_of(with_cookie) == "uk"
    note_signed_in(with_cookie, language="be", csrf_token=None)
    assert locale_of(with_cookie) == "be"


def test_unknown_choices_fall_through(plain_settings: Settings) -> None:
    request = _request(plain_settings, cookie="xx", accept="ru")
    note_signed_in(request, language="klingon", csrf_token=None)
    assert locale_of(request) == "ru"
    note_signed_in(request, language=None, csrf_token=None)
    assert locale_of(request) == "ru"


def test_accept_language_is_parsed_by_weight_and_bounded() -> None:
    assert accepted_languages("ru;q=0.5, uk, *;q=0.1, be;q=0") == ["uk", "ru"]
    assert accepted_languages("ru;q=abc") == []
    assert len(accepted_languages(",".join(["ru"] * 1000))) <= 16


@pytest.mark.parametrize(
    ("locale", "forms"),
    [
        ("ru", {1: "символ.", 2: "символа.", 5: "символов.", 21: "символ.", 11: "символов."}),
        ("uk", {1: "символ.", 2: "символи.", 5: "символів.", 22: "символи.", 12: "символів."}),
        ("be", {1: "сімвал.", 3: "сімвалы.", 5: "сімвалаў.", 31: "сімвал.", 14: "сімвалаў."}),
        ("en", {1: "character.", 2: "characters.", 5: "characters."}),
    ],
)
def test_plural_forms(locale: str, forms: dict[int, str]) -> None:
    with activated(locale):
        for n, ending in forms.items():
            text = ngettext(*TOO_LONG, n)
            assert text.endswith(f" {n} {ending}"), text


def test_plural_number_is_written_the_locales_way() -> None:
    with activated("ru"):
        assert str(too_long(5000)).endswith("5\xa0000 символов.")
    with activated("en"):
        assert str(too_long(5000)).endswith("5,000 characters.")


def test_lazy_text_is_translated_when_shown() -> None:
    label = lazy("Choose a country from the list.")
    with activated("uk"):
        assert str(label) == "Виберіть країну зі списку."
    with activated("be"):
        assert label.__html__() == "Выберыце краіну са спісу."
    assert str(label) == "Choose a country from the list."  # outside a page: English
    assert LazyText("Sign in first.") == LazyText("Sign in first.")


def test_gettext_fills_placeholders_and_keeps_unknown_text() -> None:
    with activated("ru"):
        assert gettext("Signed in as %(email)s (%(role)s).", email="a@b", role="x") == (
            "Вы вошли как a@b (x)."
        )
        assert gettext("Not a message of ours") == "Not a message of ours"
    with activated("xx"):  # unsupported: English
        assert gettext("Sign in") == "Sign in"


def test_numbers_dates_and_times() -> None:
    moment = datetime(2026, 12, 6, 14, 5, tzinfo=UTC)
    with activated("ru"):
        assert number(5000) == "5\xa0000"
        assert date_text(moment, "long") == "6 декабря 2026\u202fг."
        assert datetime_text(moment) == "6 дек. 2026\u202fг., 14:05 UTC"
        assert datetime_text(moment, "Asia/Almaty").endswith("19:05 Asia/Almaty")
    with activated("uk"):
        assert date_text(moment, "long") == "6 грудня 2026\u202fр."
    with activated("en"):
        assert number(1234.5) == "1,234.5"
        assert datetime_text(moment.replace(tzinfo=None)) == "Dec 6, 2026, 2:05\u202fPM UTC"


def test_catalog_is_compiled_in_memory_without_a_mo(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A plain checkout has no .mo files: the .po is compiled when first used."""
    folder = tmp_path / "ru" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "haven.po").write_bytes(catalogs.po_path("ru").read_bytes())
    monkeypatch.setattr(catalogs, "LOCALE_DIR", tmp_path)
    catalogs.translations.cache_clear()
    try:
        assert not catalogs.mo_path("ru").exists()
        assert catalogs.translations("ru").gettext("Sign in") == "Войти"
        assert catalogs.translations("ru").ngettext(*TOO_LONG, 3).endswith("символа.")
        assert not catalogs.mo_path("ru").exists()  # nothing written into the package
    finally:
        catalogs.translations.cache_clear()


def test_fuzzy_entries_are_never_shown(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "ru" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "haven.po").write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=utf-8\\n"\n\n'
        '#, fuzzy\nmsgid "Sign in"\nmsgstr "Войти?"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(catalogs, "LOCALE_DIR", tmp_path)
    catalogs.translations.cache_clear()
    try:
        assert catalogs.translations("ru").gettext("Sign in") == "Sign in"
    finally:
        catalogs.translations.cache_clear()


@pytest.mark.parametrize(
    "message",
    [
        Locked.message,
        Throttled.message,
        InvalidCredentials.message,
        CsrfFailed.message,
        NotAuthenticated.message,
        Sealed.message,
        "Too many requests just now; please try again later.",
    ],
)
def test_errors_a_page_shows_are_translated(message: str) -> None:
    """HavenError messages stay English for the API and read in the page's language."""
    for locale in ("ru", "uk", "be"):
        with activated(locale):
            shown = str(LazyText(message))
        assert shown != message
        assert re.search(r"[а-яіўє]", shown), shown
