"""Building a report opens no data key and decrypts nothing: every AEAD opening in Haven goes
through app.crypto.aead.unseal (data keys, fields, attachments, KEKs), and data keys are
unwrapped by app.crypto.envelope.unwrap_dek; both are counted while reports are fetched."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.crypto import aead, envelope
from app.crypto.keyring import Keyring
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from tests.factories import auth, bearer, make_team, make_user
from tests.reports.conftest import Spec, add_cases


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many decryptions and data-key unwraps happened since the fixture began."""
    seen = {"unseal": 0, "unwrap_dek": 0}

    def counting(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            seen[name] += 1
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(aead, "unseal", counting("unseal", aead.unseal))
    monkeypatch.setattr(envelope, "unwrap_dek", counting("unwrap_dek", envelope.unwrap_dek))
    return seen


def test_a_report_decrypts_nothing_and_unwraps_no_case_key(
    client: TestClient,
    db: Session,
    keyring: Keyring,
    clock: FrozenClock,
    settings: Settings,
    opened: dict[str, int],
) -> None:
    team = make_team(db)
    specs = [Spec(moves=[("documentation", 3), ("closed", 20)]) for _ in range(8)]
    cases = add_cases(db, keyring, team, specs + [Spec(citizenship="BY")] * 6, now=clock.now())
    coordinator = make_user(db, Role.COORDINATOR, teams=[team])
    headers = auth(bearer(db, coordinator, clock=clock, settings=settings))
    auditor = auth(bearer(db, make_user(db, Role.AUDITOR), clock=clock, settings=settings))
    db.expire_all()  # nothing cached from making the cases: every read goes to the database
    opened.update(unseal=0, unwrap_dek=0)
    for who in (headers, auditor):
        assert client.get("/api/v1/reports/summary", headers=who).status_code == 200
        assert client.get("/api/v1/reports/summary?format=csv", headers=who).status_code == 200
    assert opened == {"unseal": 0, "unwrap_dek": 0}
    # Control: reading one case does open its key and decrypt its fields.
    assert client.get(f"/api/v1/cases/{cases[0].id}", headers=headers).status_code == 200
    assert opened["unwrap_dek"] >= 1
    assert opened["unseal"] >= 1
