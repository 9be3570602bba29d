"""The OpenAPI document describes the API as it answers: a response schema for every
success, every error a route's declarations make possible, one error shape."""

from __future__ import annotations

import inspect
import typing
from typing import Any

from fastapi import FastAPI

from app.config import Environment, Settings
from app.main import create_app
from app.openapi import REFUSALS, api_routes, derived_statuses


def _app() -> FastAPI:
    return create_app(Settings(env=Environment.TEST))


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), path, op) for path, ops in doc["paths"].items() for m, op in ops.items()]


def test_every_success_answer_has_a_schema() -> None:
    doc = _app().openapi()
    problems = []
    for method, path, op in _operations(doc):
        successes = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        if not successes:
            problems.append(f"{method} {path}: no success answer")
        for code, answer in successes.items():
            if code == "204":
                continue
            schemas = [c.get("schema") for c in answer.get("content", {}).values()]
            if not schemas or not all(schemas):
                problems.append(f"{method} {path} {code}: no response schema")
    assert not problems, "\n".join(problems)


def test_every_error_a_route_can_give_is_described_with_the_one_shape() -> None:
    app = _app()
    doc = app.openapi()
    problems = []
    for route in api_routes(app):
        for method in route.methods or ():
            op = doc["paths"][route.path_format][method.lower()]
            for status in derived_statuses(route):
                answer = op["responses"].get(str(status))
                if answer is None:
                    problems.append(f"{method} {route.path}: {status} undocumented")
                    continue
                schema = answer["content"]["application/json"]["schema"]
                if schema != {"$ref": "#/components/schemas/ErrorOut"}:
                    problems.append(f"{method} {route.path} {status}: not ErrorOut")
    assert not problems, "\n".join(problems)
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_a_guarded_scoped_route_declares_401_403_404_422_503() -> None:
    doc = _app().openapi()
    answers = doc["paths"]["/api/v1/cases/{case_id}"]["patch"]["responses"]
    assert {"200", "401", "403", "404", "409", "422", "503"} <= set(answers)
    health = doc["paths"]["/api/v1/sys/health"]["get"]["responses"]
    assert "401" not in health  # open to anyone, even while sealed
    # Its 503 is its own answer (the database does not answer), not the sealed error.
    assert health["503"]["content"]["application/json"]["schema"]["$ref"].endswith("/Health")


def test_no_route_returns_an_undescribed_dict() -> None:
    problems = []
    for route in api_routes(_app()):
        hints = typing.get_type_hints(route.endpoint)
        returned = hints.get("return", inspect.Signature.empty)
        if typing.get_origin(returned) is dict or returned is dict:
            problems.append(f"{route.path}: {route.endpoint.__name__} returns {returned}")
    assert not problems, "\n".join(problems)


def test_every_listed_refusal_is_on_an_operation_and_in_its_answer() -> None:
    """REFUSALS (refusals of schema-valid input) cannot drift from the routes: each names an
    operation that exists, and that operation's answer with the refusal's status says it."""
    doc = _app().openapi()
    for (method, path), refusals in REFUSALS.items():
        operation = doc["paths"][path][method.lower()]
        assert operation["x-refusals"] == [r._asdict() for r in refusals]
        for refusal in refusals:
            assert (
                f"`{refusal.field}`" in operation["responses"][str(refusal.status)]["description"]
            )


def test_ids_in_api_paths_are_typed_so_other_methods_answer_405() -> None:
    """`/cases/{case_id:uuid}`: PATCH /cases/duplicates is no case id, so it answers 405 with
    every method the path has, not a 422 about a malformed id; the document still says
    `{case_id}`, a string of format uuid."""
    app = _app()
    for route in api_routes(app):
        for name in route.param_convertors:
            if name.endswith("_id"):
                assert f"{{{name}:uuid}}" in route.path, route.path
    doc = app.openapi()
    param = doc["paths"]["/api/v1/cases/{case_id}"]["get"]["parameters"][0]
    assert param["schema"]["format"] == "uuid"
    assert not [p for p in doc["paths"] if ":" in p]
