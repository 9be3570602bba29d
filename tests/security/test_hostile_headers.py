"""Header and Host attacks, and open redirects through `next=`: a forged Host or forwarding
header is never reflected into a link, a redirect or a page; no `next=` (or resume cookie)
sends a browser to another site, however the address is disguised; hostile headers (huge,
duplicated, undecodable, a method override) get a refusal, never a 5xx."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from app.web import safe_return_path

EVIL = "evil.example"

# Ways to write "another site" that a careless check lets through as a local path.
OFFSITE = [
    f"//{EVIL}",
    f"///{EVIL}",
    f"/\\{EVIL}",
    f"\\\\{EVIL}",
    f"https://{EVIL}/",
    f"http:{EVIL}",
    f"HTTPS://{EVIL}",
    f"/\t/{EVIL}",
    f"/\n/{EVIL}",
    f"/\r\n/{EVIL}",
    f" //{EVIL}",
    f"\x00//{EVIL}",
    f"//{EVIL}%2F..",
    f"/%09/{EVIL}",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    f"//{EVIL}@127.0.0.1/",
    f"/{'x' * 3000}",
    f"https:/\\{EVIL}",
    f"\u3002{EVIL}",
    f"/\u2215\u2215{EVIL}",
]


def _stays_here(location: str) -> bool:
    """A redirect target the browser resolves on this site: a path, no host, no scheme. (A
    look-alike slash such as U+2215 is no slash to a browser: it stays in the path.)"""
    parts = urlsplit(location)
    return (
        location.startswith("/")
        and not location.startswith(("//", "/\\"))
        and not parts.scheme
        and not parts.netloc
        and not any(ord(c) < 32 for c in location)
    )


@pytest.mark.parametrize("target", OFFSITE)
def test_safe_return_path_keeps_every_disguise_on_this_site(target: str) -> None:
    assert _stays_here(safe_return_path(target)), repr(target)


@pytest.mark.parametrize("target", OFFSITE)
def test_language_switch_never_redirects_off_site(client: TestClient, target: str) -> None:
    r = client.get("/language/uk", params={"next": target}, follow_redirects=False)
    assert r.status_code in (303, 422), r.text
    if r.status_code == 303:
        assert _stays_here(r.headers["location"]), r.headers["location"]


def test_the_sign_in_resume_cookie_never_leads_off_site(client: TestClient) -> None:
    from app.web import RESUME_COOKIE

    for target in OFFSITE[:8]:
        client.cookies.set(RESUME_COOKIE, target)
        client.cookies.set("__Host-" + RESUME_COOKIE, target)
        r = client.get("/login", follow_redirects=False)
        assert r.status_code < 500
        assert EVIL not in r.headers.get("location", "")
        assert EVIL not in r.text
    client.cookies.clear()


HOST_HEADERS = [
    {"host": EVIL},
    {"host": f"{EVIL}:443"},
    {"host": "127.0.0.1\r\nX-Injected: 1"},
    {"x-forwarded-host": EVIL},
    {"x-forwarded-proto": "https", "x-forwarded-host": EVIL},
    {"forwarded": f"host={EVIL};proto=https"},
    {"x-original-url": f"//{EVIL}/"},
    {"x-rewrite-url": f"//{EVIL}/"},
    {"x-forwarded-prefix": f"//{EVIL}"},
]
# Pages and answers that build a redirect, a link or an address.
PATHS = ["/", "/login", "/request", "/cases", "/language/ru?next=/login", "/api/v1/sys/health"]


@pytest.mark.parametrize("headers", HOST_HEADERS, ids=",".join)
@pytest.mark.parametrize("path", PATHS)
def test_a_forged_host_is_never_reflected(
    client: TestClient, headers: dict[str, str], path: str
) -> None:
    r = client.get(path, headers=headers, follow_redirects=False)
    assert r.status_code < 500, r.text
    assert EVIL not in r.headers.get("location", "")
    assert EVIL not in r.text
    assert "x-injected" not in {k.lower() for k in r.headers}


def test_a_method_override_header_changes_nothing(client: TestClient) -> None:
    for name in ("x-http-method-override", "x-http-method", "x-method-override"):
        r = client.get("/api/v1/sys/health", headers={name: "DELETE"})
        assert r.status_code == 200
        r = client.post("/api/v1/cases", headers={name: "GET"}, json={})
        assert r.status_code == 401  # a POST that needs a sign-in, not a GET


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({"authorization": "Bearer " + "A" * 20_000}, {401}),
        ({"authorization": "Basic " + "x" * 100}, {401}),
        ({"authorization": "Bearer hvn_\u00ff\u00fe"}, {401}),
        ({"authorization": "bearer"}, {401}),
        ({"cookie": "haven_session=" + "x" * 8_000}, {401}),
        ({"cookie": "haven_session=\u00ff; __Host-haven_session=;;;="}, {401}),
        ({"accept-language": "x" * 10_000}, {401}),
        ({"accept-language": "*;q=NaN, ru;q=1e999, ,,;q=-1"}, {401}),
        ({"content-type": "application/json; charset=utf-32"}, {401}),
        ({"x-request-id": "<script>alert(1)</script>"}, {401}),
        ({"x-csrf-token": "\u00ff" * 100}, {401}),
    ],
    ids=lambda v: next(iter(v)) if isinstance(v, dict) else "",
)
def test_hostile_headers_get_a_refusal_not_a_5xx(
    client: TestClient, headers: dict[str, str], refused: set[int]
) -> None:
    # As bytes: a header may carry any octet (Latin-1 as HTTP reads it), not only ASCII.
    raw = {k: v.encode("latin-1") for k, v in headers.items()}
    r = client.get("/api/v1/cases", headers=raw)
    assert r.status_code in refused, (r.status_code, r.text[:200])
    assert "<script>" not in r.text
    assert "<script>" not in r.headers.get("x-request-id", "")


def test_duplicated_authorization_headers_are_refused(client: TestClient) -> None:
    r = client.get(
        "/api/v1/cases",
        headers=[("authorization", "Bearer hvn_one"), ("authorization", "Bearer hvn_two")],
    )
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PATCH", "/api/v1/cases/duplicates", "POST"),
        ("PATCH", "/api/v1/cases/search", "POST"),
        ("OPTIONS", "/api/v1/cases", "GET, POST"),
        ("TRACE", "/api/v1/cases/00000000-0000-4000-8000-000000000000", "DELETE, GET, PATCH"),
        ("PUT", "/api/v1/users", "GET, POST"),
    ],
)
def test_a_method_a_path_lacks_answers_405_naming_every_method_it_has(
    client: TestClient, method: str, path: str, allowed: str
) -> None:
    r = client.request(method, path)
    assert r.status_code == 405, r.text
    assert r.headers["allow"] == allowed
