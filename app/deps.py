"""Request-scoped dependencies shared by every area: settings and the database session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.config import Settings
from app.crypto.keyring import Keyring
from app.db import transaction


def get_settings_dep(request: Request) -> Settings:
    """The app's settings (set by create_app)."""
    settings: Settings = request.app.state.settings
    return settings


def request_keyring(request: Request) -> Keyring:
    """The app's keyring (sealed or not: using a sealed one raises Sealed)."""
    keyring: Keyring = request.app.state.keyring
    return keyring


def request_now(request: Request) -> datetime:
    """Now, by the app's clock (a frozen one in tests)."""
    now: datetime = request.app.state.clock.now()
    return now


def get_db(request: Request) -> Iterator[Session]:
    """One unit of work per request (app/db.py `transaction`): commits when the handler
    returns, rolls back when it raises (keeping only a refusal's own record)."""
    with transaction(request.app.state.sessionmaker) as session:
        yield session


DbSession = Annotated[Session, Depends(get_db, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]
