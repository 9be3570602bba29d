"""Call a scoped lookup as a route would: the dependency every route declares (`Scoped`),
given a request whose app carries the test's clock, the caller, and the ids the route's path
would hold, in the lookup's order (a document: its case, then itself). Shared by the tests
of what a lookup hands over (test_lookups.py) and of what it refuses and records
(test_denials.py)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from app.policy.access import Lookup, Scoped
from app.policy.deps import Actor
from app.policy.permissions import Permission
from app.security.clock import FrozenClock


def look_up(
    db: Session, clock: FrozenClock, lookup: Lookup[Any], permission: Permission, actor: Actor,
    *ids: uuid.UUID,
) -> Any:  # fmt: skip
    """What the route would be handed for those ids (a HavenError when it is refused)."""
    path = dict(zip(lookup.params, ids, strict=True))
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(clock=clock)))
    return Scoped(lookup, permission)(request=request, db=db, actor=actor, **path)
