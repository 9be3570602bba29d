"""The public self-referral form in a real browser, with JavaScript on and off: an error
comes back beside its field with everything typed kept, then the request goes through.
Nothing is fetched from elsewhere (it must work over Tor). Invented people only."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.browser.conftest import Tab

OpenTab = Callable[..., Tab]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_request_form_keeps_what_was_typed_and_goes_through(
    open_tab: OpenTab, javascript: bool
) -> None:
    tab = open_tab(javascript=javascript)
    tab.go("/request")
    page = tab.page
    page.fill("#f-pseudonym", "Лесник")
    page.select_option("#f-contact_channel", "phone")
    page.fill("#f-contact_value", "call me at the station")
    page.fill("#f-message", "Ушёл из части, сейчас в Тбилиси. Нужен юрист.")
    page.select_option("#f-citizenship", "RU")
    page.click("button[type=submit]")
    error = page.locator("#f-contact_value-error")
    assert error.is_visible()
    assert page.locator("#f-contact_value").get_attribute("aria-invalid") == "true"
    # Everything typed is still there, the faulty value too, so it can be corrected.
    assert page.input_value("#f-pseudonym") == "Лесник"
    assert page.input_value("#f-message") == "Ушёл из части, сейчас в Тбилиси. Нужен юрист."
    assert page.input_value("#f-citizenship") == "RU"
    tab.shot("request-error-" + ("js" if javascript else "nojs"))
    page.fill("#f-contact_value", "+995 555 12 34 56")
    page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "Thank you"
    assert "Лесник" not in page.content()
    tab.shot("request-sent-" + ("js" if javascript else "nojs"))
    tab.assert_clean()
