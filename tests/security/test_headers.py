"""Security headers on every response: API, pages, errors."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.datastructures import MutableHeaders

from app.security.headers import CSP, _retry_after


@pytest.mark.parametrize(
    "path", ["/api/v1/sys/health", "/login", "/api/v1/nothing", "/nothing", "/api/v1/me", "/"]
)
def test_headers_on_every_response(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.headers["content-security-policy"] == CSP
    assert "'unsafe-inline'" not in CSP
    assert "frame-ancestors 'none'" in CSP
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "camera=()" in r.headers["permissions-policy"]
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["pragma"] == "no-cache"  # old proxies and browsers too
    assert r.headers["strict-transport-security"].startswith("max-age=")


def test_static_files_alone_may_be_cached_and_keep_the_other_headers(client: TestClient) -> None:
    """The stylesheet holds nothing of anyone's: a browser may keep it. Every other
    header still comes with it."""
    r = client.get("/static/haven.css")
    assert r.status_code == 200
    assert "no-store" not in r.headers.get("cache-control", "")
    assert "pragma" not in r.headers
    assert r.headers["content-security-policy"] == CSP
    assert r.headers["x-content-type-options"] == "nosniff"


def test_no_hsts_over_plain_http(app: FastAPI) -> None:
    with TestClient(app, base_url="http://testserver") as plain:
        r = plain.get("/api/v1/sys/health")
    assert "strict-transport-security" not in r.headers
    assert r.headers["cache-control"] == "no-store"


def test_pages_carry_no_inline_script_or_style(client: TestClient) -> None:
    html = client.get("/login").text
    assert "<script" not in html
    assert "<style" not in html
    assert " style=" not in html


@pytest.mark.parametrize(
    ("status", "given", "notes", "expected"),
    [
        (423, {}, [30], "30"),  # a lock: the wait its refusal noted
        (429, {}, [12, 5], "5"),  # the last note
        (429, {}, [], "60"),  # a throttle that noted nothing: the default wait
        (423, {}, [], None),  # a lock without a noted end says nothing it does not know
        (429, {"retry-after": "7"}, [5], "7"),  # an answer's own header stands
        (200, {}, [5], None),  # only refusals say when to retry
        (403, {}, [], None),
    ],
)
def test_retry_after_only_on_refusals_and_from_what_was_noted(
    status: int, given: dict[str, str], notes: list[int], expected: str | None
) -> None:
    headers = MutableHeaders(headers=given)
    _retry_after(status, headers, notes)
    assert headers.get("retry-after") == expected
