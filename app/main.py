"""The application factory: settings, engine, keyring, middleware, routers, templates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.audit.checkpoints import start_scheduler
from app.config import Settings, get_settings
from app.crypto.keyring import Keyring
from app.db import make_engine, make_sessionmaker
from app.errors import install_error_handlers
from app.logs import configure_logging
from app.middleware import RequestIdMiddleware
from app.system.api import router as system_router

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = ROOT / "templates"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Background work for the life of the process: audit checkpoints when due."""
    scheduler = start_scheduler(app.state.settings, app.state.keyring)
    try:
        yield
    finally:
        if scheduler is not None:
            scheduler.stop()


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    session_factory: sessionmaker[Session] | None = None,
    keyring: Keyring | None = None,
) -> FastAPI:
    """Build the service; tests pass their own engine, session factory and keyring."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
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
    app.state.templates = Jinja2Templates(directory=TEMPLATE_DIR)

    install_error_handlers(app)
    app.include_router(system_router)
    app.add_middleware(RequestIdMiddleware)
    return app
