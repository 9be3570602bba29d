"""Throttles that hold: the client address is believed from X-Forwarded-For only through a
trusted proxy; every 429 (and a 423 with a known end) says when to come back; an attacker
who knows an e-mail address cannot lock its owner out, and a distributed guess is still
stopped. Invented accounts only."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.crypto.keyring import Keyring
from app.policy.permissions import Role
from app.security import throttle
from app.security.clock import FrozenClock
from app.security.proxies import client_address, client_host, uvicorn_options
from tests.casework import make_staff
from tests.factories import PASSWORD, code_for, make_user

TOKEN = "/api/v1/auth/token"
WRONG = "wrong-password-x"
PROXY = "127.0.0.1"


def _nets(*items: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(i) for i in items)


@pytest.fixture
def at(app: FastAPI) -> Iterator[dict[str, TestClient]]:
    """Clients of the same app seen from different peer addresses (opened on demand)."""
    opened: dict[str, TestClient] = {}

    class Clients(dict[str, TestClient]):
        def __missing__(self, address: str) -> TestClient:
            c = TestClient(
                app, base_url="https://testserver", raise_server_exceptions=False,
                client=(address, 40000),
            )  # fmt: skip
            c.__enter__()
            opened[address] = c
            self[address] = c
            return c

    yield Clients()
    for c in opened.values():
        c.__exit__(None, None, None)


def _token(c: TestClient, email: str, password: str, totp: str | None = None, **headers: str):  # type: ignore[no-untyped-def]
    return c.post(TOKEN, json={"email": email, "password": password, "totp": totp}, headers=headers)


def _seconds(r) -> int:  # type: ignore[no-untyped-def]
    assert "retry-after" in r.headers, (r.status_code, dict(r.headers))
    value = int(r.headers["retry-after"])
    assert value > 0
    return value


# --- which address -------------------------------------------------------------------


def test_forwarded_for_is_ignored_without_trusted_proxies() -> None:
    assert client_host(PROXY, ["198.51.100.7"], ()) == PROXY
    assert client_host("203.0.113.5", ["198.51.100.7"], _nets("127.0.0.1/32")) == "203.0.113.5"


def test_forwarded_for_from_a_trusted_proxy_gives_the_rightmost_untrusted_hop() -> None:
    proxies = _nets("127.0.0.1/32", "10.0.0.0/8")
    # The client wrote the first entry itself; the proxies appended the rest.
    assert client_host(PROXY, ["6.6.6.6, 198.51.100.7, 10.1.2.3"], proxies) == "198.51.100.7"
    assert client_host(PROXY, ["6.6.6.6", "198.51.100.7"], proxies) == "198.51.100.7"
    assert client_host(PROXY, ["[2001:db8::7]:443"], proxies) == "2001:db8::7"
    # An address with its port, a bare IPv6 address, and one half-bracketed (no proxy
    # writes that: the last proxy is the best we know).
    assert client_host(PROXY, ["198.51.100.7:443"], proxies) == "198.51.100.7"
    assert client_host(PROXY, ["2001:db8::7"], proxies) == "2001:db8::7"
    assert client_host(PROXY, ["2001:db8::7]"], proxies) == PROXY
    # Text no proxy would append: the last proxy is the best we know.
    assert client_host(PROXY, ["198.51.100.7, not-an-address"], proxies) == PROXY
    assert client_host(PROXY, [], proxies) == PROXY


def test_a_request_without_a_peer_address_is_unknown(settings: Settings) -> None:
    """A server may hand over a request with no client address (a Unix socket): that is
    "unknown", one address for the throttles, never a crash."""
    app = SimpleNamespace(state=SimpleNamespace(settings=settings))
    scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "app": app}
    assert client_address(Request({**scope, "client": None})) == "unknown"
    assert client_address(Request({**scope, "client": ("192.0.2.9", 5000)})) == "192.0.2.9"


def test_haven_serve_lets_uvicorn_believe_no_proxy_unless_named(settings: Settings) -> None:
    assert uvicorn_options(settings) == (False, [])
    settings.trusted_proxies = _nets("10.0.0.0/8")
    assert uvicorn_options(settings) == (True, ["10.0.0.0/8"])


def test_spoofed_forwarded_for_does_not_escape_the_address_throttle(
    at: dict[str, TestClient], db: Session
) -> None:
    """From 127.0.0.1 (where a local proxy or Tor connects from) a new X-Forwarded-For on
    every attempt still counts as one address."""
    statuses = [
        _token(at[PROXY], f"spray-{i}@example.invalid", WRONG, **{
            "X-Forwarded-For": f"198.51.100.{i}"}).status_code
        for i in range(throttle.ADDRESS_MAX_FAILURES + 1)
    ]  # fmt: skip
    assert statuses[-1] == 429


def test_forwarded_for_from_a_trusted_proxy_is_honoured(
    at: dict[str, TestClient], db: Session, settings: Settings
) -> None:
    settings.trusted_proxies = _nets("127.0.0.1/32")
    statuses = [
        _token(at[PROXY], f"spray-{i}@example.invalid", WRONG, **{
            "X-Forwarded-For": f"198.51.100.{i}"}).status_code
        for i in range(throttle.ADDRESS_MAX_FAILURES + 1)
    ]  # fmt: skip
    assert set(statuses) == {401}
    # A client that forges a hop left of the one the proxy appended is still one address.
    forged = [
        _token(at[PROXY], f"forge-{i}@example.invalid", WRONG, **{
            "X-Forwarded-For": f"192.0.2.{i}, 203.0.113.77"}).status_code
        for i in range(throttle.ADDRESS_MAX_FAILURES + 1)
    ]  # fmt: skip
    assert forged[-1] == 429


# --- Retry-After ---------------------------------------------------------------------


def test_sign_in_throttles_say_when_to_retry(
    at: dict[str, TestClient], db: Session, clock: FrozenClock
) -> None:
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    answers = [
        _token(at["192.0.2.1"], user.email, WRONG) for _ in range(throttle.PAIR_MAX_FAILURES)
    ]
    assert answers[-1].status_code == 423
    assert _seconds(answers[-1]) == 15 * 60
    clock.advance(timedelta(minutes=5))
    again = _token(at["192.0.2.1"], user.email, PASSWORD)
    assert again.status_code == 423
    assert _seconds(again) == 10 * 60
    spray = [
        _token(at["192.0.2.2"], f"spray-{i}@example.invalid", WRONG)
        for i in range(throttle.ADDRESS_MAX_FAILURES + 1)
    ]
    assert spray[-1].status_code == 429
    assert _seconds(spray[-1]) == 15 * 60


def test_sign_in_page_lockout_says_when_to_retry(client: TestClient, db: Session) -> None:
    from tests.security.test_signin_pages import sign_in

    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    answers = [sign_in(client, user.email, WRONG) for _ in range(throttle.PAIR_MAX_FAILURES)]
    assert answers[-1].status_code == 423
    assert _seconds(answers[-1]) == 15 * 60


def test_public_request_throttle_says_when_to_retry(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    from tests.intake.test_requests import REQUEST, _fields, _form

    staff = make_staff(db, clock=clock, settings=settings)
    settings.intake_team = staff.team.name
    settings.request_limit_per_address = 1
    assert client.post("/api/v1/requests", json=REQUEST).status_code == 202
    clock.advance(timedelta(minutes=10))
    r = client.post("/api/v1/requests", json=REQUEST)
    assert r.status_code == 429
    assert _seconds(r) == (settings.request_window_minutes - 10) * 60
    _html, token = _form(client)
    page = client.post("/request", data=_fields(token))
    assert page.status_code == 429
    assert _seconds(page) == (settings.request_window_minutes - 10) * 60


def test_duplicate_check_throttle_says_when_to_retry(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    from app.cases import duplicates

    staff = make_staff(db, clock=clock, settings=settings)
    for i in range(duplicates.CHECKS_PER_WINDOW):
        r = client.post(
            "/api/v1/cases/duplicates",
            json={"phone": f"+7 921 555 {i:02d} 00"},
            headers=staff.h("caseworker"),
        )
        assert r.status_code == 200, r.text
    r = client.post(
        "/api/v1/cases/duplicates",
        json={"phone": "+7 921 555 99 00"},
        headers=staff.h("caseworker"),
    )
    assert r.status_code == 429
    assert 0 < _seconds(r) <= 3600


def test_unseal_throttle_says_when_to_retry(client: TestClient, keyring: Keyring) -> None:
    answers = [
        client.post("/api/v1/sys/unseal", json={"key": f"guess number {i}"}) for i in range(12)
    ]
    refused = [r for r in answers if r.status_code == 429]
    assert refused
    assert all(0 < _seconds(r) <= 60 for r in refused)


# --- an attacker who knows an e-mail address ------------------------------------------


def test_the_owner_signs_in_from_elsewhere_while_an_attacker_hammers_the_account(
    at: dict[str, TestClient], db: Session, clock: FrozenClock
) -> None:
    user = make_user(db, Role.CASEWORKER)
    attacker = at["203.0.113.66"]
    answers = [_token(attacker, user.email, f"guess-{i}").status_code for i in range(40)]
    assert answers[throttle.PAIR_MAX_FAILURES - 1 :] == [423] * (41 - throttle.PAIR_MAX_FAILURES)
    # The owner, at another address, never signed in from it before.
    r = _token(at["198.51.100.20"], user.email, PASSWORD, code_for(user, clock))
    assert r.status_code == 200, r.text
    # The attacker keeps hammering for hours: every quarter of an hour it gets five more
    # guesses, and the owner is never held.
    for hour in range(1, 9):
        clock.advance(timedelta(minutes=16))
        for i in range(10):
            _token(attacker, user.email, f"guess-{hour}-{i}")
        r = _token(at["198.51.100.20"], user.email, PASSWORD, code_for(user, clock))
        assert r.status_code == 200, (hour, r.text)


def _distributed(at: dict[str, TestClient], email: str, first: int, count: int) -> list[int]:
    return [
        _token(at[f"203.0.113.{n}"], email, f"guess-{n}").status_code
        for n in range(first, first + count)
    ]


def test_a_distributed_guess_is_stopped_but_the_owner_at_home_is_not(
    at: dict[str, TestClient], db: Session, clock: FrozenClock
) -> None:
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    home = at["198.51.100.20"]
    assert _token(home, user.email, PASSWORD).status_code == 200  # a familiar address
    clock.advance(timedelta(hours=1))
    # One guess from each of many addresses: no address ever reaches its own limit.
    answers = _distributed(at, user.email, 1, throttle.ACCOUNT_MAX_FAILURES)
    assert answers == [401] * (throttle.ACCOUNT_MAX_FAILURES - 1) + [423]
    # Now a guess from any new address is refused before the password is looked at, even
    # the right password: the guessing has stopped.
    later = _token(at["203.0.113.200"], user.email, PASSWORD)
    assert later.status_code == 423
    assert _seconds(later) == 15 * 60
    # The owner at the familiar address still gets in.
    assert _token(home, user.email, PASSWORD).status_code == 200
    # Holds in a row grow: the next round holds strangers twice as long.
    clock.advance(timedelta(minutes=15))
    answers = _distributed(at, user.email, 100, throttle.ACCOUNT_MAX_FAILURES)
    assert answers[-1] == 423
    assert _seconds(_token(at["203.0.113.201"], user.email, PASSWORD)) == 30 * 60
    assert _token(home, user.email, PASSWORD).status_code == 200


def test_an_unknown_account_is_held_exactly_like_a_real_one(
    at: dict[str, TestClient], db: Session
) -> None:
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    seen = []
    for email in (user.email, "nobody-here@example.invalid"):
        answers = _distributed(at, email, 1, throttle.ACCOUNT_MAX_FAILURES + 1)
        bodies = {r.text for r in [_token(at["203.0.113.250"], email, WRONG)]}
        seen.append((answers, bodies))
    assert seen[0] == seen[1]


def test_an_admin_unlock_lifts_the_distributed_hold(
    at: dict[str, TestClient], db: Session, clock: FrozenClock
) -> None:
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    _distributed(at, user.email, 1, throttle.ACCOUNT_MAX_FAILURES)
    assert _token(at["198.51.100.30"], user.email, PASSWORD).status_code == 423
    assert throttle.unlock(db, email=user.email) is True
    assert _token(at["198.51.100.30"], user.email, PASSWORD).status_code == 200
