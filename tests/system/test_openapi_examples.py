"""Every request body in the OpenAPI document comes with an example, and every example is
one the API would accept (so a changed field cannot leave a stale example behind). The
people in them are invented."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import TypeAdapter

from app.config import Settings
from app.main import create_app


def _app() -> FastAPI:
    return create_app(Settings())


def _examples(doc: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    found: list[Any] = []
    if "example" in media:
        found.append(media["example"])
    found += [e.get("value") for e in media.get("examples", {}).values()]
    schema = media.get("schema", {})
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    found += schema.get("examples", [])
    if "example" in schema:
        found.append(schema["example"])
    return found


def test_every_request_body_has_an_example() -> None:
    doc = _app().openapi()
    bodies, missing = 0, []
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            for kind, media in operation.get("requestBody", {}).get("content", {}).items():
                bodies += 1
                if not _examples(doc, media):
                    missing.append(f"{method.upper()} {path} ({kind})")
    assert bodies >= 20, "the walk found too few request bodies to be looking right"
    assert not missing, "request bodies without an example: " + ", ".join(missing)


def test_every_example_is_accepted_by_its_model() -> None:
    app = _app()
    doc = app.openapi()
    checked = 0
    for route in iter_route_contexts(app.routes):
        original = route.original_route
        body = getattr(route, "body_field", None)
        if not isinstance(original, APIRoute) or body is None:
            continue
        model = body.field_info.annotation
        schema = TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}")
        for example in schema.get("examples", []):
            TypeAdapter(model).validate_python(example)  # raises naming the field if stale
            checked += 1
    assert checked >= 20
    assert doc["paths"]
