"""Errors are values with a code: JSON under /api, a readable page elsewhere, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from app.i18n import N_

log = logging.getLogger("haven.errors")


class HavenError(Exception):
    """Base of every error a client may see; the message must hold no personal data.

    `keep_record=True` asks the unit of work (app/db.py `transaction`) to commit what was
    written before the error instead of rolling it back: for refusals whose only writes are
    their own record (an audit entry, a failure count), which must survive the refusal."""

    status: int = 400
    code: str = "bad_request"
    message: str = N_("The request could not be processed.")
    # What an API client is told instead of `message`, when the two audiences differ.
    api_message: str | None = None

    def __init__(
        self, message: str | None = None, *, keep_record: bool = False, **extra: Any
    ) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.keep_record = keep_record
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON body for the API."""
        return {"detail": self.message, "code": self.code, **self.extra}

    def headers(self) -> dict[str, str]:
        """Response headers this error carries (none by default)."""
        return {}


class NotAuthenticated(HavenError):
    status, code, message = 401, "not_authenticated", N_("Sign in first.")


class Forbidden(HavenError):
    status, code, message = 403, "forbidden", N_("Your role does not allow this.")


class NotFound(HavenError):
    status, code, message = 404, "not_found", N_("Not found.")


class Conflict(HavenError):
    status, code, message = 409, "conflict", N_("The request conflicts with the current state.")


class PayloadTooLarge(HavenError):
    status, code, message = 413, "too_large", N_("The upload is too large.")


class FormUnreadable(HavenError):
    """400: a page form's body that is not what its form sends (a multipart body with more
    fields than any form has, a broken boundary), in words a person can act on instead of
    the parser's English."""

    status, code = 400, "bad_request"
    message = N_("The form could not be read. Go back, reload the page and send it again.")


class FormTakesNoFile(FormUnreadable):
    """400: a file sent to a form that takes typed text only."""

    message = N_("This form takes typed text only; it cannot carry a file.")


class InvalidInput(HavenError):
    """422 naming the field that is wrong."""

    status, code, message = 422, "invalid", N_("Invalid input.")

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors=[{"field": field, "message": message}])


# When a page catches a HavenError and renders it itself, the response is built without the
# error's headers; the security headers middleware opens one list per request, each
# wait-and-retry error notes its seconds in it, and a 423 or 429 that went out without
# Retry-After gets it from there. The list is shared with the threads sync routes run in.
retry_notes: ContextVar[list[int] | None] = ContextVar("haven_retry_notes", default=None)


class _RetryLater(HavenError):
    """An error that says when to try again: Retry-After, in whole seconds."""

    def __init__(self, message: str | None = None, *, retry_after: int | None, **extra: Any):
        super().__init__(message, **extra)
        self.retry_after = None if retry_after is None else max(1, retry_after)
        notes = retry_notes.get()
        if notes is not None and self.retry_after is not None:
            notes.append(self.retry_after)

    def headers(self) -> dict[str, str]:
        """Retry-After when the end of the wait is known."""
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class Locked(_RetryLater):
    status, code, message = 423, "locked", N_("The account is locked for a while.")


class Throttled(_RetryLater):
    status, code, message = 429, "throttled", N_("Too many attempts; wait and try again.")


class DatabaseUnavailable(_RetryLater):
    status, code = 503, "database_unavailable"
    message = N_("The database cannot be reached just now; try again in a moment.")


class StorageFull(HavenError):
    status, code = 507, "storage_full"
    message = N_("The server's storage is full, so nothing was saved. Tell your administrator.")


class Sealed(HavenError):
    status, code, message = 503, "sealed", N_("The service is sealed; it must be unsealed first.")


# Starlette's details for its own 404 and 405 (HTTP reason phrases), shown on error pages.
HTTP_PHRASES = (N_("Not Found"), N_("Method Not Allowed"))
_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "throttled",
}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _render(request: Request, status: int, body: dict[str, Any]) -> Response:
    if _wants_json(request):
        return JSONResponse(body, status_code=status)
    templates = getattr(request.app.state, "templates", None)
    if templates is None:  # pragma: no cover - templates are always configured by create_app
        return HTMLResponse(f"<h1>{status}</h1>", status_code=status)
    response: Response = templates.TemplateResponse(
        request,
        "errors/error.html",
        {"status": status, "detail": body["detail"]},
        status_code=status,
    )
    return response


def validation_message(err: Any) -> str:
    """A pydantic error's message as a person should read it: our validators' own words,
    without the "Value error, " pydantic puts before them."""
    text = str(err.get("msg", "invalid")) if isinstance(err, dict) else str(err)
    return text.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")]
        # The message names the field and the rule; the submitted value is never echoed back.
        out.append({"field": ".".join(loc) or "body", "message": validation_message(err)})
    return out


async def haven_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HavenError)  # noqa: S101 - registered for HavenError only
    if isinstance(exc, NotAuthenticated) and _sends_to_sign_in(request):
        return RedirectResponse("/login", status_code=303)
    if exc.code == "reauth_required" and _sends_to_sign_in(request):
        # A page that needs a fresh proof of password and code: prove them, come back.
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/account/reauth?next={quote(back, safe='')}", status_code=303)
    body = exc.body()
    if exc.api_message is not None and _wants_json(request):
        body["detail"] = exc.api_message
    response = _render(request, exc.status, body)
    response.headers.update(exc.headers())
    return response


def _sends_to_sign_in(request: Request) -> bool:
    """A browser opening a page without a session (or after it expired) goes to the sign-in
    form; the API, and form posts whose data a redirect would drop, keep their 401."""
    return not _wants_json(request) and request.method in ("GET", "HEAD")


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type only
    errors = _field_errors(exc.errors())
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return _render(request, 422, {"detail": detail, "code": "invalid", "errors": errors})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for this type only
    code = _STATUS_CODES.get(exc.status_code, "error")
    detail = exc.detail if isinstance(exc.detail, str) else code
    response = _render(request, exc.status_code, {"detail": detail, "code": code})
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 405:
        response.headers["Allow"] = ", ".join(allowed_methods(request))
    return response


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this path: Starlette's 405 names those of the first
    route whose path matches, while GET and POST on /cases are two routes."""
    methods: set[str] = set()
    scope = dict(request.scope)
    for context in iter_route_contexts(request.app.routes):  # included routers flattened
        route = context.route
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches({**scope, "method": next(iter(route.methods))})
            if match is Match.FULL:
                methods |= route.methods
    return sorted(methods)


async def _unexpected(request: Request, exc: Exception) -> Response:
    # The traceback goes to the server log (which never holds bodies); the client gets an id.
    request_id = str(request.scope.get("state", {}).get("request_id", "-"))
    log.error("unhandled error [%s]", request_id, exc_info=exc)
    # The request-id middleware wraps even this handler (app.main.Haven), so the id the
    # client quotes is in the header.
    return _render(
        request,
        500,
        {
            "detail": N_("Internal error. Quote the request id to the administrator."),
            "code": "internal",
        },
    )


# How long a client is asked to wait when the database is out of reach.
DATABASE_RETRY_SECONDS = 5
# What the database driver raises when it cannot be reached or answered in time (the
# connection refused or cut, the pool exhausted); never a constraint or a bug in a query.
DATABASE_DOWN = (OperationalError, InterfaceError, SQLAlchemyTimeoutError)


# The driver's sign of a full disk: SQLite's SQLITE_FULL, PostgreSQL's disk_full.
_SQLITE_FULL = 13
_POSTGRES_DISK_FULL = "53100"


def database_full(exc: BaseException) -> bool:
    """True when the database refused a write because its disk (or size limit) is full."""
    orig = getattr(exc, "orig", None)
    return (
        getattr(orig, "sqlite_errorcode", None) == _SQLITE_FULL
        or getattr(orig, "sqlstate", None) == _POSTGRES_DISK_FULL
    )


async def _database_down(request: Request, exc: Exception) -> Response:
    # One line, no traceback: an outage is not a bug, and it may last for many requests.
    request_id = str(request.scope.get("state", {}).get("request_id", "-"))
    if database_full(exc):
        log.error("database storage full [%s]: %s", request_id, type(exc).__name__)
        return await haven_error(request, StorageFull())
    log.warning("database unavailable [%s]: %s", request_id, type(exc).__name__)
    return await haven_error(request, DatabaseUnavailable(retry_after=DATABASE_RETRY_SECONDS))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every failure into a safe response."""
    app.add_exception_handler(HavenError, haven_error)
    for kind in DATABASE_DOWN:
        app.add_exception_handler(kind, _database_down)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
