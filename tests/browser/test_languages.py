"""The first pages a person sees, in every language, on a 360 px phone and a desktop, with
JavaScript off (Tor Browser's Safest level): the page says its language, nothing is wider
than the screen (long Russian and Ukrainian words wrap), and a failed form's messages are
readable beside their fields. Screenshots go to $HAVEN_SCREENSHOTS (i18n-<lang>-<size>-*).

The switcher works without JavaScript: a visitor's choice holds for the next pages, a
signed-in person's is stored on the account.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.i18n import LOCALES
from tests.browser.conftest import LiveServer, Tab
from tests.browser.test_signin import at_home, sign_in_password

OpenTab = Callable[..., Tab]
SIZES = {"phone": (360, 740), "desktop": (1280, 800)}
FIRST_WORDS = {
    "en": ("Sign in to Haven", "Ask for help", "Write a name we may call you by"),
    "ru": ("Вход в Haven", "Попросить о помощи", "Напишите имя"),
    "uk": ("Вхід до Haven", "Попросити про допомогу", "Напишіть ім’я"),
    "be": ("Уваход у Haven", "Папрасіць дапамогі", "Напішыце імя"),
}


def assert_fits(tab: Tab, width: int) -> None:
    """Nothing on the page is wider than the window (no sideways scrolling on a phone)."""
    scroll = tab.page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{tab.path()} is {scroll}px wide in a {width}px window"
    for box in tab.page.locator("main .error, main label, main h1").all():
        bounds = box.bounding_box()
        assert bounds is not None
        assert bounds["x"] >= 0
        assert bounds["x"] + bounds["width"] <= width, box.inner_text()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("locale", LOCALES)
def test_first_pages_speak_the_visitors_language_and_fit_the_screen(
    open_tab: OpenTab, locale: str, size: str
) -> None:
    width, height = SIZES[size]
    tab = open_tab(javascript=False, locale=locale, width=width, height=height)
    login, ask, name_error = FIRST_WORDS[locale]
    name = f"i18n-{locale}-{size}"
    tab.go("/login")
    assert tab.page.get_attribute("html", "lang") == locale
    assert tab.page.inner_text("h1") == login
    assert_fits(tab, width)
    tab.shot(f"{name}-login")
    tab.go("/request")
    assert tab.page.inner_text("h1") == ask
    assert_fits(tab, width)
    tab.shot(f"{name}-request")
    tab.page.select_option("#f-contact_channel", "phone")
    tab.page.fill("#f-contact_value", "не номер")
    tab.page.click("button[type=submit]")
    for field in ("pseudonym", "contact_value", "message"):
        error = tab.page.locator(f"#f-{field}-error")
        assert error.is_visible(), field
        described = tab.page.get_attribute(f"#f-{field}", "aria-describedby") or ""
        assert f"f-{field}-error" in described.split()
    assert tab.page.inner_text("#f-pseudonym-error").startswith(name_error)
    assert tab.page.input_value("#f-contact_value") == "не номер"
    assert_fits(tab, width)
    tab.shot(f"{name}-request-errors")
    tab.assert_clean()


def test_visitor_switches_language_without_javascript(open_tab: OpenTab) -> None:
    tab = open_tab(javascript=False, locale="en-US")
    tab.go("/request")
    assert tab.page.inner_text("h1") == "Ask for help"
    tab.page.click("nav.languages >> text=Русский")
    assert tab.path() == "/request"
    assert tab.page.get_attribute("html", "lang") == "ru"
    assert tab.page.inner_text("h1") == "Попросить о помощи"
    tab.go("/login")  # the choice holds for the next page
    assert tab.page.inner_text("h1") == "Вход в Haven"
    tab.page.click("nav.languages >> text=Українська")
    assert tab.path() == "/login"
    assert tab.page.inner_text("h1") == "Вхід до Haven"
    tab.assert_clean()


def test_signed_in_person_keeps_their_language_on_the_account(
    open_tab: OpenTab, live_server: LiveServer
) -> None:
    account = live_server.settle(live_server.add_account("volunteer"))
    tab = open_tab(javascript=False, locale="en-US")
    sign_in_password(tab, account)
    at_home(tab, account)
    home = tab.path()
    tab.page.click("nav.languages >> text=Беларуская")
    assert tab.path() == home
    assert tab.page.get_attribute("html", "lang") == "be"
    assert "Выйсці" in tab.page.inner_text("header.site")
    tab.shot("i18n-be-signed-in")
    # Another browser, English by its settings: the account's choice wins once signed in.
    other = open_tab(javascript=False, locale="en-US")
    sign_in_password(other, account)
    assert other.page.get_attribute("html", "lang") == "be"
    other.assert_clean()
    tab.assert_clean()


def test_skip_link_shows_when_focused_and_leads_to_the_content(open_tab: OpenTab) -> None:
    width = SIZES["phone"][0]
    tab = open_tab(javascript=False, locale="ru-RU", width=width, height=SIZES["phone"][1])
    tab.go("/request")
    skip = tab.page.locator("a.skip")
    hidden = skip.bounding_box()
    assert hidden is not None
    assert hidden["width"] <= 1, "the skip link shows before it is focused"
    tab.page.keyboard.press("Tab")
    shown = skip.bounding_box()
    assert shown is not None
    assert shown["width"] > 100
    assert shown["x"] + shown["width"] <= width
    assert skip.inner_text() == "Перейти к основному содержанию"
    tab.shot("i18n-ru-phone-skip-link")
    tab.page.keyboard.press("Enter")
    assert tab.page.url.endswith("#content")
    tab.assert_clean()
