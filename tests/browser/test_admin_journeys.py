"""The days of the auditor and the administrator in Chromium with JavaScript off (DESIGN.md,
"A day's work"): the auditor filters the log, verifies it and downloads the CSV and the
verifier key; the administrator creates an account, and the new person signs in with the
one-time password, enrols an authenticator and chooses their own password."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable

import pyotp

from tests.browser.conftest import Account, LiveServer, Tab
from tests.browser.test_signin import first_sign_in, sign_in_password

OpenTab = Callable[..., Tab]


def test_the_auditor_verifies_the_log_and_downloads_the_csv(
    open_tab: OpenTab, live_server: LiveServer
) -> None:
    account = live_server.add_account("auditor")
    tab = open_tab(javascript=False)
    first_sign_in(tab, account)
    tab.page.click("nav.menu >> text=Audit log")
    assert tab.path() == "/audit"
    tab.page.select_option("#f-action", "auth.sign_in")
    tab.submit("form.filters button[type=submit]")
    assert "action=auth.sign_in" in tab.page.url
    rows = tab.page.locator("table.list tbody tr")
    assert rows.count() >= 1
    assert all(t == "auth.sign_in" for t in tab.page.locator("tbody td code").all_inner_texts()[:1])
    tab.shot("auditor-1-log-filtered")
    with tab.page.expect_download() as download:
        tab.page.click("text=Download as CSV")
    body = download.value.path().read_text(encoding="utf-8")
    lines = list(csv.DictReader(io.StringIO(body)))
    assert lines, "the CSV is empty"
    assert {line["action"] for line in lines} == {"auth.sign_in"}
    tab.page.click("nav.actions >> text=Verify the log")
    assert tab.path() == "/audit/verify"
    result = tab.page.inner_text("#verify-result")
    assert result.startswith("The log is intact"), result
    tab.shot("auditor-2-verified")
    with tab.page.expect_download() as key:
        tab.page.click("text=Download the verifier key")
    assert "+" in key.value.path().read_text(encoding="utf-8")
    # The export and the verification are in the log themselves.
    tab.go("/audit?action=audit.exported")
    assert tab.page.locator("tbody td code", has_text="audit.exported").count() >= 1
    tab.go("/audit?action=audit.verified")
    assert tab.page.locator("tbody td code", has_text="audit.verified").count() >= 1
    tab.assert_clean()


def test_the_admin_creates_an_account_the_new_person_signs_in(
    open_tab: OpenTab, live_server: LiveServer
) -> None:
    admin = live_server.add_account("admin")
    tab = open_tab(javascript=False)
    first_sign_in(tab, admin)
    tab.page.click("nav.menu >> text=Accounts")
    assert tab.path() == "/admin/users"
    tab.page.click("text=New account")
    assert tab.path() == "/admin/users/new", "signing in counts as a fresh proof"
    tab.page.fill("#f-email", "")
    tab.page.click("main form button[type=submit]")
    assert tab.page.locator("#f-role-error").is_visible()
    tab.shot("admin-1-new-account-errors")
    email = f"new-auditor-{int(time.time())}@browser.haven.invalid"
    tab.page.fill("#f-email", email)
    tab.page.fill("#f-name", "Ilse Example")
    tab.page.select_option("#f-role", "auditor")
    tab.page.click("main form button[type=submit]")
    one_time = tab.page.inner_text("#one-time-password").strip()
    assert len(one_time) > 20
    tab.shot("admin-2-one-time-password")
    tab.page.click("text=Open the account")
    assert one_time not in tab.page.content(), "the one-time password is shown again"
    assert "one-time, not replaced yet" in tab.page.inner_text("main")
    tab.shot("admin-3-account")

    person = open_tab(javascript=False, width=360, height=780)
    newcomer = Account(email=email, password=one_time, totp_key="")
    sign_in_password(person, newcomer)
    assert person.path() == "/login/enrol"
    newcomer.totp_key = person.page.inner_text("main code").replace(" ", "")
    person.page.fill("#f-code", pyotp.TOTP(newcomer.totp_key).now())
    person.page.click("button[type=submit]")
    codes = person.page.locator("main ol li code")
    codes.first.wait_for()  # the next page, not the one the click left (a race under load)
    assert len(codes.all_inner_texts()) == 10
    person.page.click("text=I have written them down")
    assert person.path() == "/login/new-password"
    own = "quiet-harbour-lantern-58"
    person.page.fill("#f-new_password", own)
    person.page.fill("#f-new_password_again", own)
    person.page.click("button[type=submit]")
    assert person.path() == "/audit"  # signed in: the auditor's day starts at the log
    person.page.click("nav.menu >> text=Audit log")
    assert person.path() == "/audit"
    person.shot("admin-4-newcomer-signed-in")
    person.page.click("button:has-text('Sign out')")
    # The one-time password worked once; the own one signs in.
    sign_in_password(person, newcomer)
    assert person.path() == "/login"
    assert person.page.locator("#f-password-error").is_visible()

    tab.page.reload()
    assert "chosen by its owner" in tab.page.inner_text("main")
    tab.assert_clean()
    person.assert_clean()
