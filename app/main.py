"""The application factory: settings, engine, keyring, middleware, routers, templates."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp

from app.audit.api import router as audit_router
from app.audit.checkpoints import start_scheduler
from app.audit.pages import router as audit_pages_router
from app.audit.tree import start_sequencer
from app.board.api import router as board_router
from app.board.pages import router as board_pages_router
from app.cases.api import router as cases_router
from app.cases.drafts import start_draft_purger
from app.cases.file_acts import router as case_acts_router
from app.cases.file_consents import router as case_consents_router
from app.cases.file_pages import router as case_file_router
from app.cases.intake_pages import router as intake_interview_router
from app.cases.list_pages import router as case_list_router
from app.cases.retention import start_movement_scheduler
from app.config import Settings, get_settings
from app.crypto.gate import SealedGateMiddleware
from app.crypto.keyring import Keyring
from app.db import (
    POSTGRES_QUEUE_SLOTS,
    SQLITE_QUEUE_SLOTS,
    SQLITE_QUEUE_WAIT_SECONDS,
    make_engine,
    make_sessionmaker,
    transaction,
)
from app.documents.api import router as documents_router
from app.documents.pages import router as documents_pages_router
from app.documents.sweep import sweep_at_start
from app.errors import install_error_handlers
from app.i18n.pages import router as language_router
from app.intake.api import router as intake_router
from app.intake.pages import router as intake_pages_router
from app.logs import configure_logging
from app.middleware import BodyLimitMiddleware, RequestIdMiddleware, WriteQueueMiddleware
from app.openapi import install_openapi
from app.planner import start_statistics_keeper
from app.referrals.api import router as referrals_router
from app.referrals.pages import router as referrals_pages_router
from app.referrals.partner_pages import router as partners_pages_router
from app.reports.api import router as reports_router
from app.reports.pages import router as reports_pages_router
from app.security import sessions
from app.security.clock import Clock, SystemClock
from app.security.headers import SecurityHeadersMiddleware
from app.static import router as static_router
from app.system.api import router as system_router
from app.system.docs import router as docs_router
from app.system.pages import router as seal_pages_router
from app.system.seal_follower import start_seal_follower
from app.system.unseal import router as unseal_router
from app.tasks.api import router as tasks_router
from app.tasks.pages import router as tasks_pages_router
from app.users.account_pages import router as account_pages_router
from app.users.admin_pages import router as admin_pages_router
from app.users.api import router as users_router
from app.users.auth_api import router as auth_router
from app.users.housekeeping import start_session_purger
from app.users.pages import router as auth_pages_router
from app.web import make_templates

ROOT = Path(__file__).resolve().parent.parent
# The API's upload and the documents page's upload form.
UPLOAD_PATH = re.compile(r"(?:/api/v1)?/cases/[0-9a-fA-F-]{36}/documents")
TEMPLATE_DIR = ROOT / "templates"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Background work for the life of the process: first the blobs a crash left behind,
    then the audit sequencer and checkpoints when due, the destruction of movement plans past
    their destroy_after, of interviews kept a day and of expired sessions, following a seal
    made by another process on the same database, and SQLite's planner statistics."""
    settings = app.state.settings
    sweep_at_start(app.state.sessionmaker, settings.blob_dir, settings.blob_sweep_grace_seconds)
    sequencer = start_sequencer(app.state.settings)
    scheduler = start_scheduler(app.state.settings, app.state.keyring)
    purger = start_movement_scheduler(app.state.settings, app.state.keyring, app.state.clock)
    drafts = start_draft_purger(app.state.settings, app.state.clock)
    follower = start_seal_follower(app.state.settings, app.state.keyring)
    expired = start_session_purger(app.state.settings, app.state.clock)
    statistics = start_statistics_keeper(app.state.settings)
    try:
        yield
    finally:
        for running in (scheduler, purger, drafts, follower, sequencer, expired, statistics):
            if running is not None:
                running.stop()


class Haven(FastAPI):
    """FastAPI with the request id and the security headers outside everything else, so an
    answer made by Starlette's own outermost error handler (an exception inside a middleware)
    or by a middleware (413, sealed 503) carries them too."""

    def build_middleware_stack(self) -> ASGIApp:
        """Starlette's stack, wrapped in the two middlewares every response must pass."""
        return RequestIdMiddleware(SecurityHeadersMiddleware(super().build_middleware_stack()))


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    session_factory: sessionmaker[Session] | None = None,
    keyring: Keyring | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Build the service; tests pass their own engine, session factory and keyring."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = Haven(
        title="Haven",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        lifespan=_lifespan,
    )
    engine = engine or make_engine(settings.database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = session_factory or make_sessionmaker(engine)
    app.state.keyring = keyring or Keyring()
    app.state.clock = clock or SystemClock()
    app.state.templates = make_templates(TEMPLATE_DIR)
    app.state.keyring.on_seal(_end_every_session(app.state.sessionmaker))

    install_error_handlers(app)
    install_openapi(app)
    routers = (
        system_router,
        unseal_router,
        auth_router,
        users_router,
        cases_router,
        documents_router,
        referrals_router,
        tasks_router,
        intake_router,
        audit_router,
        board_router,
        reports_router,
        auth_pages_router,
        account_pages_router,
        admin_pages_router,
        audit_pages_router,
        intake_pages_router,
        board_pages_router,
        seal_pages_router,
        partners_pages_router,
        # /cases/new and /cases/search before any /cases/{case_id} page.
        intake_interview_router,
        case_list_router,
        # /cases/{case_id} pages: after every other /cases/... page router (/cases/new).
        case_file_router,
        case_consents_router,
        case_acts_router,
        documents_pages_router,
        referrals_pages_router,
        tasks_pages_router,
        reports_pages_router,
        language_router,
        static_router,
        docs_router,
    )
    for router in routers:
        app.include_router(router)
    # The last added runs first: the body limit, then the sealed gate. The request id and
    # the security headers wrap the whole stack (Haven.build_middleware_stack), so a 413 or
    # a sealed 503 carries an id and every header.
    # Innermost: a sealed service or an oversize body is refused before it queues. On
    # PostgreSQL too: with more requests in flight than pooled connections, the waiters fill
    # the thread pool while a transaction holding a row lock (a report count, app/reports/
    # counts.py) waits for a thread to commit.
    app.add_middleware(
        WriteQueueMiddleware,
        slots=SQLITE_QUEUE_SLOTS if engine.dialect.name == "sqlite" else POSTGRES_QUEUE_SLOTS,
        wait=SQLITE_QUEUE_WAIT_SECONDS,
        open_prefixes=("/static/", "/api/v1/sys/health"),
    )
    app.add_middleware(SealedGateMiddleware, keyring=app.state.keyring)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_body_bytes,
        # The file limit plus room for the multipart envelope; the reader checks the file.
        upload_limit=settings.max_upload_bytes + 64 * 1024,
        upload_path=UPLOAD_PATH,
    )
    return app


def _end_every_session(factory: sessionmaker[Session]) -> Callable[[], None]:
    """The seal hook: every session and bearer token ends, in a transaction of its own."""

    def hook() -> None:
        with transaction(factory) as db:
            sessions.end_all(db)

    return hook
