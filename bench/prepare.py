"""Bench-side accounts and bearer tokens in a working copy of a dataset (never the cache).

Run by bench/http_bench.py before it starts the server, with the dataset's HAVEN_*
settings: `python -m bench.prepare SPEC_JSON`. SPEC names the dataset's coordinator and
volunteer by e-mail and how many extra coordinators to make; it prints one JSON object:

- `coordinator`, `volunteer`: bearer tokens minted straight into the sessions table (what
  `POST /api/v1/auth/token` would store; the sign-in itself is measured apart, over HTTP);
- `pool`: tokens of `pool` extra coordinators of the coordinator's team, so that the
  duplicate check (30 per account per hour, app/cases/duplicates.py) is measured rather
  than its throttle; their passwords use the cheapest Argon2 (they never sign in);
- `signin`: e-mail and password of a volunteer made with the production Argon2 parameters
  and no authenticator, for the sign-in figure (a TOTP code works only once, so signing in
  at load needs an account without one).
"""

from __future__ import annotations

import json
import secrets
import sys
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

BENCH_DOMAIN = "bench.haven.invalid"


def _mint(db: Session, user_id: Any, settings: Any) -> str:
    from app.security import sessions
    from app.security.clock import SystemClock
    from app.security.models import CredentialKind, SessionStage

    issued = sessions.create(
        db,
        user_id=user_id,
        kind=CredentialKind.BEARER,
        stage=SessionStage.FULL,
        now=SystemClock().now(),
        settings=settings,
        agent="bench",
    )
    return issued.token


def prepare(spec: dict[str, Any]) -> dict[str, Any]:
    """Make the accounts and tokens SPEC asks for; returns what the load scripts need."""
    from app.cli_keys import unseal_locally
    from app.cli_support import settings_or_exit
    from app.db import make_engine, make_sessionmaker, transaction
    from app.security import passwords
    from app.users import service
    from app.users.models import Team, TeamMembership, User

    settings = settings_or_exit()
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    keyring = unseal_locally(factory, settings)
    out: dict[str, Any] = {}
    with transaction(factory) as db:

        def user(email: str) -> User:
            return db.scalars(select(User).where(User.email == email.lower())).one()

        coordinator = user(spec["coordinator"])
        out["coordinator"] = _mint(db, coordinator.id, settings)
        out["volunteer"] = _mint(db, user(spec["volunteer"]).id, settings)
        team = db.scalars(
            select(Team.name)
            .join(TeamMembership, TeamMembership.team_id == Team.id)
            .where(TeamMembership.user_id == coordinator.id)
            .order_by(Team.name)
        ).first()
        tag = secrets.token_hex(4)
        password = "bench-" + secrets.token_urlsafe(18)
        out["signin"] = {"email": f"signin-{tag}@{BENCH_DOMAIN}", "password": password}
        service.create_user(
            db,
            email=out["signin"]["email"],
            role="volunteer",
            teams=[team] if team else [],
            password=password,
            keyring=keyring,
            one_time=False,
        )
        passwords.use_params(passwords.HashParams(time_cost=1, memory_cost_kib=8, parallelism=1))
        pool = []
        for n in range(int(spec.get("pool", 0))):
            made = service.create_user(
                db,
                email=f"pool{n}-{tag}@{BENCH_DOMAIN}",
                role="coordinator",
                teams=[team] if team else [],
                password=password,
                keyring=keyring,
                one_time=False,
            )
            pool.append(_mint(db, made.user.id, settings))
        out["pool"] = pool
    keyring.seal()
    engine.dispose()
    return out


if __name__ == "__main__":
    print(json.dumps(prepare(json.loads(sys.argv[1]))))
