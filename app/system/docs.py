"""The API documentation page: Swagger UI over the OpenAPI document, served by Haven itself.

Public, like the OpenAPI document it renders (/api/v1/openapi.json has always been): it
shows nothing that document does not, and people who write scripts against Haven, or audit
it, may read it before they have an account. It runs under the same strict CSP as every page
(scripts and styles from 'self' only), reads no URL parameters, and cannot send requests
("Try it out" is off: a cookie call would need the CSRF header and a bearer token would have
to be pasted into the page).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.policy.deps import PUBLIC

router = APIRouter(tags=["system"])


@router.get("/api/v1/docs", dependencies=PUBLIC, include_in_schema=False)
def api_docs(request: Request) -> Response:
    """The API documentation page."""
    response: Response = request.app.state.templates.TemplateResponse(request, "api/docs.html", {})
    return response
