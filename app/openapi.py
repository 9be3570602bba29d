"""The OpenAPI document describes the API as it answers, errors included.

Every success answer has its response model (declared on the route). The error answers are
derived here from what each route declares, so they cannot drift from it: a route that
requires a permission can answer 401 and 403, one that reaches an object through a scoped
lookup 404, one that takes input 422, and every route but the few open while sealed 503
(sealed, or the database out of reach) and 507 (storage full).
Answers particular to a route (409 on a stale version, 413, 423, 429) are declared on the
route with `errors(...)`. Every error body has the one shape, `ErrorOut`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict

from app.crypto.gate import OPEN_WHILE_SEALED
from app.policy.access import Scoped
from app.policy.deps import Requirement

_REF = {"$ref": "#/components/schemas/ErrorOut"}

DESCRIPTIONS = {
    400: "The body cannot be parsed (`bad_request`): not JSON, or not UTF-8.",
    401: "Not signed in, or the credentials are not right.",
    403: "The role lacks the permission, the CSRF token is missing or wrong, or a fresh "
    "re-authentication is needed (`reauth_required`).",
    404: "Unknown, or outside the caller's scope (the two are never told apart).",
    408: "The upload took too long.",
    409: "Stale version (`stale_version`, naming what changed), an unmet stage gate "
    "(`stage_gate`, listing what is missing) or another conflict with the current state.",
    413: "The body or upload is too large.",
    415: "Unsupported media type.",
    422: "Invalid input: `errors` names each field and what is wrong with it.",
    423: "The account is locked for a while after failed sign-ins.",
    429: "Throttled: wait (`Retry-After`) and try again.",
    500: "The stored data failed an integrity check (`case_damaged`, `document_damaged`).",
    503: "The service is sealed (`sealed`) and must be unsealed first, or the database does "
    "not answer (`database_unavailable`, with `Retry-After`).",
    507: "The server's storage is full (`storage_full`): nothing was saved.",
}


# Refusals of input the schema allows: each depends on stored state, a secret, the clock or
# a relation between two fields, none of which a JSON Schema can say. Each operation lists
# them (`x-refusals`: the field, when, the code and status; the status's description says
# them too); the schemathesis
# test reads this list, so an operation refusing schema-valid input without saying so here
# fails it.
class Refusal(NamedTuple):
    """A refusal of schema-valid input: the field, when, and the error's code."""

    field: str
    when: str
    code: str = "invalid"
    status: int = 422


_LEAK = ("identifies the person, named or disguised", "identifying_data")
REFUSALS: dict[tuple[str, str], list[Refusal]] = {
    ("GET", "/api/v1/audit"): [Refusal("until", "not after since")],
    ("GET", "/api/v1/audit/export.csv"): [Refusal("until", "not after since")],
    ("GET", "/api/v1/reports/summary"): [
        Refusal("since", "after until, or more than 120 months before it")
    ],
    ("POST", "/api/v1/cases"): [
        Refusal("team_id", "not a team of the caller"),
        Refusal("date_of_birth", "in the future (as are other past dates)"),
        Refusal("consents", "withdrawn before given"),
    ],
    ("PATCH", "/api/v1/cases/{case_id}"): [
        Refusal("date_of_birth", "in the future (as are other past dates)"),
        Refusal("consents", "withdrawn before given"),
    ],
    ("POST", "/api/v1/cases/duplicates"): [
        Refusal("legal_name", "no word of two letters or more once transliterated"),
        Refusal("phone", "no digit 0-9"),
        Refusal("handle", "nothing but @, a link prefix or invisible characters"),
        Refusal("date_of_birth", "in the future"),
    ],
    ("POST", "/api/v1/cases/search"): [
        Refusal("name", "no word of two letters or more once transliterated"),
        Refusal("phone", "no digit 0-9"),
        Refusal("handle", "nothing but @, a link prefix or invisible characters"),
        Refusal("date_of_birth", "in the future"),
    ],
    ("POST", "/api/v1/cases/{case_id}/assign"): [
        Refusal("user_id", "not an active caseworker of the case's team")
    ],
    ("POST", "/api/v1/cases/{case_id}/referrals"): [
        Refusal("partner_id", "no such partner, or its key not confirmed")
    ],
    ("POST", "/api/v1/partners/{partner_id}/confirm"): [
        Refusal("key_id", "not the fingerprint of the partner's key")
    ],
    ("POST", "/api/v1/tasks"): [
        Refusal("assigned_to", "not an active volunteer of the case's team"),
        Refusal("title, instructions, place, note", *_LEAK),
    ],
    ("PATCH", "/api/v1/tasks/{task_id}"): [
        Refusal("title, instructions, place, note", *_LEAK),
    ],
    ("POST", "/api/v1/auth/token"): [
        Refusal("email", "locked for a while after failed sign-ins, known or not", "locked", 423)
    ],
    ("PATCH", "/api/v1/users/{user_id}"): [Refusal("team_ids", "names a team that does not exist")],
    ("POST", "/api/v1/me/totp/confirm"): [
        Refusal("code", "not the code the authenticator shows now")
    ],
    ("POST", "/api/v1/requests"): [
        Refusal("contacts", "an e-mail or phone its channel cannot hold")
    ],
}


class FieldError(BaseModel):
    """One invalid field and what is wrong with it (the value is never echoed)."""

    field: str
    message: str


class ErrorOut(BaseModel):
    """Every error answer of the API: a readable message and a stable code, with the fields
    at fault (422) and, for some codes, more (`missing`, `current_version`,
    `changed_fields`)."""

    model_config = ConfigDict(extra="allow")

    detail: str
    code: str
    errors: list[FieldError] | None = None


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route's own error answers (the generic ones are derived)."""
    return {status: {"description": DESCRIPTIONS[status], "model": ErrorOut} for status in statuses}


def _calls(dependant: Dependant) -> Iterator[object]:
    yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def derived_statuses(route: APIRoute) -> set[int]:
    """The error answers a route's declarations make possible."""
    calls = list(_calls(route.dependant))
    found: set[int] = set()
    if any(isinstance(c, Requirement) for c in calls):
        found |= {401, 403}
    if any(isinstance(c, Scoped) for c in calls):
        found.add(404)
    flat = route.dependant
    if route.body_field is not None or any(_has_params(d) for d in (flat, *flat.dependencies)):
        found.add(422)
    if route.body_field is not None:
        found.add(400)  # a body that cannot be parsed at all (not JSON, not UTF-8)
    if route.path.rstrip("/") not in OPEN_WHILE_SEALED:
        # Sealed, or the database out of reach; and every such route writes (an audit entry
        # at least), so a full disk can refuse it.
        found |= {503, 507}
    return found


def _has_params(dependant: Dependant) -> bool:
    return bool(
        dependant.path_params
        or dependant.query_params
        or dependant.body_params
        or any(_has_params(d) for d in dependant.dependencies)
    )


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every documented API route as requests see it (included routers flattened)."""
    return [
        ctx.route
        for ctx in iter_route_contexts(app.routes)
        if isinstance(ctx.route, APIRoute) and ctx.route.include_in_schema
    ]


def install_openapi(app: FastAPI) -> None:
    """Make app.openapi() add the derived error answers to every operation."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["ErrorOut"] = ErrorOut.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        components["FieldError"] = components["ErrorOut"].pop("$defs")["FieldError"]
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        for route in api_routes(app):
            for method in route.methods or ():
                operation = schema["paths"][route.path_format].get(method.lower())
                if operation is None:
                    continue
                answers = operation.setdefault("responses", {})
                for status in sorted(derived_statuses(route)):
                    answers[str(status)] = {
                        "description": DESCRIPTIONS[status],
                        "content": {"application/json": {"schema": _REF}},
                    }
                refusals = REFUSALS.get((method, route.path_format), [])
                for status in sorted({r.status for r in refusals}):
                    said = [r for r in refusals if r.status == status]
                    answers[str(status)]["description"] += (
                        " Also, though the schema allows it: "
                        + ("; ".join(f"`{r.field}` {r.when} (`{r.code}`)" for r in said) + ".")
                    )
                if refusals:
                    operation["x-refusals"] = [r._asdict() for r in refusals]
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]
