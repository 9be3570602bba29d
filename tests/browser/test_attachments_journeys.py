"""Two days from DESIGN.md in Chromium with JavaScript off.

- A coordinator refers a case to an asylum lawyer: only the two fields he ticks go into the
  packet, which he sends and downloads; the partner opens it with its own key.
- A volunteer on a 360 px phone reads her task (case code, title, instructions, place, due
  time and nothing else), accepts it, adds a note and marks it done.

The world is set up as a script would, through the API: a coordinator and a volunteer of a
new team (`haven user add`), a partner whose private key stays with the test, a case of an
invented person with consent to share with that partner, and a task for the volunteer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from app.referrals import packet as packets
from tests.browser.conftest import Account, LiveServer, Tab
from tests.browser.test_signin import code_step, sign_in_password

OpenTab = Callable[..., Tab]
PERSON = {
    "legal_name": "Pavel Primerov",
    "date_of_birth": "1995-05-17",
    "situation": "deserted",
    "unit": "Unit 00000 (invented)",
    "current_city": "Tbilisi",
}
TASK = {
    "title": "Meet at the railway station",
    "instructions": "Thursday 14:00 at the main entrance; bring a SIM card; ask for 'Misha'.",
    "place": "Astana, railway station",
}


@dataclass
class World:
    """Who and what the journeys use."""

    coordinator: Account
    volunteer: Account
    case_id: str
    case_code: str
    partner_name: str
    partner_key: X25519PrivateKey
    task_id: str


def _api(server: LiveServer, token: str, method: str, path: str, body: Any = None) -> Any:
    r = httpx.request(
        method,
        f"{server.base_url}/api/v1{path}",
        json=body,
        headers={"authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
    return r.json()


def _token(server: LiveServer, account: Account) -> str:
    """Replace the one-time password (enrolling the authenticator) and get a bearer token."""
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


@pytest.fixture(scope="module")
def world(live_server: LiveServer) -> World:
    coordinator = live_server.add_account("coordinator")
    volunteer = live_server.add_account("volunteer")
    token = _token(live_server, coordinator)
    key = X25519PrivateKey.generate()
    partner_name = f"Asylum lawyers Frankfurt ({int(time.time())})"
    partner = _api(
        live_server, token, "POST", "/partners",
        {"name": partner_name, "services": ["asylum"], "countries": ["DE"],
         "public_key": packets.encode_public_key(key.public_key())},
    )  # fmt: skip
    case = _api(live_server, token, "POST", "/cases", PERSON)
    given = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    consent = {
        "purpose": "share_with_partner",
        "partner": partner["id"],
        "legal_basis": "consent",
        "given_at": given,
    }
    _api(live_server, token, "POST", f"/cases/{case['id']}/consents", consent)
    members = _api(live_server, token, "GET", f"/teams/{case['team']}/members")["items"]
    volunteer_id = next(m["id"] for m in members if m["email"] == volunteer.email)
    due = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0).isoformat()
    task = _api(
        live_server, token, "POST", "/tasks",
        {"case_id": case["id"], "assigned_to": volunteer_id, **TASK, "due": due},
    )  # fmt: skip
    return World(
        coordinator=coordinator,
        volunteer=volunteer,
        case_id=case["id"],
        case_code=case["case_code"],
        partner_name=partner_name,
        partner_key=key,
        task_id=task["id"],
    )


def _sign_in_with_code(tab: Tab, account: Account) -> None:
    sign_in_password(tab, account)
    code_step(tab, account)


def test_coordinator_refers_two_fields_sends_and_downloads_the_packet(
    open_tab: OpenTab, world: World
) -> None:
    tab = open_tab(javascript=False)
    _sign_in_with_code(tab, world.coordinator)
    tab.go(f"/cases/{world.case_id}/referrals")
    assert world.case_code in tab.page.inner_text("h1")
    boxes = tab.page.locator("input[name=fields]")
    assert boxes.count() > 2
    assert all(not boxes.nth(i).is_checked() for i in range(boxes.count())), "ticked by default"
    fingerprint = packets.key_id(world.partner_key.public_key())
    partner = tab.page.locator(f"label:has-text('{world.partner_name}')")
    assert fingerprint in partner.inner_text(), "the partner's fingerprint is not shown"
    tab.shot("referral-1-form")
    # Nothing ticked: refused beside the fields, the chosen partner kept.
    partner.click()
    tab.submit("button:has-text('Prepare the referral')")
    assert tab.page.locator("#f-fields-error").is_visible()
    assert tab.page.locator("input[name=partner_id]:checked").count() == 1
    tab.page.check("#f-field-legal_name")
    tab.page.check("#f-field-situation")
    tab.page.fill("#f-note", "Asylum hearing in March; he prefers Russian.")
    tab.shot("referral-2-ticked")
    tab.page.click("button:has-text('Prepare the referral')")
    assert "Prepared, not sent" in tab.page.inner_text("main")
    tab.submit("button:has-text('Seal the packet for the partner')")
    assert "Haven does not send it" in tab.page.inner_text("main")
    tab.shot("referral-3-sent")
    with tab.page.expect_download() as download_info:
        tab.page.click("a:has-text('Download the packet')")
    download = download_info.value
    assert download.suggested_filename.startswith(f"referral-{world.case_code}-")
    data = Path(download.path()).read_bytes()
    opened = packets.open_packet(data, world.partner_key)
    assert opened.body["fields"] == {
        "legal_name": PERSON["legal_name"],
        "situation": PERSON["situation"],
    }
    assert opened.body["note"] == "Asylum hearing in March; he prefers Russian."
    tab.assert_clean()


def test_volunteer_accepts_notes_and_completes_her_task_on_a_phone(
    open_tab: OpenTab, world: World
) -> None:
    tab = open_tab(javascript=False, width=360, height=780)
    sign_in_password(tab, world.volunteer)
    # A new account's password works once: she chooses her own first.
    assert tab.path() == "/login/new-password"
    own = world.volunteer.password + "-own"
    tab.page.fill("#f-new_password", own)
    tab.page.fill("#f-new_password_again", own)
    tab.page.click("button[type=submit]")
    world.volunteer.password = own
    tab.page.click("nav.menu a[href='/tasks']")
    assert tab.path() == "/tasks"
    tab.shot("volunteer-1-tasks")
    tab.page.click(f"a[href='/tasks/{world.task_id}']")
    main = tab.page.inner_text("main")
    for shown in (world.case_code, TASK["title"], TASK["instructions"], TASK["place"]):
        assert shown in main, shown
    for hidden in PERSON.values():
        assert hidden not in tab.page.content(), "a case value reached the volunteer"
    # Nothing wider than the phone: no sideways scrolling.
    width = tab.page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"the page is {width} px wide on a 360 px phone"
    tab.shot("volunteer-2-task")
    tab.page.click("button:has-text('Accept the task')")
    assert "You accepted the task." in tab.page.inner_text("main")
    tab.page.fill("#f-note", "Call me on +995 555 12 34 56")
    tab.submit("button:has-text('Save the note')")
    assert tab.page.locator("#f-note-error").is_visible()
    assert tab.page.input_value("#f-note") == "Call me on +995 555 12 34 56"
    tab.shot("volunteer-3-note-refused")
    tab.page.fill("#f-note", "Met as planned; SIM card at the clock.")
    tab.submit("button:has-text('Save the note')")
    assert "Your note is saved." in tab.page.inner_text("main")
    # As a volunteer does it: the note rewritten, then "Mark as done" at once; both kept.
    tab.page.fill("#f-note", "Met as planned; SIM card handed over.")
    tab.submit("button:has-text('Mark as done')")
    main = tab.page.inner_text("main")
    assert "The task is marked done." in main
    assert "Done" in main
    assert "Met as planned; SIM card handed over." in tab.page.input_value("#f-note")
    tab.shot("volunteer-4-done")
    tab.assert_clean()
