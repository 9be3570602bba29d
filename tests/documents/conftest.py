"""Document tests reuse the encryption fixtures (an opened DEK for a synthetic case) and get a
small world: two teams, their coordinators and caseworkers, one case each."""

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.config import Settings
from app.crypto.keyring import Keyring
from app.documents.blobs import BlobStore
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.users.models import User
from tests.crypto.conftest import committed, dek, owner_id
from tests.factories import auth, bearer, make_case, make_team, make_user

__all__ = ["World", "committed", "dek", "owner_id", "world"]


@dataclass
class World:
    """Case A (team A, assigned to worker) and case B (team B); bearer headers per user."""

    case_a: Case
    case_b: Case
    users: dict[str, User]
    headers: dict[str, dict[str, str]]
    store: BlobStore


@pytest.fixture
def world(db: Session, keyring: Keyring, clock: FrozenClock, settings: Settings) -> World:
    team_a, team_b = make_team(db), make_team(db)
    users = {
        "coord": make_user(db, Role.COORDINATOR, teams=[team_a]),
        "worker": make_user(db, Role.CASEWORKER, teams=[team_a]),
        "worker2": make_user(db, Role.CASEWORKER, teams=[team_a]),
        "worker_b": make_user(db, Role.CASEWORKER, teams=[team_b]),
        "admin": make_user(db, Role.ADMIN),
        "auditor": make_user(db, Role.AUDITOR),
        "volunteer": make_user(db, Role.VOLUNTEER, teams=[team_a]),
    }
    case_a = make_case(db, keyring=keyring, team=team_a, assigned_to=users["worker"])
    case_b = make_case(db, keyring=keyring, team=team_b, assigned_to=users["worker_b"])
    headers = {
        name: auth(bearer(db, user, clock=clock, settings=settings)) for name, user in users.items()
    }
    return World(case_a, case_b, users, headers, BlobStore(settings.blob_dir))
