"""The case file in Chromium with JavaScript off, as a coordinator and a caseworker use it:
the coordinator assigns a new case on his phone and tries to move it on (the gate says what
is missing), the caseworker records the consent to keep the record, and the coordinator moves
the case to documentation. Nothing is loaded from elsewhere; the CSP refuses nothing."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pyotp

from tests.browser.conftest import Account, LiveServer, Tab
from tests.browser.test_signin import code_step, sign_in_password

OpenTab = Callable[..., Tab]
PHONE = {"width": 360, "height": 780}


def settled_token(server: LiveServer, account: Account) -> str:
    """Replace the one-time password through the API (enrolling the authenticator) and keep
    the bearer token that answer gives, as a script would."""
    own = account.password + "-own"
    body = {
        "email": account.email,
        "password": account.password,
        "new_password": own,
        "totp": pyotp.TOTP(account.totp_key).now(),
    }
    r = httpx.post(f"{server.base_url}/api/v1/auth/token", json=body, timeout=30)
    assert r.status_code == 200, r.text
    account.password = own
    return str(r.json()["access_token"])


def signed_in_tab(open_tab: OpenTab, server: LiveServer, role: str, **size: int) -> Tab:
    """A new account of role in everyday use, signed in in a browser without JavaScript."""
    account = server.add_account(role)
    settled_token(server, account)
    tab = open_tab(javascript=False, **size)
    sign_in_password(tab, account)
    code_step(tab, account)  # signed in: the role's own start page (board, own cases)
    return tab


def new_intake(server: LiveServer) -> str:
    """A case opened through the API by a caseworker of the team (an invented person)."""
    intake_worker = server.add_account("caseworker")
    token = settled_token(server, intake_worker)
    body = {
        "legal_name": "Ivan Primerov",
        "date_of_birth": "1997-02-11",
        "citizenship": "RU",
        "current_country": "GE",
        "situation": "deserted",
        "needs": ["legal"],
        "risk_level": "high",
        "intake_notes": "Left his unit in the autumn (invented for the test).",
    }
    r = httpx.post(
        f"{server.base_url}/api/v1/cases",
        json=body,
        headers={"authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_coordinator_assigns_and_moves_a_case_caseworker_records_consent(
    open_tab: OpenTab, live_server: LiveServer
) -> None:
    case_id = new_intake(live_server)
    path = f"/cases/{case_id}"
    coordinator = signed_in_tab(open_tab, live_server, "coordinator", **PHONE)
    caseworker_tab = signed_in_tab(open_tab, live_server, "caseworker")
    worker_email = caseworker_tab.page.inner_text("header .who span")

    # The coordinator, on his phone, gives the case to the caseworker.
    coordinator.go(path)
    assert coordinator.page.inner_text("h1").startswith("HV-")
    options = coordinator.page.locator("#f-user_id option")
    label = next(t for t in options.all_inner_texts() if t.strip() == worker_email.strip())
    coordinator.page.select_option("#f-user_id", label=label)
    coordinator.page.click("form[action$='/assign'] button[type=submit]")
    assert coordinator.page.inner_text("p.notice.done") == "The case is assigned."
    coordinator.shot("case-file-journey-1-assigned")

    # Moving on too early: the gate's reasons, in plain words, beside the stage actions.
    coordinator.page.click("form[action$='/stage']:has(input[value=documentation]) button")
    error = coordinator.page.locator("#stage-error")
    assert error.is_visible()
    assert "Record consent (or another legal basis) to keep the record." in error.inner_text()
    assert coordinator.page.inner_text(".case-head .badges").startswith("Intake")
    coordinator.shot("case-file-journey-2-gate-refused")

    # The caseworker records the consent to keep the record.
    caseworker_tab.go(path)
    caseworker_tab.page.click("a[href$='/consents/new']")
    assert caseworker_tab.path() == f"{path}/consents/new"
    caseworker_tab.page.select_option("#f-purpose", "store")
    caseworker_tab.page.select_option("#f-legal_basis", "consent")
    caseworker_tab.page.click("main button[type=submit]")
    assert caseworker_tab.path() == path, caseworker_tab.requests[-4:]
    assert caseworker_tab.page.inner_text("p.notice.done") == "The consent is recorded."
    row = caseworker_tab.page.locator("#consents tbody tr")
    assert row.count() == 1
    assert "Keep the record" in row.inner_text()
    assert "In force" in row.inner_text()
    caseworker_tab.shot("case-file-journey-3-consent")

    # Now the gate opens.
    coordinator.go(path)
    coordinator.page.click("form[action$='/stage']:has(input[value=documentation]) button")
    assert coordinator.page.inner_text("p.notice.done") == "The case moved to its new stage."
    assert coordinator.page.inner_text(".case-head .badges").startswith("Documentation")
    coordinator.shot("case-file-journey-4-documentation")

    # The timeline tells it in order, with who did what.
    coordinator.go(f"{path}/history")
    timeline = coordinator.page.inner_text("ol.timeline")
    assert "moved the case to another stage" in timeline
    assert "recorded or withdrew a consent" in timeline
    assert "changed who the case is assigned to" in timeline
    for tab in (coordinator, caseworker_tab):
        tab.assert_clean()
