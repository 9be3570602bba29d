"""The reports in Chromium with JavaScript off: a coordinator of the demo team on a phone opens
the report from the menu, narrows it to months, downloads a table as CSV and reads it in
Russian and Ukrainian; the auditor, at a desk, reads every team's report. Charts are drawn by
the server: the page runs no script, loads nothing from elsewhere, and the CSP refuses
nothing. Screenshots are kept (HAVEN_SCREENSHOTS)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from tests.browser.conftest import Account, LiveServer, Tab, _haven
from tests.browser.test_signin import code_step, sign_in_password

OpenTab = Callable[..., Tab]
PHONE = {"width": 360, "height": 780}


def _demo_team_account(server: LiveServer, role: str, name: str) -> Account:
    """A new account in the demo's team (so its report counts the demo's cases)."""
    email = f"{name}@browser.haven.invalid"
    password = "Quiet-otter-paints-harbour-31"
    args = ["user", "add", email, "--role", role, "--password-stdin", "--json"]
    if role == "coordinator":
        args += ["--team", "Demo team"]
    out = _haven(server, *args, stdin=password + "\n")
    key = parse_qs(urlsplit(json.loads(out)["totp_uri"]).query)["secret"][0]
    return server.settle(Account(email=email, password=password, totp_key=key))


def _sign_in(tab: Tab, account: Account) -> None:
    sign_in_password(tab, account)
    code_step(tab, account)


def test_a_coordinator_reads_filters_and_exports_the_report_on_a_phone(
    open_tab: OpenTab, live_server: LiveServer
) -> None:
    account = _demo_team_account(live_server, "coordinator", "reports-coordinator")
    tab = open_tab(javascript=False, width=PHONE["width"], height=PHONE["height"])
    _sign_in(tab, account)
    tab.go("/board")  # wherever the day starts, the menu leads to the report
    tab.go("/reports")
    assert tab.page.inner_text("h1") == "Reports"
    charts = tab.page.locator("svg.chart[role=img]")
    assert charts.count() == 9
    assert "Cases by stage" in charts.first.inner_html()
    tab.shot("reports-coordinator-1-summary")
    now = datetime.now(UTC)
    month = f"{now.year:04d}-{now.month:02d}"
    tab.page.fill("#f-since", month)
    tab.page.fill("#f-until", month)
    tab.page.click("form.filters button[type=submit]")
    assert parse_qs(urlsplit(tab.page.url).query)["since"] == [month]
    assert "<5" in tab.page.inner_text("#t-stage") or "5" in tab.page.inner_text("#t-stage")
    tab.shot("reports-coordinator-2-filtered")
    with tab.page.expect_download() as download:
        tab.page.click("#t-citizenship_by_situation a[download]")
    text = download.value.path().read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["table", "row", "column", "shown", "value", "hidden"]
    assert {r[0] for r in rows[2:]} == {"citizenship_by_situation"}
    assert all(r[3] in {"<5", "×"} or int(r[3]) % 5 == 0 for r in rows[2:])
    tab.page.fill("#f-since", "2026-13")
    tab.page.click("form.filters button[type=submit]")
    assert tab.page.locator("#f-since-error").is_visible()
    assert tab.page.input_value("#f-since") == "2026-13"
    for lang, name in (("ru", "Русский"), ("uk", "Українська")):
        tab.go("/reports")
        tab.page.click(f"nav.languages button:text-is('{name}')")
        assert tab.path() == "/reports"
        tab.shot(f"reports-coordinator-3-{lang}")
    tab.assert_clean()


def test_the_auditor_reads_every_teams_report_at_a_desk(
    open_tab: OpenTab, live_server: LiveServer
) -> None:
    account = _demo_team_account(live_server, "auditor", "reports-auditor")
    tab = open_tab(javascript=False, width=1280, height=900)
    _sign_in(tab, account)
    tab.go("/reports")
    total = tab.page.inner_text("p.lead")
    assert "Cases in all:" in total
    options = tab.page.locator("#f-team option").all_inner_texts()
    assert "Demo team" in options
    tab.shot("reports-auditor-1-summary")
    tab.assert_clean()
