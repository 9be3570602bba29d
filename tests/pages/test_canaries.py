"""No page shows a field the policy does not give the role: a case with a canary in every
personal field, its document, referral and task, and every page route of the app fetched by
every role that may not see them. Generic on purpose: it walks the app's route table, so a
page added later is scanned without touching this file."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.cases import service as case_service
from app.config import Settings
from app.crypto.keyring import Keyring
from app.documents.blobs import BlobStore
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from tests.factories import (
    auth,
    bearer,
    make_document,
    make_draft_referral,
    make_partner,
    make_task,
    make_team,
    make_user,
)

# One canary per personal field (synthetic, found nowhere else); dates and the like in forms
# no real value would take. The task's own text is the volunteer's by design: not a canary.
CANARIES: dict[str, object] = {
    "legal_name": "Канарейкин Пётр Ильич",
    "aliases": ["Kanareikin Petr", "Петя-Канарейка"],
    "date_of_birth": "1987-03-09",
    "languages": ["ru", "ka"],
    "current_city": "Канареечный Посад",
    "contacts": [
        {"channel": "telegram", "value": "@canary_tg_4471"},
        {"channel": "phone", "value": "+995 555 44 71 99"},
    ],
    "service_status": "mobilised",
    "unit": "в/ч 44710 канареечная",
    "left_service_on": "2025-02-17",
    "criminal_case": {"article": "338", "status": "open", "notes": "Канареечное дело 4471"},
    "wanted": {"status": "national", "notes": "Канареечный розыск"},
    "documents_held": [{"type": "military_id", "notes": "Канареечный военный билет"}],
    "family": "Канареечная семья, дочь 3 года",
    "risk_flags": ["Канареечный риск экстрадиции"],
    "vetting": {"status": "verified", "by": "Канареечный проверяющий", "notes": "Canary vet"},
    "protection": {"lawyer": "Канареечный адвокат", "decision": "Canary decision 4471"},
    "movement": {
        "plan": "Канареечный маршрут через Казбеги",
        "destroy_after": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
    },
    "intake_notes": "Канареечная беседа: ушёл из части ночью",
    "outcome": "Canary outcome 4471",
    "closing_note": "Канареечная заметка о закрытии",
}
DOCUMENT_NAME = "Канареечная-повестка-4471.pdf"
REFERRAL_NOTE = "Canary referral note 4471"


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value] if len(value) >= 6 and not re.fullmatch(r"[a-z_]+|\d{3}", value) else []
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


SECRETS = sorted({s for v in CANARIES.values() for s in _strings(v)} | {DOCUMENT_NAME})


@dataclass
class World:
    ids: dict[str, uuid.UUID]
    headers: dict[str, dict[str, str]]


def _world(db: Session, keyring: Keyring, clock: FrozenClock, settings: Settings) -> World:
    team_a, team_b = make_team(db), make_team(db)
    worker = make_user(db, Role.CASEWORKER, teams=[team_a])
    volunteer = make_user(db, Role.VOLUNTEER, teams=[team_a])
    readers = {
        "volunteer": volunteer,
        "admin": make_user(db, Role.ADMIN),
        "auditor": make_user(db, Role.AUDITOR),
        "other_coordinator": make_user(db, Role.COORDINATOR, teams=[team_b]),
        "other_caseworker": make_user(db, Role.CASEWORKER, teams=[team_b]),
        "team_caseworker": make_user(db, Role.CASEWORKER, teams=[team_a]),  # not assigned
    }
    case = case_service.create_case(
        db,
        keyring=keyring,
        actor=None,
        team_id=team_a.id,
        values=case_service.validate_fields(CANARIES),
        now=clock.now(),
    )
    case.assigned_to = worker.id
    store = BlobStore(settings.blob_dir)
    doc = make_document(db, keyring=keyring, case=case, store=store, by=worker, name=DOCUMENT_NAME)
    partner, _ = make_partner(db)
    referral = make_draft_referral(db, case=case, partner=partner)
    task = make_task(db, keyring=keyring, case=case, volunteer=volunteer)
    db.flush()
    headers = {
        name: auth(bearer(db, user, clock=clock, settings=settings))
        for name, user in readers.items()
    }
    ids = {
        "case_id": case.id,
        "doc_id": doc.id,
        "referral_id": referral.id,
        "task_id": task.id,
        "user_id": worker.id,
        "team_id": team_a.id,
    }
    return World(ids=ids, headers=headers)


def page_paths(app: FastAPI) -> list[str]:
    """Every GET route outside the API (the pages), as declared."""
    out = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.route
        is_get = isinstance(route, APIRoute) and "GET" in (route.methods or ())
        if is_get and not route.path.startswith("/api/"):
            out.append(route.path)
    return sorted(set(out))


def _fill(path: str, ids: dict[str, uuid.UUID]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        return str(ids.get(name, uuid.uuid4()))

    return re.sub(r"\{([^}]+)\}", value, path)


def test_no_page_shows_a_case_field_to_a_role_the_policy_hides_it_from(
    app: FastAPI,
    client: TestClient,
    db: Session,
    keyring: Keyring,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    world = _world(db, keyring, clock, settings)
    paths = page_paths(app)
    assert "/login" in paths
    leaks, fetched = [], 0
    for who, headers in world.headers.items():
        for path in paths:
            url = _fill(path, world.ids)
            r = client.get(url, headers=headers, follow_redirects=True)
            fetched += 1
            body = r.content.decode("utf-8", errors="replace")
            leaks += [f"{who} {url} ({r.status_code}): {s!r}" for s in SECRETS if s in body]
    print(f"canary scan: {fetched} page fetches, {len(SECRETS)} canaries")
    assert not leaks, "\n".join(leaks)


def test_the_scan_finds_a_canary_a_page_shows(
    app: FastAPI, client: TestClient, db: Session, keyring: Keyring, clock: FrozenClock,
    settings: Settings,
) -> None:  # fmt: skip
    """Control: a page that did show a personal field to the volunteer would be caught."""
    world = _world(db, keyring, clock, settings)

    @app.get("/_probe/leaky/{case_id}")
    def leaky(case_id: uuid.UUID) -> dict[str, str]:
        return {"name": str(CANARIES["legal_name"])}

    url = _fill("/_probe/leaky/{case_id}", world.ids)
    body = client.get(url, headers=world.headers["volunteer"]).text
    assert "/_probe/leaky/{case_id}" in page_paths(app)
    assert [s for s in SECRETS if s in body] == [str(CANARIES["legal_name"])]
