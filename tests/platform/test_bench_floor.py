"""The benchmark's floor route (bench/floor.py) exists only in the benchmark's server: the
production application has no such route, and no production module can import it."""

import ast
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from bench.floor import FLOOR_PATH, add_floor

APP_DIR = Path(__file__).resolve().parents[2] / "app"


def _paths(app: FastAPI) -> set[str]:
    return {getattr(route, "path", "") for route in app.routes}


def test_production_app_has_no_floor_route(client: TestClient, app: FastAPI) -> None:
    assert not any(path.startswith("/bench") for path in _paths(app))
    answer = client.get(FLOOR_PATH)
    assert answer.status_code == 404
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
