"""Referral tests get the same small world as document tests."""

import pytest
from sqlalchemy.orm import Session

from app.config import Settings
from app.crypto.keyring import Keyring
from app.security.clock import FrozenClock
from tests.factories import CaseWorld, case_world


@pytest.fixture
def world(db: Session, keyring: Keyring, clock: FrozenClock, settings: Settings) -> CaseWorld:
    """Two teams, every role, one case per team."""
    return case_world(db, keyring=keyring, clock=clock, settings=settings)
