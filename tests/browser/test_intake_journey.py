"""A caseworker's intake in Chromium with JavaScript off (DESIGN.md, "A day's work"): she
checks for duplicates, interviews the man for an hour, her session lapses before she saves,
she signs in again and finds every field as she typed it, and the case opens.

The session is made to lapse the way time would do it: its `last_seen_at` is moved back in
the live server's database, past the idle limit.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta

import pyotp
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from app.security.models import AuthSession
from app.users.models import User
from tests.browser.conftest import Account, LiveServer, Tab
from tests.browser.test_signin import sign_in_password

OpenTab = Callable[..., Tab]

# Synthetic: what the caseworker types (text fields by id, choices by id).
TYPED = {
    "f-legal_name": "Andrei Vymyshlennikov",
    "f-aliases": "Андрей Вымышленников",
    "f-date_of_birth": "1996-05-21",
    "f-languages": "ru",
    "f-current_city": "Tbilisi",
    "f-contact1_value": "@andrei_vym_96",
    "f-contact2_value": "+995 555 01 02 03",
    "f-unit": "Unit 00000 (invented)",
    "f-left_service_on": "2025-09-30",
    "f-criminal_article": "337",
    "f-criminal_status": "opened",
    "f-document1_expires": "2031-04-30",
    "f-intake_notes": "Left his unit in Belgorod region in September; needs a lawyer.",
}
CHOSEN = {
    "f-citizenship": "RU",
    "f-current_country": "GE",
    "f-contact1_channel": "telegram",
    "f-contact2_channel": "phone",
    "f-situation": "deserted",
    "f-service_status": "mobilised",
    "f-wanted_status": "unknown",
    "f-document1_type": "military_id",
    "f-risk_level": "high",
    "f-consent_basis": "consent",
}
NEEDS = ("legal", "documents")


def _lapse_sessions(server: LiveServer, email: str) -> None:
    """Every session of the account last seen two hours ago (past the idle limit)."""
    engine = create_engine(server.env["HAVEN_DATABASE_URL"])
    try:
        with Session(engine) as db, db.begin():
            user_id = db.scalars(select(User.id).where(User.email == email)).one()
            sessions = db.scalars(select(AuthSession).where(AuthSession.user_id == user_id))
            for row in sessions:
                db.execute(
                    update(AuthSession)
                    .where(AuthSession.id == row.id)
                    .values(last_seen_at=row.last_seen_at - timedelta(hours=2))
                )
    finally:
        engine.dispose()


def _code_step(tab: Tab, code: str) -> None:
    assert tab.path() == "/login/totp"
    tab.page.fill("#f-code", code)
    tab.submit()


def test_a_caseworker_finds_her_interview_whole_after_her_session_lapsed(
    open_tab: OpenTab, live_server: LiveServer
) -> None:
    account: Account = live_server.settle(live_server.add_account("caseworker"))
    tab = open_tab(javascript=False)
    sign_in_password(tab, account)
    # The enrolment used this step's code (replay refused): the next step's is within ±1.
    _code_step(tab, pyotp.TOTP(account.totp_key).at(time.time() + 30))
    codes = tab.page.locator("main ol li code").all_inner_texts()
    tab.page.click("text=I have written them down")

    tab.go("/cases/new")
    tab.shot("intake-1-form")
    tab.page.fill("#f-legal_name", TYPED["f-legal_name"])
    tab.page.fill("#f-date_of_birth", TYPED["f-date_of_birth"])
    tab.page.click("button[name=action][value=check]")
    assert tab.path() == "/cases/new"
    assert tab.page.locator("text=No match among your cases.").is_visible()
    tab.shot("intake-2-duplicates")

    for selector, value in TYPED.items():
        tab.page.fill(f"#{selector}", value)
    for selector, value in CHOSEN.items():
        tab.page.select_option(f"#{selector}", value)
    for need in NEEDS:
        tab.page.check(f"#f-need-{need}")
    _lapse_sessions(live_server, account.email)
    tab.page.click("text=Save and open the case")

    # Sent to sign in, told plainly that nothing was lost.
    assert tab.path() == "/login"
    assert "Everything you typed is kept" in tab.page.inner_text("main")
    assert "Vymyshlennikov" not in tab.page.url
    tab.shot("intake-3-kept")
    sign_in_password(tab, account)
    _code_step(tab, codes[0])

    # The last sign-in step continues to the kept interview: every field as typed.
    assert tab.path() == "/cases/new"
    assert re.fullmatch(r"draft=[0-9a-f-]{36}", tab.page.url.split("?", 1)[1])
    for selector, value in (TYPED | CHOSEN).items():
        assert tab.page.input_value(f"#{selector}") == value, selector
    for need in NEEDS:
        assert tab.page.is_checked(f"#f-need-{need}"), need
    tab.shot("intake-4-restored")
    tab.page.click("text=Save and open the case")
    assert re.fullmatch(r"/cases/[0-9a-f-]{36}", tab.path()), tab.page.url

    tab.go("/cases?mine=true")
    rows = tab.page.locator("table.cases tbody tr")
    assert rows.count() == 1
    assert "High risk" in rows.inner_text()
    assert "Vymyshlennikov" not in tab.page.content()
    tab.shot("intake-5-my-cases")
    tab.assert_clean()
