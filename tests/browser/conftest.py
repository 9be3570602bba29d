"""A real `haven serve` and a real Chromium (Debian's /usr/bin/chromium, driven by Playwright).

One server per test worker: a temp SQLite database made by `haven init --seal-mode dev`, the
demo accounts from `haven demo` (parsed from what it prints, as a new user reads them), and
`haven serve` on a free loopback port with the default settings, Secure cookies included
(Chromium treats http://127.0.0.1 as a secure context). Every page a test opens records
each request URL and console message, so a test can prove nothing left the server's origin
and the CSP blocked nothing.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HAVEN = Path(sys.executable).with_name("haven")
DEMO_LINE = re.compile(
    r"^\s+(?P<role>\w+)\s+(?P<email>\S+)\s+password: (?P<password>\S+)\s+TOTP key: (?P<key>\S+)$"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder carries the `browser` marker."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@dataclass
class Account:
    """An account as its owner knows it: address, password and authenticator key. The
    password of a new account is a one-time one until the owner chooses their own."""

    email: str
    password: str
    totp_key: str


@dataclass
class LiveServer:
    """A running `haven serve` with its own database, and a way to add accounts."""

    base_url: str
    env: dict[str, str]
    workdir: Path
    demo: dict[str, Account] = field(default_factory=dict)
    _made: int = 0

    def add_account(self, role: str) -> Account:
        """A brand-new account through `haven user add --json` (an operator's way)."""
        self._made += 1
        email = f"{role}{self._made}@browser.haven.invalid"
        password = f"Browser-test-{self._made}-correct-horse"
        args = ["user", "add", email, "--role", role, "--team", "Browser team"]
        out = _haven(self, *args, "--password-stdin", "--json", stdin=password + "\n")
        uri = json.loads(out)["totp_uri"]
        key = parse_qs(urlsplit(uri).query)["secret"][0]
        return Account(email=email, password=password, totp_key=key)

    def settle(self, account: Account) -> Account:
        """Replace a new account's one-time password through the API (as a script would),
        so a test can start from an account in everyday use. For a TOTP role the code sent
        enrols the authenticator too."""
        own = account.password + "-own"
        body = {"email": account.email, "password": account.password, "new_password": own}
        body["totp"] = pyotp.TOTP(account.totp_key).now()
        r = httpx.post(f"{self.base_url}/api/v1/auth/token", json=body, timeout=30)
        assert r.status_code == 200, r.text
        account.password = own
        return account


def _haven(server: LiveServer, *args: str, stdin: str = "") -> str:
    done = subprocess.run(
        [str(HAVEN), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=server.env,
        cwd=server.workdir,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"haven {args[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"haven serve exited early:\n{log.read_text()}")
        try:
            if httpx.get(url + "/api/v1/sys/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"haven serve did not answer its health check:\n{log.read_text()}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`haven init`, `haven demo`, then `haven serve` on a free port; stopped by its PID."""
    work = tmp_path_factory.mktemp("live")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    env |= {
        "HAVEN_ENV": "development",
        "HAVEN_DATABASE_URL": f"sqlite:///{work / 'haven.db'}",
        "HAVEN_BLOB_DIR": str(work / "blobs"),
        "HAVEN_KEY_FILE": str(work / "dev-root.key"),
        "HAVEN_SEAL_MODE": "dev",
        "HAVEN_LOG_LEVEL": "WARNING",
    }
    server = LiveServer(base_url=f"http://127.0.0.1:{port}", env=env, workdir=work)
    _haven(server, "init", "--seal-mode", "dev")
    for line in _haven(server, "demo").splitlines():
        if m := DEMO_LINE.match(line):
            # Keyed by the address's local part: "coordinator", "coordinator2", ...
            server.demo[m["email"].split("@")[0]] = Account(m["email"], m["password"], m["key"])
    assert len(server.demo) == 6, "haven demo did not print six sign-ins"
    log = work / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [str(HAVEN), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=work,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(server.base_url, proc, log)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium under Playwright; missing, it skips (locally) or fails (CI=true)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $HAVEN_SCREENSHOTS if set, else a temp folder."""
    wanted = os.environ.get("HAVEN_SCREENSHOTS")
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        return Path(wanted)
    return tmp_path_factory.mktemp("screenshots")


@dataclass
class Tab:
    """One browser context and page on the live server, recording what it asked for."""

    page: Page
    base_url: str
    shots: Path
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def go(self, path: str) -> None:
        """Open a path of the live server."""
        self.page.goto(self.base_url + path)

    def path(self) -> str:
        """The path the page is on now."""
        return urlsplit(self.page.url).path

    def submit(self, selector: str = "button[type=submit]") -> None:
        """Click what posts a form and wait for the page the server answers with. A form
        posted to its own address keeps the URL, so only the navigation tells the answer
        from the page the click left: reading at once races the response under load."""
        with self.page.expect_navigation():
            self.page.click(selector)

    def shot(self, name: str) -> Path:
        """A full-page screenshot into the screenshot folder."""
        target = self.shots / f"{name}.png"
        self.page.screenshot(path=str(target), full_page=True)
        return target

    def foreign_requests(self) -> list[str]:
        """Every request that went anywhere but the server's own origin (data: URIs aside)."""
        own = (self.base_url + "/", "data:")
        return [u for u in self.requests if not u.startswith(own)]

    def csp_violations(self) -> list[str]:
        """Console messages in which the browser reports a Content-Security-Policy refusal."""
        return [m for m in self.console if "Content Security Policy" in m]

    def assert_clean(self) -> None:
        """Nothing left the origin, the CSP refused nothing, and no page had a script error."""
        assert self.requests, "no request was recorded"
        assert not self.foreign_requests(), self.foreign_requests()
        assert not self.csp_violations(), self.csp_violations()


@pytest.fixture
def open_tab(
    chromium: Browser, live_server: LiveServer, shots: Path
) -> Iterator[Callable[..., Tab]]:
    """Make a fresh browser context (no cookies) with JavaScript on or off, a language and a
    window size."""
    contexts: list[BrowserContext] = []

    def make(
        *, javascript: bool = True, locale: str | None = None, width: int = 1024, height: int = 720
    ) -> Tab:
        # locale: the browser's language (its Accept-Language), as a visitor's would be.
        context = chromium.new_context(
            java_script_enabled=javascript,
            viewport={"width": width, "height": height},
            locale=locale,
        )
        contexts.append(context)
        page = context.new_page()
        tab = Tab(page=page, base_url=live_server.base_url, shots=shots)
        context.on("request", lambda r: tab.requests.append(r.url))
        page.on("console", lambda m: tab.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: tab.console.append(f"pageerror: {e}"))
        return tab

    yield make
    for context in contexts:
        context.close()
