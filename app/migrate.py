"""Run Alembic from code: `haven init`, the tests and the CLI all build schemas this way."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(*, url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic config pointing at this checkout's migrations."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if url is not None:
        cfg.attributes["url"] = url
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at url up to revision."""
    command.upgrade(alembic_config(url=url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Take the database at url down to revision."""
    command.downgrade(alembic_config(url=url), revision)
