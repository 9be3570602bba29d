"""The benchmark's floor route (bench/floor.py) exists only in the benchmark's server: the
production application has no such route, and no production module can import it."""

import ast
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from bench.floor import FLOOR_PATH, SIGNED_IN_PATH, THREAD_PATH, add_floor
from tests.factories import auth, bearer, make_team, make_user

APP_DIR = Path(__file__).resolve().parents[2] / "app"


def _paths(app: FastAPI) -> set[str]:
    return {getattr(route, "path", "") for route in app.routes}


def test_production_app_has_no_floor_route(client: TestClient, app: FastAPI) -> None:
    assert not any(path.startswith("/bench") for path in _paths(app))
    for path in (FLOOR_PATH, THREAD_PATH, SIGNED_IN_PATH):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert '"ok"' not in answer.text


def test_the_benchmark_server_adds_it(app: FastAPI) -> None:
    # The path checked above is the one the benchmark serves: with the bench module's hook
    # the same application answers it.
    add_floor(app)
    assert FLOOR_PATH in _paths(app)
    with TestClient(app, base_url="https://testserver") as client:
        answer = client.get(FLOOR_PATH)
    assert answer.status_code == 200
    assert answer.json() == {"ok": True}
    assert answer.headers["cache-control"] == "no-store"  # the same middleware stack


def test_the_ladder_routes_answer_like_any_route(
    app: FastAPI, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    # The thread-pool rung answers anyone; the signed-in rung refuses an anonymous caller
    # and a role without the permission, as every signed-in route does.
    coordinator = make_user(db, Role.COORDINATOR, teams=[make_team(db)])
    volunteer = make_user(db, Role.VOLUNTEER, teams=[make_team(db)])
    allowed = auth(bearer(db, coordinator, clock=clock, settings=settings))
    refused = auth(bearer(db, volunteer, clock=clock, settings=settings))
    add_floor(app)
    with TestClient(app, base_url="https://testserver") as client:
        assert client.get(THREAD_PATH).json() == {"ok": True}
        # (Outside /api/ a refusal is the sign-in or refusal page, not a JSON error.)
        assert '"ok"' not in client.get(SIGNED_IN_PATH).text
        assert '"ok"' not in client.get(SIGNED_IN_PATH, headers=refused).text
        signed = client.get(SIGNED_IN_PATH, headers=allowed)
    assert signed.status_code == 200
    assert signed.json() == {"ok": True}


def test_no_production_module_imports_bench() -> None:
    importers = []
    for source in APP_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(name == "bench" or name.startswith("bench.") for name in names):
                importers.append(str(source.relative_to(APP_DIR)))
    assert importers == []
