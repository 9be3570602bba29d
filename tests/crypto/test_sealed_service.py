"""A sealed service serves nothing but health, seal status and unseal; unsealing over HTTP."""

from __future__ import annotations

import json
import secrets

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.config import SealMode
from app.crypto.gate import SealedGateMiddleware
from app.crypto.keyring import Keyring
from app.crypto.keystore import initialise_keyring
from app.policy.deps import PUBLIC
from tests.aio import run
from tests.crypto.conftest import CHEAP_ARGON2

OPEN = {"/api/v1/sys/health", "/api/v1/sys/seal-status"}


@pytest.fixture
def probe_app(app: FastAPI) -> FastAPI:
    """The real app plus a route that would leak if the gate let it run."""

    @app.get("/api/v1/_probe/secret", dependencies=PUBLIC)
    def secret() -> dict[str, str]:
        return {"leak": "yes"}

    @app.post("/api/v1/_probe/secret", dependencies=PUBLIC)
    def secret_post() -> dict[str, str]:
        return {"leak": "yes"}

    @app.get("/_probe/page", dependencies=PUBLIC)
    def page() -> dict[str, str]:
        return {"leak": "yes"}

    return app


def _init(db: Session, keyring: Keyring, mode: SealMode, **kwargs: object) -> list[str]:
    keyring.seal()
    result = initialise_keyring(
        db,
        keyring=keyring,
        mode=mode,
        root=secrets.token_bytes(32),
        **kwargs,  # type: ignore[arg-type]
    )
    db.flush()
    keyring.seal()
    return result.shares


def test_sealed_service_refuses_every_route_but_three(
    probe_app: FastAPI, client: TestClient
) -> None:
    probe_app.state.keyring.seal()
    paths = {getattr(r, "path", "") for r in probe_app.routes} | {"/", "/nothing", "/api/v1/x"}
    for path in sorted(paths - OPEN - {"/api/v1/sys/unseal"}):
        for method in ("GET", "POST", "DELETE"):
            r = client.request(method, path)
            assert r.status_code == 503, (method, path)
            assert "leak" not in r.text
            if path.startswith("/api/"):
                assert r.json() == {
                    "detail": "The service is sealed; it must be unsealed first.",
                    "code": "sealed",
                }
            assert r.headers["cache-control"] == "no-store"
            assert r.headers["retry-after"] == "60"  # the gate's own: a page and JSON alike
            kind = "application/json" if path.startswith("/api/") else "text/html; charset=utf-8"
            assert r.headers["content-type"] == kind, path
            assert "x-request-id" in r.headers
    for path in OPEN:
        assert client.get(path).status_code == 200


def test_unsealed_service_serves_routes(probe_app: FastAPI, client: TestClient) -> None:
    assert client.get("/api/v1/_probe/secret").json() == {"leak": "yes"}


def test_shamir_unseal_over_http(app: FastAPI, client: TestClient, db: Session) -> None:
    shares = _init(db, app.state.keyring, SealMode.SHAMIR, shares=3, threshold=2)
    status = client.get("/api/v1/sys/seal-status").json()
    assert status == {
        "sealed": True, "initialised": True, "mode": "shamir",
        "progress": 0, "threshold": 2, "shares": 3,
    }  # fmt: skip
    assert client.get("/api/v1/_probe/nothing").status_code == 503
    r = client.post("/api/v1/sys/unseal", json={"key": shares[2]})
    assert r.json() == {"sealed": True, "progress": 1, "threshold": 2}
    r = client.post("/api/v1/sys/unseal", json={"key": "zebra " * 20})
    assert r.status_code == 400
    assert r.json()["code"] == "unseal_rejected"
    r = client.post("/api/v1/sys/unseal", json={"key": shares[0]})
    assert r.json() == {"sealed": False, "progress": 0, "threshold": 2}
    assert client.get("/api/v1/sys/health").json()["sealed"] is False
    actions = db.scalars(select(AuditEntry.action)).all()
    assert "sys.unsealed" in actions
    assert "sys.unseal_failed" in actions


def test_wrong_passphrase_over_http_is_400_and_audited(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    _init(db, app.state.keyring, SealMode.PASSPHRASE, passphrase_text="a long passphrase here",
          argon2=CHEAP_ARGON2)  # fmt: skip
    r = client.post("/api/v1/sys/unseal", json={"key": "a long passphrase herE"})
    assert r.status_code == 400
    assert r.json()["detail"] == "The passphrase is wrong."
    assert "herE" not in r.text
    r = client.post("/api/v1/sys/unseal", json={"key": "a long passphrase here"})
    assert r.json()["sealed"] is False


def test_unseal_attempts_are_throttled(app: FastAPI, client: TestClient, db: Session) -> None:
    _init(db, app.state.keyring, SealMode.PASSPHRASE, passphrase_text="a long passphrase here",
          argon2=CHEAP_ARGON2)  # fmt: skip
    codes = [
        client.post("/api/v1/sys/unseal", json={"key": f"guess number {i}"}).status_code
        for i in range(12)
    ]
    assert codes[:10] == [400] * 10
    assert codes[10:] == [429, 429]


def test_seal_status_before_init(client: TestClient, app: FastAPI) -> None:
    app.state.keyring.seal()
    body = client.get("/api/v1/sys/seal-status").json()
    assert body["initialised"] is False
    r = client.post("/api/v1/sys/unseal", json={"key": "x"})
    assert r.status_code == 409
    assert r.json()["code"] == "not_initialised"


def test_how_a_sealed_service_answers_depends_on_what_the_client_reads(
    probe_app: FastAPI, client: TestClient
) -> None:
    """A page for a browser (one naming HTML among what it accepts, or sending no Accept at
    all), JSON for a client that asks for JSON only; open paths stay open written with a
    trailing slash; the public form keeps its own words at /request/ too."""
    probe_app.state.keyring.seal()
    del client.headers["accept"]
    bare = client.get("/_probe/page")
    assert (bare.status_code, bare.headers["content-type"]) == (503, "text/html; charset=utf-8")
    for accept, kind in (
        ("text/html,application/json;q=0.9", "text/html; charset=utf-8"),
        ("application/json, text/plain", "application/json"),
    ):
        r = client.get("/_probe/page", headers={"accept": accept})
        assert (r.status_code, r.headers["content-type"]) == (503, kind), accept
    assert client.get("/api/v1/sys/health/").status_code != 503
    form = client.get("/request/")
    assert form.status_code == 503
    assert "Requests cannot be received right now." in form.text


def _through_the_gate(scope: dict[str, object]) -> list[dict[str, object]]:
    """What the sealed gate itself sends for one request (no server, no client between:
    the test client forgives a wrong Content-Length, a browser or proxy does not)."""
    sent: list[dict[str, object]] = []
    keyring = Keyring()  # never unsealed

    async def never(_scope: object, _receive: object, _send: object) -> None:
        raise AssertionError("a sealed gate let the request through")

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    gate = SealedGateMiddleware(never, keyring=keyring)
    run(gate({"type": "http", "method": "GET", "headers": [], **scope}, receive, send))  # type: ignore[arg-type]
    return sent


@pytest.mark.parametrize(
    "scope",
    [
        {"path": "/api/v1/cases"},
        {"path": "/board", "app": object()},  # no templates to be had: JSON, not a crash
        {"path": "/board", "headers": [(b"accept", b"application/json")]},
    ],
    ids=["api", "app without templates", "asks for json"],
)
def test_the_gates_json_answer_is_whole_and_says_how_long_it_is(scope: dict[str, object]) -> None:
    start, body = _through_the_gate(scope)
    payload = json.dumps(
        {"detail": "The service is sealed; it must be unsealed first.", "code": "sealed"}
    ).encode()
    assert start == {
        "type": "http.response.start",
        "status": 503,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            (b"cache-control", b"no-store"),
            (b"retry-after", b"60"),
        ],
    }
    assert body == {"type": "http.response.body", "body": payload}
