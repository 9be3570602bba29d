"""Document tests reuse the encryption fixtures (an opened DEK for a synthetic case) and get a
small world of two teams with one case each."""

import pytest
from sqlalchemy.orm import Session

from app.config import Settings
from app.crypto.keyring import Keyring
from app.security.clock import FrozenClock
from tests.crypto.conftest import dek, owner_id
from tests.factories import CaseWorld, case_world

__all__ = ["dek", "owner_id", "world"]


@pytest.fixture
def world(db: Session, keyring: Keyring, clock: FrozenClock, settings: Settings) -> CaseWorld:
    """Two teams, every role, one case per team."""
    return case_world(db, keyring=keyring, clock=clock, settings=settings)
