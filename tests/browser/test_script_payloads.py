"""Script payloads in every text field a person can write, shown on every page that shows
them, in Chromium with JavaScript on and off: each is plain text on the page and nothing
runs.

A caseworker writes the payloads through the API into a case (name, aliases, city, unit,
family, contacts, criminal case, wanted notes, intake notes), a task for a volunteer (title,
instructions, place) and a document's file name; the coordinator and the volunteer then open
the pages that show them. Each payload, if it ever ran, would set `window.__haven_xss`, open
a dialog or fetch elsewhere. With JavaScript on: no dialog, the property unset, no request
leaves the origin. With JavaScript on and off alike: the page's HTML holds no element or
attribute the payloads made (no inline script with the marker, no `on...` handler, no
`javascript:` link, no frame), and the payload's text is visible as text. The CSP (no inline
script) would stop an injected script too: the console must not even report a refusal,
because nothing was injected to refuse."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser

import httpx
import pytest
from playwright.sync_api import Cookie

from tests.browser.conftest import Account, LiveServer, Tab
from tests.browser.test_case_file_journey import settled_token
from tests.browser.test_signin import code_step, sign_in_password

OpenTab = Callable[..., Tab]
MARK = "HVNX"

# Each would run in some HTML context if it were not escaped: element content, a quoted or
# unquoted attribute, a URL, a textarea or title, an inline script or JSON, a template.
PAYLOADS = [
    f"<script>window.__haven_xss='{MARK}1';alert('{MARK}1')</script>",
    f'"><img src=x onerror="window.__haven_xss=\'{MARK}2\'">',
    f"'><svg onload=alert('{MARK}3')>",
    f"</textarea></title><script>alert('{MARK}4')</script>",
    f"javascript:alert('{MARK}5')",
    f"<a href=\"javascript:alert('{MARK}6')\">{MARK}6</a>",
    f"<iframe srcdoc=\"<script>parent.__haven_xss='{MARK}7'</script>\"></iframe>",
    f"\u2028</script><script>alert('{MARK}8')</script>",
    f"{{{{7*7}}}}{MARK}9{{% raw %}}",
    f"<details open ontoggle=alert('{MARK}10')>",
]


def _case_body() -> dict[str, object]:
    """An invented person whose every text field carries a payload."""
    return {
        "legal_name": f"Ivan {PAYLOADS[0]}",
        "aliases": [PAYLOADS[1], PAYLOADS[2]],
        "date_of_birth": "1997-02-11",
        "citizenship": "RU",
        "current_country": "GE",
        "current_city": PAYLOADS[3],
        "unit": PAYLOADS[4],
        "family": PAYLOADS[5],
        "contacts": [{"channel": "other", "value": PAYLOADS[6]}],
        "situation": "deserted",
        "criminal_case": {"article": "338", "status": PAYLOADS[7][:60], "notes": PAYLOADS[8]},
        "wanted": {"status": "unknown", "notes": PAYLOADS[9]},
        "needs": ["legal"],
        "risk_level": "high",
        "intake_notes": " ".join(PAYLOADS),
    }


class _Made(HTMLParser):
    """What a page's HTML made of the payloads: scripts, handlers, links, frames."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        for name, value in attrs:
            text = value or ""
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}>")
            if name in ("href", "src", "action", "formaction") and text.lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}=javascript:>")
            if name == "srcdoc":
                self.found.append(f"<{tag} srcdoc>")
            # A payload in a form field's value or a title is text; anywhere that loads or
            # styles something it would be a payload let loose.
            if MARK in text and name in ("href", "src", "action", "formaction", "style"):
                self.found.append(f"<{tag} {name}> with the marker")
        if tag in ("iframe", "object", "embed"):
            self.found.append(f"<{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and MARK in data:
            self.found.append("<script> with the marker")


def _made(html: str) -> list[str]:
    parser = _Made()
    parser.feed(html)
    return parser.found


_SESSIONS: dict[str, list[Cookie]] = {}


def _signed_in(open_tab: OpenTab, server: LiveServer, account: Account, *, js: bool) -> Tab:
    """A tab signed in as account: through the forms the first time, then with the same
    session cookie (a second sign-in within the same 30 seconds would replay the code)."""
    tab = open_tab(javascript=js)
    if account.email in _SESSIONS:
        tab.page.context.add_cookies(_SESSIONS[account.email])  # type: ignore[arg-type]
        return tab
    sign_in_password(tab, account)
    if tab.path() == "/login/totp":  # a case role's second step (a volunteer has none)
        code_step(tab, account)
    assert not tab.path().startswith("/login"), tab.page.inner_text("main")
    _SESSIONS[account.email] = tab.page.context.cookies()
    return tab


@pytest.fixture(scope="module")
def written(live_server: LiveServer) -> dict[str, object]:
    """Two cases, a task and a document with payloads, and the people who read them. The
    task is on a second case whose person has a plain name and no contacts: on the first,
    the leak guard would rightly refuse text repeating its name, aliases or contacts."""
    worker = live_server.add_account("caseworker")
    token = settled_token(live_server, worker)
    auth = {"authorization": f"Bearer {token}"}
    coordinator = live_server.add_account("coordinator")
    volunteer = live_server.add_account("volunteer")
    settled_token(live_server, coordinator)
    volunteer_token = settled_token(live_server, volunteer)
    with httpx.Client(base_url=live_server.base_url, headers=auth, timeout=30) as http:
        r = http.post("/api/v1/cases", json=_case_body())
        assert r.status_code == 201, r.text
        case_id = r.json()["id"]
        plain = {
            k: v for k, v in _case_body().items() if k not in ("legal_name", "aliases", "contacts")
        }
        r = http.post("/api/v1/cases", json={**plain, "legal_name": "Pyotr Primerov"})
        assert r.status_code == 201, r.text
        second = r.json()["id"]
        me = http.get("/api/v1/me", headers={"authorization": f"Bearer {volunteer_token}"})
        task = http.post(
            "/api/v1/tasks",
            json={
                "case_id": second,
                "assigned_to": me.json()["id"],
                "title": PAYLOADS[1],
                "instructions": " ".join(PAYLOADS[2:6]),
                "place": PAYLOADS[7],
            },
        )
        assert task.status_code == 201, task.text
        pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
        doc = http.post(
            f"/api/v1/cases/{case_id}/documents",
            files={"file": (f"{PAYLOADS[1][:80]}.pdf", pdf, "application/pdf")},
        )
        assert doc.status_code == 201, doc.text
    return {
        "case": case_id,
        "second": second,
        "task": task.json()["id"],
        "coordinator": coordinator,
        "volunteer": volunteer,
    }


def _pages(written: dict[str, object]) -> dict[str, list[str]]:
    case, second, task = written["case"], written["second"], written["task"]
    return {
        "coordinator": [
            "/cases",
            f"/cases/{case}",
            f"/cases/{case}/history",
            f"/cases/{case}/documents",
            f"/cases/{case}/edit/person",
            f"/cases/{second}/tasks",
            f"/tasks/{task}",
            "/board",
        ],
        "volunteer": ["/tasks", f"/tasks/{task}"],
    }


@pytest.mark.parametrize("js", [True, False], ids=["javascript-on", "javascript-off"])
@pytest.mark.parametrize("who", ["coordinator", "volunteer"])
def test_script_payloads_are_text_on_every_page_that_shows_them(
    open_tab: OpenTab,
    live_server: LiveServer,
    written: dict[str, object],
    who: str,
    js: bool,
) -> None:
    account = written[who]
    assert isinstance(account, Account)
    tab = _signed_in(open_tab, live_server, account, js=js)
    dialogs: list[str] = []
    tab.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    shown = 0
    for path in _pages(written)[who]:
        tab.go(path)
        assert tab.page.url.startswith(live_server.base_url + path.split("?")[0]), tab.page.url
        html = tab.page.content()
        assert _made(html) == [], (path, _made(html))
        text = tab.page.inner_text("body")
        shown += sum(1 for p in PAYLOADS if p.strip() in text)
        if js:
            assert tab.page.evaluate("window.__haven_xss === undefined"), path
    assert dialogs == []
    assert shown > 0, "no page showed a payload: nothing was tested"
    assert not tab.foreign_requests(), tab.foreign_requests()
    assert not tab.csp_violations(), tab.csp_violations()
    assert not [m for m in tab.console if m.startswith("pageerror")], tab.console
    print(f"script payloads as {who}, JavaScript {'on' if js else 'off'}: {shown} shown as text")
