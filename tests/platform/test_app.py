"""The app factory: health, JSON and HTML errors, request ids, and logs without secrets."""

import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from app.errors import InvalidInput
from app.logs import scrub


class _Body(BaseModel):
    name: str
    age: int


@pytest.fixture
def probe_app(app: FastAPI) -> FastAPI:
    """The real app plus routes that fail in each way a handler can."""

    @app.get("/api/v1/_probe/crash")
    def crash() -> None:
        raise RuntimeError("secret /srv/haven/app/x.py SELECT * FROM cases")

    @app.post("/api/v1/_probe/echo")
    def echo(body: _Body) -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/api/v1/_probe/invalid")
    def invalid() -> None:
        raise InvalidInput("date_of_birth", "must be a real date")

    @app.get("/_probe/page-crash")
    def page_crash() -> None:
        raise RuntimeError("page secret")

    return app


@pytest.fixture
def probe(probe_app: FastAPI) -> TestClient:
    return TestClient(probe_app, base_url="https://testserver", raise_server_exceptions=False)


def test_health_reports_ok_and_seal_state(client: TestClient, app: FastAPI) -> None:
    r = client.get("/api/v1/sys/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "sealed": False, "database": "ok"}
    app.state.keyring.seal()
    sealed = client.get("/api/v1/sys/health").json()
    assert sealed == {"status": "ok", "sealed": True, "database": "ok"}


def test_every_response_has_a_request_id(client: TestClient) -> None:
    first = client.get("/api/v1/sys/health").headers["x-request-id"]
    second = client.get("/api/v1/nothing-here").headers["x-request-id"]
    assert len(first) == 16
    assert first != second


def test_client_supplied_request_id_is_ignored(client: TestClient) -> None:
    r = client.get("/api/v1/sys/health", headers={"X-Request-Id": "Ivan Petrov"})
    assert r.headers["x-request-id"] != "Ivan Petrov"


def test_unknown_api_path_is_json_404(client: TestClient) -> None:
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.json() == {"detail": "Not Found", "code": "not_found"}


def test_unknown_page_is_html_404(client: TestClient) -> None:
    r = client.get("/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>404</h1>" in r.text


def test_crash_gives_no_traceback_sql_or_path(
    probe: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        r = probe.get("/api/v1/_probe/crash")
    assert r.status_code == 500
    assert r.json()["code"] == "internal"
    for leak in ("Traceback", "SELECT", "/srv/haven", "secret", "RuntimeError"):
        assert leak not in r.text
    assert "x-request-id" in r.headers
    assert any("unhandled error" in rec.getMessage() for rec in caplog.records)


def test_page_crash_is_an_html_page_without_details(probe: TestClient) -> None:
    r = probe.get("/_probe/page-crash")
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("text/html")
    assert "page secret" not in r.text


def test_validation_error_names_the_field_but_not_the_value(probe: TestClient) -> None:
    r = probe.post("/api/v1/_probe/echo", json={"name": "Ivan Petrov", "age": "forty"})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "invalid"
    assert body["errors"][0]["field"] == "age"
    assert "forty" not in r.text
    assert "Ivan" not in r.text


def test_haven_error_carries_field_and_code(probe: TestClient) -> None:
    r = probe.get("/api/v1/_probe/invalid")
    assert r.status_code == 422
    assert r.json() == {
        "detail": "date_of_birth: must be a real date",
        "code": "invalid",
        "errors": [{"field": "date_of_birth", "message": "must be a real date"}],
    }


def test_access_log_holds_route_and_status_but_no_body_or_query(
    probe: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="haven.access"):
        probe.post(
            "/api/v1/_probe/echo?phone=%2B79161234567",
            json={"name": "Canary Bodyname", "age": 3},
            headers={"Authorization": "Bearer tok-canary-123", "Cookie": "a=b"},
        )
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "haven.access"]
    assert lines, "no access line was written"
    joined = "\n".join(lines)
    assert "POST /api/v1/_probe/echo 200" in joined
    for leak in ("Canary", "79161234567", "tok-canary", "a=b"):
        assert leak not in joined


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("login failed password=hunter2hunter2", "hunter2hunter2"),
        ("header Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
        ("cookie __Host-haven_session=deadbeef", "deadbeef"),
        ('token="tkn-123"', "tkn-123"),
    ],
)
def test_scrub_masks_credentials(line: str, secret: str) -> None:
    assert secret not in scrub(line)


def test_chunked_body_past_the_limit_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"x" * 65536  # 2.5 MiB in all, no Content-Length

    r = client.post(
        "/api/v1/auth/token", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["code"] == "too_large"


def test_oversized_anonymous_body_with_a_length_is_413(client: TestClient) -> None:
    """A 32 MiB JSON body from nobody is refused by its size, before it is read into memory
    and parsed."""
    body = b'{"email": "a@example.invalid", "password": "' + b"p" * (32 * 1024 * 1024) + b'"}'
    r = client.post(
        "/api/v1/auth/token", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413, r.status_code


def test_small_bodies_pass_the_limit(client: TestClient) -> None:
    r = client.post("/api/v1/auth/token", json={"email": "a@example.invalid"})
    assert r.status_code == 422
