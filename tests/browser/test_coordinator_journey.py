"""The coordinator's day in DESIGN.md, in Chromium with JavaScript off and on a phone's
width: a request for help arrives through the public form, the coordinator judges it genuine
on the triage board and assigns it, approves an access request an administrator made (and
hands over the new account's one-time password), then seals the server; every page, the
public form's included, then says the service is sealed."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pyotp

from tests.browser.conftest import Account, LiveServer, Tab
from tests.browser.test_signin import code_step, sign_in_password

OpenTab = Callable[..., Tab]
PHONE = {"width": 360, "height": 780}


def _next_code(account: Account) -> str:
    """A code of the next step: the one of this step may have been used already (replay)."""
    return pyotp.TOTP(account.totp_key).at(time.time() + 30)


def _admin_asks_for_a_caseworker(server: LiveServer, admin: Account, name: str) -> None:
    """An administrator makes a caseworker's account through the API, as a script would: it
    waits as an access request for the team's coordinator."""
    body = {"email": admin.email, "password": admin.password, "totp": _next_code(admin)}
    token = httpx.post(f"{server.base_url}/api/v1/auth/token", json=body, timeout=30)
    assert token.status_code == 200, token.text
    made = httpx.post(
        f"{server.base_url}/api/v1/users",
        json={
            "email": f"{name.lower()}@browser.haven.invalid",
            "role": "caseworker",
            "teams": ["Browser team"],
            "name": name,
        },
        headers={"authorization": f"Bearer {token.json()['access_token']}"},
        timeout=30,
    )
    assert made.status_code == 201, made.text
    assert made.json()["access_request_id"]


def _ask_for_help(tab: Tab) -> None:
    tab.go("/request")
    tab.page.fill("#f-pseudonym", "Лесник")
    tab.page.select_option("#f-contact_channel", "signal")
    tab.page.fill("#f-contact_value", "lesnik_safe.42")
    tab.page.fill("#f-message", "Ушёл из части, сейчас в Тбилиси. Нужен юрист.")
    tab.page.click("main button[type=submit]")
    assert tab.path() == "/request/sent"


def _sign_in(tab: Tab, account: Account) -> None:
    sign_in_password(tab, account)
    code_step(tab, account)


def _reauthenticate_if_asked(tab: Tab, account: Account) -> None:
    if tab.path() == "/account/reauth":
        tab.page.fill("#f-password", account.password)
        if tab.page.locator("#f-code").count():
            tab.page.fill("#f-code", pyotp.TOTP(account.totp_key).at(time.time() + 60))
        tab.page.click("main button[type=submit]")


def test_the_coordinators_day(open_tab: OpenTab, live_server: LiveServer) -> None:
    coordinator = live_server.settle(live_server.add_account("coordinator"))
    caseworker = live_server.add_account("caseworker")
    admin = live_server.settle(live_server.add_account("admin"))

    person = open_tab(javascript=False, locale="ru-RU", **PHONE)
    _ask_for_help(person)
    _admin_asks_for_a_caseworker(live_server, admin, "Marta")

    tab = open_tab(javascript=False, locale="en-US", **PHONE)
    _sign_in(tab, coordinator)
    assert tab.path() == "/board", tab.page.inner_text("main")
    tab.shot("coordinator-1-board")

    # The newest request first: judged genuine, then assigned to a caseworker of the team.
    card = tab.page.locator("section[aria-labelledby=h-requests] ul.cards > li").first
    code = card.locator("h3").inner_text()
    assert "Not yet checked" in card.inner_text()
    assert "Лесник" not in tab.page.inner_text("main"), "the board shows no personal field"
    card.locator("button:has-text('Genuine')").click()
    assert tab.page.locator(".notice.done").inner_text() == "The request is marked."
    card = tab.page.locator(f"section[aria-labelledby=h-requests] li:has(h3:has-text('{code}'))")
    assert "Checked: genuine" in card.inner_text()
    card.locator("select").select_option(label=caseworker.email.split("@")[0])
    card.locator("button:has-text('Assign')").click()
    assert tab.page.locator(".notice.done").inner_text() == "The case is assigned."
    requests = tab.page.inner_text("section[aria-labelledby=h-requests]")
    assert code not in requests
    tab.shot("coordinator-2-assigned")

    # The administrator's request: approved after proving password and code again.
    access = tab.page.locator("section[aria-labelledby=h-access] li:has(h3:has-text('Marta'))")
    access.locator("a:has-text('Approve')").click()
    _reauthenticate_if_asked(tab, coordinator)
    assert tab.path().endswith("/approve")
    assert "Marta" in tab.page.inner_text("main")
    tab.page.click("main button:has-text('Approve')")
    one_time = tab.page.inner_text("main p.secret code")
    assert len(one_time) >= 12
    tab.shot("coordinator-3-one-time-password")
    tab.page.click("text=Back to the board")
    assert "Marta" not in tab.page.inner_text("section[aria-labelledby=h-access]")

    try:
        # A volunteer's phone was seized at the border: seal, from the phone.
        tab.page.click("nav.menu >> text=Seal")
        assert tab.path() == "/seal"
        tab.page.click("main button[type=submit]")  # without the word: refused
        assert tab.path() == "/seal"
        assert tab.page.locator("#f-confirm-error").is_visible()
        tab.shot("coordinator-4-seal")
        tab.page.fill("#f-confirm", "SEAL")
        tab.page.click("main button[type=submit]")
        assert tab.page.inner_text("h1") == "The service is sealed"
        tab.shot("coordinator-5-sealed")
        tab.go("/board")
        assert tab.page.inner_text("h1") == "The service is sealed"
        person.go("/request")
        assert person.page.get_attribute("html", "lang") == "ru"
        assert "Сейчас обращения не принимаются." in person.page.inner_text("main")
        person.shot("coordinator-6-sealed-request-ru")
        status = httpx.get(f"{live_server.base_url}/api/v1/sys/seal-status", timeout=30)
        assert status.json()["sealed"] is True
        tab.assert_clean()
        person.assert_clean()
    finally:
        # The live server serves the other browser tests: unseal it (dev mode: its key file).
        opened = httpx.post(
            f"{live_server.base_url}/api/v1/sys/unseal", json={"key": "dev"}, timeout=60
        )
        assert opened.status_code == 200, opened.text
        assert opened.json()["sealed"] is False
