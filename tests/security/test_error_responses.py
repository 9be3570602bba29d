"""Errors a client can meet: every status carries the same security headers as a 200
(including answers made by a middleware or by Starlette's outermost handler), messages read
as ours (no pydantic "Value error, "), an overlong upload name is refused by name, and a
cookie call without its CSRF header is told about the header. Invented people only."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import Settings
from app.policy.permissions import Role
from tests.factories import CaseWorld, case_world, make_user

# What every answer must carry, whatever its status (values compared with a 200's).
SAME_AS_OK = (
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "permissions-policy",
    "x-frame-options",
    "cross-origin-opener-policy",
    "cross-origin-resource-policy",
    "strict-transport-security",
    "cache-control",
)


def _assert_like_ok(ok: httpx.Response, r: httpx.Response) -> None:
    for name in SAME_AS_OK:
        assert r.headers.get(name) == ok.headers[name], (r.status_code, name, dict(r.headers))
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    assert r.headers.get("x-request-id")


TOO_BIG = Settings().max_body_bytes + 1
REQUESTS: dict[str, tuple[int, Callable[[TestClient], httpx.Response]]] = {
    "401 api": (401, lambda c: c.get("/api/v1/me")),
    "404 api": (404, lambda c: c.get("/api/v1/nothing-here")),
    "404 page": (404, lambda c: c.get("/nothing-here")),
    "405": (405, lambda c: c.delete("/api/v1/sys/health")),
    "422": (422, lambda c: c.post("/api/v1/requests", json={})),
    "413 api": (413, lambda c: c.post("/api/v1/requests", content=b"x" * TOO_BIG,
                                      headers={"content-type": "application/json"})),
    "413 page": (413, lambda c: c.post("/request", content=b"x" * TOO_BIG,
                                       headers={"content-type": "text/plain"})),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(REQUESTS))
def test_error_statuses_carry_the_security_headers(client: TestClient, case: str) -> None:
    status, send = REQUESTS[case]
    ok = client.get("/api/v1/sys/health")
    r = send(client)
    assert r.status_code == status, r.text
    _assert_like_ok(ok, r)


def test_throttled_and_locked_answers_carry_the_security_headers(
    client: TestClient, db: Session
) -> None:
    ok = client.get("/api/v1/sys/health")
    answers = [client.post("/api/v1/sys/unseal", json={"key": f"guess {i}"}) for i in range(12)]
    assert answers[-1].status_code == 429
    _assert_like_ok(ok, answers[-1])
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    body = {"email": user.email, "password": "wrong-password-x"}
    locked = [client.post("/api/v1/auth/token", json=body) for _ in range(5)][-1]
    assert locked.status_code == 423
    _assert_like_ok(ok, locked)


def test_sealed_answers_carry_the_security_headers(client: TestClient, app: FastAPI) -> None:
    ok = client.get("/api/v1/sys/health")
    app.state.keyring.seal()
    for path in ("/api/v1/me", "/login"):
        r = client.get(path)
        assert r.status_code == 503
        _assert_like_ok(ok, r)


class _Exploding:
    """A middleware that fails on one path, as a bug in any middleware would."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("path") == "/api/v1/explode":
            raise RuntimeError("secret detail from a middleware")
        await self.app(scope, receive, send)


def test_a_crash_inside_a_middleware_carries_the_security_headers(app: FastAPI) -> None:
    app.add_middleware(_Exploding)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        ok = c.get("/api/v1/sys/health")
        r = c.get("/api/v1/explode")
    assert r.status_code == 500
    assert "secret detail" not in r.text
    _assert_like_ok(ok, r)


def test_a_route_crash_carries_the_security_headers(app: FastAPI) -> None:
    @app.get("/api/v1/_probe/crash")
    def crash() -> None:
        raise RuntimeError("secret")

    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        ok = c.get("/api/v1/sys/health")
        r = c.get("/api/v1/_probe/crash")
    assert r.status_code == 500
    _assert_like_ok(ok, r)


def test_validation_messages_are_ours_without_pydantics_prefix(client: TestClient) -> None:
    r = client.post(
        "/api/v1/requests",
        json={"pseudonym": "Лесник", "message": "Нужна помощь.", "citizenship": "ZZ",
              "contacts": [{"channel": "signal", "value": "lesnik_safe.42"}]},
    )  # fmt: skip
    assert r.status_code == 422
    assert "Value error" not in r.text
    assert any(e["field"] == "citizenship" for e in r.json()["errors"])
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = client.post(
        "/login", data={"email": "a\x00b@example.invalid", "password": "x", "csrf_token": token}
    )
    assert r.status_code == 422
    assert "NUL" in r.text
    assert "Value error" not in r.text


@pytest.fixture
def world(db: Session, keyring, clock, settings: Settings) -> CaseWorld:  # type: ignore[no-untyped-def]
    return case_world(db, keyring=keyring, clock=clock, settings=settings)


def test_an_overlong_upload_name_is_refused_by_name(client: TestClient, world: CaseWorld) -> None:
    for name in ("a" * 5000 + ".pdf", "я" * 256 + ".pdf"):
        r = client.post(
            f"/api/v1/cases/{world.case_a.id}/documents",
            files={"file": (name, b"%PDF-1.4 invented", "application/pdf")},
            headers=world.headers["worker"],
        )
        assert r.status_code == 422, r.text
        assert r.json()["errors"] == [
            {"field": "file", "message": "name too long: at most 255 characters"}
        ]
    fine = client.post(
        f"/api/v1/cases/{world.case_a.id}/documents",
        files={"file": ("я" * 251 + ".pdf", b"%PDF-1.4 invented", "application/pdf")},
        headers=world.headers["worker"],
    )
    assert fine.status_code == 201, fine.text


def test_a_cookie_call_without_its_csrf_header_is_told_about_the_header(
    client: TestClient, db: Session
) -> None:
    from tests.security.test_signin_pages import sign_in

    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    sign_in(client, user.email)
    r = client.post("/api/v1/me/password", json={"current_password": "x", "new_password": "y" * 20})
    assert r.status_code == 403
    assert r.json()["code"] == "csrf_failed"
    assert "X-CSRF-Token" in r.json()["detail"]
    assert "form" not in r.json()["detail"]
