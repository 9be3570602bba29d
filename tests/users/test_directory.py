"""The team directory and the auditor's look-up of who acted: each role sees what its work
needs (coordinators and admins name, role, e-mail, active; auditors name and role), and
nobody else sees anything."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.cases.conftest import Org
from tests.casework import audit_count

MEMBER = {"id", "name", "role", "email", "active"}


def test_a_coordinator_lists_the_accounts_of_their_team(client: TestClient, org: Org) -> None:
    r = client.get(f"/api/v1/teams/{org.team_a.id}/members", headers=org.headers["coordinator"])
    assert r.status_code == 200, r.text
    page = r.json()
    assert set(page) == {"items", "page", "per_page", "total", "total_capped"}
    members = {m["email"]: m for m in page["items"]}
    assert org.caseworker.email in members
    assert org.outsider.email not in members  # team B's caseworker
    worker = members[org.caseworker.email]
    assert set(worker) == MEMBER
    assert (worker["role"], worker["active"]) == ("caseworker", True)
    assert worker["name"] == org.caseworker.email.split("@")[0]


def test_another_teams_directory_is_out_of_scope(client: TestClient, org: Org) -> None:
    r = client.get(f"/api/v1/teams/{org.team_b.id}/members", headers=org.headers["coordinator"])
    assert r.status_code == 404
    missing = client.get(f"/api/v1/teams/{uuid.uuid4()}/members", headers=org.headers["admin"])
    assert missing.status_code == 404


def test_admins_see_every_team_and_auditors_only_names_and_roles(
    client: TestClient, org: Org
) -> None:
    url = f"/api/v1/teams/{org.team_b.id}/members"
    admin = client.get(url, headers=org.headers["admin"]).json()["items"]
    assert {m["email"] for m in admin} == {org.outsider.email, org.outsider_coord.email}
    audited = client.get(url, headers=org.headers["auditor"])
    assert audited.status_code == 200
    for member in audited.json()["items"]:
        assert set(member) == {"id", "name", "role"}
    assert org.outsider.email not in audited.text


def test_caseworkers_and_volunteers_get_no_directory(client: TestClient, org: Org) -> None:
    url = f"/api/v1/teams/{org.team_a.id}/members"
    for who in ("caseworker", "volunteer"):
        assert client.get(url, headers=org.headers[who]).status_code == 403
    assert client.get(url).status_code == 401


def test_an_auditor_resolves_an_actor_to_a_name_and_role_only(
    client: TestClient, org: Org, db: Session
) -> None:
    url = f"/api/v1/audit/actors/{org.caseworker.id}"
    r = client.get(url, headers=org.headers["auditor"])
    assert r.status_code == 200, r.text
    assert r.json() == {
        "id": str(org.caseworker.id),
        "name": org.caseworker.email.split("@")[0],
        "role": "caseworker",
    }
    assert org.caseworker.email not in r.text
    assert audit_count(db, "audit.read") >= 1
    for who in ("coordinator", "caseworker", "admin", "volunteer"):
        assert client.get(url, headers=org.headers[who]).status_code == 403, who
    unknown = f"/api/v1/audit/actors/{uuid.uuid4()}"
    assert client.get(unknown, headers=org.headers["auditor"]).status_code == 404


def test_an_admin_names_an_account_and_the_directory_shows_it(client: TestClient, org: Org) -> None:
    r = client.patch(
        f"/api/v1/users/{org.caseworker.id}",
        json={"name": "Нино Б."},
        headers=org.headers["admin"],
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Нино Б."
    url = f"/api/v1/teams/{org.team_a.id}/members"
    names = {
        m["id"]: m["name"]
        for m in client.get(url, headers=org.headers["coordinator"]).json()["items"]
    }
    assert names[str(org.caseworker.id)] == "Нино Б."
    too_long = client.patch(
        f"/api/v1/users/{org.caseworker.id}", json={"name": "x" * 121}, headers=org.headers["admin"]
    )
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["field"] == "name"
