"""Migrations are the only way a schema is built, and they match the models exactly."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import app.models  # noqa: F401 - every table on the metadata
from app.db import Base, make_engine
from app.migrate import downgrade, upgrade
from tests.conftest import ScratchDatabase


def _diff(url: str) -> list[object]:
    engine = make_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    return list(diff)


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names - {"alembic_version"}


def test_autogenerate_finds_no_difference(fresh_db: ScratchDatabase) -> None:
    upgrade(fresh_db.url)
    assert _diff(fresh_db.url) == []


def test_downgrade_base_then_upgrade_head_round_trips(fresh_db: ScratchDatabase) -> None:
    upgrade(fresh_db.url)
    expected = set(Base.metadata.tables)
    assert _tables(fresh_db.url) == expected
    downgrade(fresh_db.url, "base")
    assert _tables(fresh_db.url) == set()
    upgrade(fresh_db.url)
    assert _tables(fresh_db.url) == expected
    assert _diff(fresh_db.url) == []
