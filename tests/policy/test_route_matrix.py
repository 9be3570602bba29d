"""The route table against the policy: every route declares an access rule, and every
(route, role, scope) cell answers what the policy predicts.

Generic on purpose: it walks `app.routes`, so a route added later is covered without
touching this file. Path parameters are filled by name (`case_id`, `user_id`, `doc_id`,
`referral_id` with an object in and out of the actor's scope; any other with a random id).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.cases.models import BreakGlassGrant
from app.config import Settings
from app.crypto.keyring import Keyring
from app.documents.blobs import BlobStore
from app.policy.access import BodyId, Scoped
from app.policy.deps import Requirement, public, require
from app.policy.permissions import Permission, Role
from app.security.clock import FrozenClock
from app.tasks.schemas import TaskCreate
from app.users import grants
from tests.factories import (
    actor_of,
    auth,
    bearer,
    make_case,
    make_document,
    make_draft_referral,
    make_partner,
    make_task,
    make_team,
    make_user,
)
from tests.policy import oracle

SCOPES = ("in_scope", "out_of_scope", "break_glass", "anonymous")
# Framework routes that are not Haven endpoints (the OpenAPI schema is public by design).
FRAMEWORK_ROUTES = {"/api/v1/openapi.json"}
SCOPED_PARAMS = {
    "case_id": "case",
    "user_id": "user",
    "doc_id": "document",
    "referral_id": "referral",
    "task_id": "task",
    "team_id": "team",
    "request_id": "access_request",
}
# Written from docs/architecture.md, not read from the code: roles whose scope over a
# resource is everything, so the "out of scope" object (another team's) must be reachable.
UNIVERSAL_SCOPE = {
    (Role.ADMIN, "user"),
    (Role.ADMIN, "team"),
    (Role.AUDITOR, "team"),
    (Role.ADMIN, "access_request"),
}
# A live break-glass grant lets the case team's roles READ a team's case and what hangs off
# it; any other use of the grant is out of scope (404). From the oracle, not the code.
GRANT_ROLES = {Role(r) for r in oracle.BREAK_GLASS_ROLES}
GRANT_READS = {Permission(p) for p in oracle.BREAK_GLASS_READS}
GRANT_RESOURCES = {"case", "document", "referral", "task"}
# A valid body for each request model that names its object in a field (the id is filled in).
BODY_SCOPED: dict[type[BaseModel], Callable[[World], dict[str, object]]] = {
    TaskCreate: lambda world: {
        "assigned_to": str(world.actors[Role.VOLUNTEER].id),  # type: ignore[attr-defined]
        "title": "Meet at the station",
        "instructions": "Bring a SIM card.",
    },
}


@dataclass(frozen=True)
class RoutePolicy:
    """What a route declares, read from its dependency tree."""

    method: str
    path: str
    is_public: bool
    requirements: tuple[Requirement, ...]
    scopes: tuple[Scoped[object], ...]

    @property
    def permission(self) -> Permission:
        return self.requirements[0].permission


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def route_policies(app: FastAPI) -> list[RoutePolicy]:
    """Every (method, route) of the app with its declared access rule."""
    out = []
    # iter_route_contexts flattens included routers and gives each route its effective
    # dependencies (router-level ones included), exactly as requests see them.
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        calls = [d.call for d in _walk(route.dependant)]
        requirements = tuple(c for c in calls if isinstance(c, Requirement))
        scopes = tuple(c for c in calls if isinstance(c, Scoped))
        for method in sorted(route.methods or ()):
            out.append(
                RoutePolicy(
                    method, route.path, any(c is public for c in calls), requirements, scopes
                )
            )
    return out


def test_every_route_declares_exactly_one_access_rule(app: FastAPI) -> None:
    policies = route_policies(app)
    assert policies, "no routes found"
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            assert route.path in FRAMEWORK_ROUTES, f"{route.path} bypasses FastAPI's dependencies"
    problems = []
    for p in policies:
        rules = int(p.is_public) + len({id(r) for r in p.requirements})
        if rules != 1:
            problems.append(f"{p.method} {p.path}: {rules} access rules (need exactly one)")
        for param in SCOPED_PARAMS:
            in_path = re.search(r"\{" + param + r"(:\w+)?\}", p.path)
            if in_path and not any(param in s.lookup.params for s in p.scopes):
                problems.append(f"{p.method} {p.path}: {param} not resolved through the scope")
        for scoped in p.scopes:
            ids = scoped.lookup.ids
            if isinstance(ids, BodyId) and ids.model not in BODY_SCOPED:
                problems.append(f"{p.method} {p.path}: no body for {ids.model.__name__} here")
    assert not problems, "\n".join(problems)


def test_the_check_catches_a_route_without_a_rule(app: FastAPI) -> None:
    @app.get("/api/v1/_probe/unguarded")
    def unguarded() -> dict[str, str]:
        return {}

    @app.get("/api/v1/_probe/cases/{case_id}")
    def unscoped(case_id: uuid.UUID, actor: object = require(Permission.CASE_READ)) -> None:
        return None

    policies = {p.path: p for p in route_policies(app)}
    bad = policies["/api/v1/_probe/unguarded"]
    assert not bad.is_public
    assert not bad.requirements
    # Takes a case id but reads it without the scope: the declaration check must object.
    assert policies["/api/v1/_probe/cases/{case_id}"].requirements
    assert not policies["/api/v1/_probe/cases/{case_id}"].scopes
    with pytest.raises(AssertionError, match="case_id not resolved through the scope"):
        test_every_route_declares_exactly_one_access_rule(app)


@dataclass
class World:
    """Actors of every role (in team A) and objects in and out of their scope."""

    actors: dict[Role, object]
    in_scope: dict[tuple[Role, str], uuid.UUID]
    out_of_scope: dict[tuple[Role, str], uuid.UUID]
    # Another team-B case on which every actor holds a live break-glass grant.
    break_glass: dict[tuple[Role, str], uuid.UUID]


def build_world(db: Session, keyring: Keyring, store: BlobStore, clock: FrozenClock) -> World:
    team_a, team_b = make_team(db), make_team(db)
    actors: dict[Role, object] = {}
    for role in Role:
        teams = [team_a] if role in (Role.COORDINATOR, Role.CASEWORKER, Role.VOLUNTEER) else []
        actors[role] = make_user(db, role, teams=teams)
    other_worker = make_user(db, Role.CASEWORKER, teams=[team_b])
    case_in = make_case(db, keyring=keyring, team=team_a, assigned_to=actors[Role.CASEWORKER])  # type: ignore[arg-type]
    case_out = make_case(db, keyring=keyring, team=team_b, assigned_to=other_worker)
    user_in = make_user(db, Role.VOLUNTEER, teams=[team_a])
    user_out = make_user(db, Role.VOLUNTEER, teams=[team_b])
    worker = actors[Role.CASEWORKER]
    doc_in = make_document(db, keyring=keyring, case=case_in, store=store, by=worker)  # type: ignore[arg-type]
    doc_out = make_document(db, keyring=keyring, case=case_out, store=store, by=other_worker)
    partner, _key = make_partner(db)
    ref_in = make_draft_referral(db, case=case_in, partner=partner)
    ref_out = make_draft_referral(db, case=case_out, partner=partner)
    # The volunteer's own task on the team's case; another volunteer's on the other team's.
    task_in = make_task(db, keyring=keyring, case=case_in, volunteer=actors[Role.VOLUNTEER])  # type: ignore[arg-type]
    task_out = make_task(db, keyring=keyring, case=case_out, volunteer=user_out)
    case_bg = make_case(db, keyring=keyring, team=team_b, assigned_to=other_worker)
    doc_bg = make_document(db, keyring=keyring, case=case_bg, store=store, by=other_worker)
    ref_bg = make_draft_referral(db, case=case_bg, partner=partner)
    task_bg = make_task(db, keyring=keyring, case=case_bg, volunteer=user_out)
    for user in actors.values():  # even roles that may not ask for one: the grant row exists
        db.add(
            BreakGlassGrant(
                actor_id=user.id,  # type: ignore[attr-defined]
                case_id=case_bg.id,
                created_at=clock.now(),
                expires_at=clock.now() + timedelta(hours=1),
            )
        )
    # An admin asks for a volunteer of each team to become a caseworker there: a request
    # opening team A (the coordinator's) and one opening team B.
    asked = {}
    for team in (team_a, team_b):
        asker = actor_of(db, make_user(db, Role.ADMIN))
        promoted = make_user(db, Role.VOLUNTEER, teams=[team])
        asked[team.id] = grants.request_access(
            db, actor=asker, user=promoted, role=Role.CASEWORKER, team_ids=[team.id],
            now=clock.now(),
        ).id  # fmt: skip
    db.flush()
    triples = {
        "case": (case_in.id, case_out.id, case_bg.id),
        "user": (user_in.id, user_out.id, user_out.id),
        "document": (doc_in.id, doc_out.id, doc_bg.id),
        "referral": (ref_in.id, ref_out.id, ref_bg.id),
        "task": (task_in.id, task_out.id, task_bg.id),
        "team": (team_a.id, team_b.id, team_b.id),
        "access_request": (asked[team_a.id], asked[team_b.id], asked[team_b.id]),
    }
    in_scope, out_of_scope, glass = {}, {}, {}
    for role in Role:
        for resource, (inside, outside, granted) in triples.items():
            in_scope[(role, resource)], out_of_scope[(role, resource)] = inside, outside
            glass[(role, resource)] = granted
    return World(actors, in_scope, out_of_scope, glass)


def _fill(path: str, role: Role, scope: str, world: World) -> tuple[str, bool]:
    """The path with parameters filled; False when some id was a random stand-in."""
    exact = True
    tables = {"out_of_scope": world.out_of_scope, "break_glass": world.break_glass}
    table = tables.get(scope, world.in_scope)
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        name = path[start + 1 : end].split(":", maxsplit=1)[0]
        resource = SCOPED_PARAMS.get(name)
        if resource is not None:
            value = str(table[(role, resource)])
        else:
            value, exact = str(uuid.uuid4()), False
        path = path[:start] + value + path[end + 1 :]
    return path, exact


def _body(p: RoutePolicy, role: Role, scope: str, world: World) -> dict[str, object] | None:
    """The JSON body: empty, or for a route scoped by an id in its body, a valid body naming
    the object in, out of, or under break-glass of the actor's scope."""
    if p.method not in ("POST", "PUT", "PATCH"):
        return None
    for scoped in p.scopes:
        ids = scoped.lookup.ids
        if isinstance(ids, BodyId):
            tables = {"out_of_scope": world.out_of_scope, "break_glass": world.break_glass}
            target = tables.get(scope, world.in_scope)[(role, scoped.lookup.resource)]
            return BODY_SCOPED[ids.model](world) | {ids.field: str(target)}
    return {}


def _is_page(p: RoutePolicy) -> bool:
    return not p.path.startswith("/api/") and p.method in ("GET", "HEAD")


def expected(p: RoutePolicy, role: Role, scope: str) -> str:
    """What the design predicts for one cell (tests/policy/oracle.py, never the code's own
    table): 401, 403, 404 or allowed."""
    if scope == "anonymous":
        return "401"
    if not oracle.allows(role.value, p.permission.value):
        return "403"
    enforced = [
        s.lookup
        for s in p.scopes
        if s.lookup.enforced and (role, s.lookup.resource) not in UNIVERSAL_SCOPE
    ]
    if scope == "out_of_scope" and enforced:
        return "404"
    if scope == "break_glass" and enforced:
        reads = role in GRANT_ROLES and p.permission in GRANT_READS
        if not reads or any(s.resource not in GRANT_RESOURCES for s in enforced):
            return "404"
    return "allowed"


def test_route_matrix(
    app: FastAPI,
    client: TestClient,
    db: Session,
    clock: FrozenClock,
    settings: Settings,
    keyring: Keyring,
    root_key: bytes,
    record_property: pytest.RecordProperty,
) -> None:
    world = build_world(db, keyring, BlobStore(settings.blob_dir), clock)
    root = root_key  # re-unseal with the same root after the seal route
    guarded = [p for p in route_policies(app) if p.requirements]
    failures, cells, weak = [], 0, 0
    for p in guarded:
        for role in Role:
            for scope in SCOPES:
                path, exact = _fill(p.path, role, scope, world)
                headers = {}
                if scope != "anonymous":
                    user = world.actors[role]
                    headers = auth(bearer(db, user, clock=clock, settings=settings))  # type: ignore[arg-type]
                body = _body(p, role, scope, world)
                r = client.request(
                    p.method, path, headers=headers, json=body, follow_redirects=False
                )
                if keyring.sealed:
                    keyring.unseal_with_root(root)
                want = expected(p, role, scope)
                cells += 1
                weak += not exact
                got = r.status_code
                if want == "allowed":
                    refused = {401, 403} if not exact else {401, 403, 404}
                    ok = got not in refused and got < 500
                elif want == "401" and _is_page(p):
                    # A browser without a session is sent to the sign-in form instead.
                    ok = got == 303 and r.headers.get("location") == "/login"
                else:
                    ok = got == int(want)
                if not ok:
                    failures.append(
                        f"{p.method} {p.path} {role.value} {scope}: want {want}, "
                        f"got {got} {r.text[:120]}"
                    )
    record_property("route_matrix_cells", cells)
    print(
        f"route matrix: {cells} cells over {len(guarded)} guarded routes ({weak} with a random id)"
    )
    assert not failures, f"{len(failures)} of {cells} cells wrong:\n" + "\n".join(failures)
    assert cells >= len(guarded) * len(Role) * len(SCOPES)
