"""The application factory: settings, engine, keyring, middleware, routers, templates."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings, get_settings
from app.crypto.gate import SealedGateMiddleware
from app.crypto.keyring import Keyring
from app.db import make_engine, make_sessionmaker
from app.errors import install_error_handlers
from app.logs import configure_logging
from app.middleware import RequestIdMiddleware
from app.system.api import router as system_router
from app.system.unseal import router as unseal_router

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = ROOT / "templates"


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
    )
    engine = engine or make_engine(settings.database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = session_factory or make_sessionmaker(engine)
    app.state.keyring = keyring or Keyring()
    app.state.templates = Jinja2Templates(directory=TEMPLATE_DIR)

    install_error_handlers(app)
    app.include_router(system_router)
    app.include_router(unseal_router)
    # Added before the request-id middleware so that one wraps it: a 503 still gets an id.
    app.add_middleware(SealedGateMiddleware, keyring=app.state.keyring)
    app.add_middleware(RequestIdMiddleware)
    return app
