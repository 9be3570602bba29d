"""Hostile input on every route is a 422 naming the field, never a 500: times without a
zone or outside UTC, numbers past their column, search terms with nothing to index, NUL in
text bound for a plain column (PostgreSQL refuses it), an overlong multipart boundary, and a
property over search bodies. Run on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from app.config import Settings
from app.crypto.keyring import Keyring
from app.referrals.packet import encode_public_key
from app.security.clock import FrozenClock
from tests.factories import CaseWorld, case_world, make_task

NO_ZONE = "2026-01-01T00:00:00"
BEFORE_YEAR_1_IN_UTC = "0001-01-01T00:00:00+01:00"
AFTER_9999_IN_UTC = "9999-12-31T23:59:59-01:00"
BAD_TIMES = [NO_ZONE, BEFORE_YEAR_1_IN_UTC, AFTER_9999_IN_UTC, "0001-01-01"]
OUT_OF_UTC = [BEFORE_YEAR_1_IN_UTC, AFTER_9999_IN_UTC]


@pytest.fixture
def world(db: Session, keyring: Keyring, clock: FrozenClock, settings: Settings) -> CaseWorld:
    made = case_world(db, keyring=keyring, clock=clock, settings=settings)
    db.commit()
    return made


def assert_invalid(response: httpx.Response, field: str) -> None:
    """422 in the API's error shape, naming `field`."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid"
    assert field in [e["field"] for e in body["errors"]], body


# --- times that cannot be stored or compared as UTC --------------------------------------


@pytest.mark.parametrize("value", BAD_TIMES)
@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/v1/audit", "since"),
        ("/api/v1/audit", "until"),
        ("/api/v1/audit/export.csv", "since"),
        ("/api/v1/audit/export.csv", "until"),
        ("/api/v1/audit/alerts", "since"),
    ],
)
def test_audit_time_filter_without_zone_or_outside_utc_is_422(
    client: TestClient, world: CaseWorld, path: str, param: str, value: str
) -> None:
    r = client.get(path, params={param: value}, headers=world.headers["auditor"])
    assert_invalid(r, param)


@pytest.mark.parametrize("value", OUT_OF_UTC)
def test_movement_destroy_after_outside_utc_is_422(
    client: TestClient, world: CaseWorld, value: str
) -> None:
    body = {"movement": {"plan": "Synthetic route", "destroy_after": value}}
    r = client.post("/api/v1/cases", json=body, headers=world.headers["coord"])
    assert_invalid(r, "movement.destroy_after")


@pytest.mark.parametrize("value", OUT_OF_UTC)
def test_task_due_outside_utc_is_422(
    client: TestClient, db: Session, keyring: Keyring, world: CaseWorld, value: str
) -> None:
    volunteer = world.users["volunteer"]
    body = {
        "case_id": str(world.case_a.id),
        "assigned_to": str(volunteer.id),
        "title": "Bring the parcel",
        "instructions": "At the usual place",
        "due": value,
    }
    r = client.post("/api/v1/tasks", json=body, headers=world.headers["coord"])
    assert_invalid(r, "due")
    task = make_task(db, keyring=keyring, case=world.case_a, volunteer=volunteer)
    db.commit()
    r = client.patch(
        f"/api/v1/tasks/{task.id}", json={"due": value}, headers=world.headers["coord"]
    )
    assert_invalid(r, "due")


# --- numbers past the column --------------------------------------------------------------


@pytest.mark.parametrize("version", [2**31, 2**63, 10**30])
def test_case_version_past_the_integer_column_is_422(
    client: TestClient, world: CaseWorld, version: int
) -> None:
    r = client.patch(
        f"/api/v1/cases/{world.case_a.id}",
        json={"version": version, "unit": "Synthetic unit"},
        headers=world.headers["coord"],
    )
    assert_invalid(r, "version")


# --- search terms with nothing to index -------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "-----"),
        ("phone", "(((((("),
        ("phone", "\u0661\u0662\u0663\u0664\u0665\u0666"),  # Arabic-Indic digits
        ("handle", "@@@"),
        ("handle", "t.me/"),
        ("handle", "\u200b\u200b\u200b"),  # zero-width spaces only
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/cases/search", "/api/v1/cases/duplicates"])
def test_phone_or_handle_with_nothing_to_index_is_422(
    client: TestClient, world: CaseWorld, path: str, field: str, value: str
) -> None:
    r = client.post(path, json={field: value}, headers=world.headers["coord"])
    assert_invalid(r, field)


@pytest.mark.parametrize("value", ["-" * 36, "0" * 36, "0" * 8 + "-" * 28])
def test_assigned_to_that_is_no_user_id_is_422(
    client: TestClient, world: CaseWorld, value: str
) -> None:
    headers = world.headers["coord"]
    assert_invalid(client.get("/api/v1/cases", params={"assigned_to": value}, headers=headers),
                   "assigned_to")  # fmt: skip
    r = client.post("/api/v1/cases/search", json={"assigned_to": value}, headers=headers)
    assert_invalid(r, "assigned_to")


# --- NUL in text that reaches a plain column (PostgreSQL refuses it) ---------------------


def _partner(name: str) -> dict[str, Any]:
    key = encode_public_key(X25519PrivateKey.generate().public_key())
    return {"name": name, "services": ["legal"], "countries": ["DE"], "public_key": key}


@pytest.mark.parametrize(
    ("who", "path", "body", "field"),
    [
        ("", "/api/v1/auth/token", {"email": "a\x00@example.org", "password": "x"}, "email"),
        ("admin", "/api/v1/users", {"email": "n\x00@example.org", "role": "auditor"}, "email"),
        (
            "admin",
            "/api/v1/users",
            {"email": "nul-team@example.org", "role": "caseworker", "teams": ["T\x00"]},
            "teams.0",
        ),
        ("admin", "/api/v1/teams", {"name": "Team\x00"}, "name"),
        ("coord", "/api/v1/partners", _partner("Synthetic\x00Aid"), "name"),
        ("coord", "/api/v1/cases/search", {"code": "HV\x00"}, "code"),
    ],
)
def test_nul_in_plain_text_body_is_422(
    client: TestClient, world: CaseWorld, who: str, path: str, body: dict[str, Any], field: str
) -> None:
    r = client.post(path, json=body, headers=world.headers.get(who, {}))
    assert_invalid(r, field)


@pytest.mark.parametrize(("path", "param"), [("/api/v1/cases", "code"), ("/api/v1/audit", "case")])
def test_nul_in_query_is_422(client: TestClient, world: CaseWorld, path: str, param: str) -> None:
    who = "auditor" if "audit" in path else "coord"
    r = client.get(path, params={param: "x\x00y"}, headers=world.headers[who])
    assert_invalid(r, param)


def test_nul_in_sign_in_form_email_is_422(client: TestClient, world: CaseWorld) -> None:
    token = client.get("/login").cookies.get("__Host-haven_login")
    assert token
    data = {"email": "a\x00@example.org", "password": "x", "csrf_token": token}
    r = client.post("/login", data=data)
    assert r.status_code == 422, r.text
    assert "email" in r.text


# --- uploads ------------------------------------------------------------------------------


def test_upload_with_overlong_multipart_boundary_is_422(
    client: TestClient, world: CaseWorld
) -> None:
    boundary = "b" * 300
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        f"\r\n%PDF-1.4 synthetic\r\n--{boundary}--\r\n"
    ).encode()
    r = client.post(
        f"/api/v1/cases/{world.case_a.id}/documents",
        content=body,
        headers={
            **world.headers["worker"],
            "content-type": f"multipart/form-data; boundary={boundary}",
        },
    )
    assert_invalid(r, "file")


# --- a property: no JSON body makes search or the duplicate check fail -------------------

_text = st.text(max_size=60)
_search_body = st.fixed_dictionaries(
    {},
    optional={
        "name": _text,
        "phone": _text,
        "handle": _text,
        "code": _text,
        "assigned_to": st.one_of(_text, st.just("-" * 36), st.uuids().map(str)),
        "date_of_birth": st.one_of(_text, st.dates().map(str)),
        "page": st.one_of(st.integers(), _text),
    },
)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_search_body)
def test_search_bodies_never_500(
    client: TestClient, world: CaseWorld, body: dict[str, Any]
) -> None:
    for path in ("/api/v1/cases/search", "/api/v1/cases/duplicates"):
        if path.endswith("duplicates"):
            body = {k: v for k, v in body.items() if k in ("phone", "handle", "date_of_birth")}
        r = client.post(path, json=body, headers=world.headers["coord"])
        assert r.status_code < 500, (path, body, r.text)
        if r.status_code == 422:
            assert r.json()["errors"], r.text
