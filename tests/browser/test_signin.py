"""Signing in as a person does it, in Chromium: with JavaScript on and off.

Each test also proves that nothing was fetched from outside the server and that the
Content-Security-Policy refused nothing (see `Tab.assert_clean`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pyotp
import pytest

from app.web import HOME
from tests.browser.conftest import Account, LiveServer, Tab

OpenTab = Callable[..., Tab]
# Where a completed sign-in lands: `/` sends each role to its home (the start page while this
# app serves no home for the role).
HOME_PATHS = {"/"} | {urlsplit(path).path for path in HOME.values()}


def at_home(tab: Tab, account: Account | None = None) -> None:
    """Signed in, on the role's home page, the header naming the account."""
    assert tab.path() in HOME_PATHS, tab.path()
    who = tab.page.inner_text("header.site .who")
    if account is not None:
        assert account.email.split("@")[0] in who


def sign_in_password(tab: Tab, account: Account, *, password: str | None = None) -> None:
    """Fill the sign-in form and submit it."""
    tab.go("/login")
    tab.page.fill("#f-email", account.email)
    tab.page.fill("#f-password", password if password is not None else account.password)
    tab.page.click("button[type=submit]")


def code_step(tab: Tab, account: Account) -> None:
    """The second step of an account whose authenticator was confirmed outside the pages
    (by `LiveServer.settle` or an API sign-in, with this step's code: a replay is refused,
    so the next step's code, within the ±1 window), then past the recovery codes such an
    account is shown once, to the role's own start page."""
    assert tab.path() == "/login/totp", tab.path()
    tab.page.fill("#f-code", pyotp.TOTP(account.totp_key).at(time.time() + 30))
    tab.submit()
    if tab.page.locator("text=I have written them down").count():
        tab.submit("text=I have written them down")
    assert not tab.path().startswith("/login"), tab.page.inner_text("main")


def enrol(tab: Tab, account: Account, name: str = "") -> list[str]:
    """First sign-in: read the key off the page, confirm a code; return the recovery codes."""
    sign_in_password(tab, account)
    assert tab.path() == "/login/enrol"
    shown = tab.page.inner_text("main code").replace(" ", "")
    assert shown == account.totp_key, "the page shows another key than the account has"
    assert tab.page.locator("main img").evaluate("i => i.naturalWidth") > 0, "QR code not drawn"
    if name:
        tab.shot(f"{name}-2-enrol")
    tab.page.fill("#f-code", pyotp.TOTP(shown).now())
    tab.submit()
    assert tab.page.inner_text("h1") == "Your recovery codes"
    codes = tab.page.locator("main ol li code").all_inner_texts()
    if name:
        tab.shot(f"{name}-3-recovery-codes")
    return codes


def choose_password(tab: Tab, account: Account, name: str = "") -> None:
    """After the recovery codes, a one-time password must be replaced: choose one's own."""
    tab.page.click("text=I have written them down")
    assert tab.path() == "/login/new-password"
    if name:
        tab.shot(f"{name}-4-new-password")
    own = account.password + "-own"
    tab.page.fill("#f-new_password", own)
    tab.page.fill("#f-new_password_again", own + "x")
    tab.page.click("button[type=submit]")
    assert tab.path() == "/login/new-password"
    assert tab.page.locator("#f-new_password_again-error").is_visible()
    tab.page.fill("#f-new_password", own)
    tab.page.fill("#f-new_password_again", own)
    tab.page.click("button[type=submit]")
    at_home(tab, account)
    account.password = own


def first_sign_in(tab: Tab, account: Account, name: str = "") -> list[str]:
    """Enrol, keep the recovery codes, choose one's own password: an account in use."""
    codes = enrol(tab, account, name)
    choose_password(tab, account, name)
    return codes


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_first_sign_in_enrols_then_signs_out(
    open_tab: OpenTab, live_server: LiveServer, javascript: bool
) -> None:
    name = "journey-" + ("js" if javascript else "nojs")
    account = live_server.add_account("caseworker")
    tab = open_tab(javascript=javascript)
    tab.go("/login")
    tab.shot(f"{name}-1-login")
    one_time = account.password
    codes = first_sign_in(tab, account, name)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    at_home(tab, account)
    tab.shot(f"{name}-5-signed-in")
    tab.page.click("button:has-text('Sign out')")
    assert tab.path() == "/login"
    tab.go("/")
    assert tab.path() == "/login", "the start page is still open after signing out"
    # The one-time password worked once: it signs in no more.
    sign_in_password(tab, account, password=one_time)
    assert tab.path() == "/login"
    assert tab.page.locator("#f-password-error").is_visible()
    tab.assert_clean()


def test_returning_user_signs_in_with_a_code(open_tab: OpenTab, live_server: LiveServer) -> None:
    account = live_server.add_account("coordinator")
    first_sign_in(open_tab(), account)
    tab = open_tab()
    sign_in_password(tab, account)
    assert tab.path() == "/login/totp"
    tab.page.fill("#f-code", "000000")
    tab.page.click("button[type=submit]")
    assert tab.path() == "/login/totp"
    assert tab.page.locator("#f-code-error").is_visible()
    tab.shot("totp-wrong-code")
    # The enrolment used this step's code (replay refused): the next step's is within ±1.
    tab.page.fill("#f-code", pyotp.TOTP(account.totp_key).at(time.time() + 30))
    tab.page.click("button[type=submit]")
    at_home(tab, account)
    tab.assert_clean()


def test_recovery_code_signs_in_once(open_tab: OpenTab, live_server: LiveServer) -> None:
    account = live_server.add_account("auditor")
    codes = first_sign_in(open_tab(javascript=False), account)
    for attempt in ("first", "second"):
        tab = open_tab(javascript=False)
        sign_in_password(tab, account)
        tab.page.fill("#f-code", codes[0])
        tab.page.click("button[type=submit]")
        if attempt == "first":
            at_home(tab, account)
        else:
            assert tab.path() == "/login/totp"
            assert tab.page.locator("#f-code-error").is_visible()
        tab.assert_clean()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_wrong_password_shows_the_error_next_to_the_field(
    open_tab: OpenTab, live_server: LiveServer, javascript: bool
) -> None:
    account = live_server.add_account("caseworker")
    tab = open_tab(javascript=javascript)
    sign_in_password(tab, account, password="not-the-right-password")
    assert tab.path() == "/login"
    error = tab.page.locator("#f-password-error")
    assert error.is_visible()
    assert error.inner_text()
    # Next to its field: in the same form row, named by the input's aria-describedby.
    field = tab.page.locator("#f-password")
    assert field.get_attribute("aria-describedby") == "f-password-error"
    assert field.get_attribute("aria-invalid") == "true"
    assert tab.page.locator(".field:has(#f-password) #f-password-error").count() == 1
    assert tab.page.input_value("#f-email") == account.email, "the e-mail was not kept"
    assert tab.page.input_value("#f-password") == "", "a password must never be sent back"
    tab.shot("wrong-password-" + ("js" if javascript else "nojs"))
    tab.assert_clean()


def test_demo_accounts_sign_in_as_printed(open_tab: OpenTab, live_server: LiveServer) -> None:
    """What `haven demo` printed is enough: a volunteer needs no code, a caseworker enrols."""
    volunteer = open_tab()
    sign_in_password(volunteer, live_server.demo["volunteer"])
    at_home(volunteer, live_server.demo["volunteer"])
    volunteer.assert_clean()
    caseworker = open_tab()
    assert len(enrol(caseworker, live_server.demo["caseworker"])) == 10
    caseworker.assert_clean()


def test_the_checks_can_fail(open_tab: OpenTab, live_server: LiveServer) -> None:
    """An inline style is reported as a CSP violation; another origin counts as foreign."""
    tab = open_tab()
    tab.go("/login")
    assert not tab.csp_violations()
    tab.page.evaluate("document.head.insertAdjacentHTML('beforeend', '<style>p{}</style>')")
    tab.page.wait_for_timeout(200)
    assert tab.csp_violations(), tab.console
    # Same server, other origin (localhost is not 127.0.0.1): the recorder must flag it.
    tab.page.goto(live_server.base_url.replace("127.0.0.1", "localhost") + "/login")
    assert tab.foreign_requests()
