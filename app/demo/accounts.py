"""Demo accounts, one per role, for `haven demo` (invented addresses on a reserved domain)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.crypto.keyring import Keyring
from app.policy.permissions import Role
from app.users import service
from app.users.models import User

DEMO_DOMAIN = "demo.haven.invalid"  # .invalid is reserved (RFC 2606): no mail can ever go there
DEMO_TEAM = "Demo team"
_IN_TEAM = {Role.COORDINATOR, Role.CASEWORKER, Role.VOLUNTEER}
# One account per role, and a second coordinator so that four-eyes erasure can be tried.
DEMO_ACCOUNTS: tuple[tuple[str, Role, str], ...] = (
    *((role.value, role, f"Demo {role.value}") for role in Role),
    ("coordinator2", Role.COORDINATOR, "Demo coordinator two"),
)


@dataclass(frozen=True)
class DemoAccount:
    """A demo account; password and TOTP secret are set only when it was just created."""

    email: str
    role: Role
    created: bool
    password: str | None = None
    totp_secret: str | None = None


def ensure_demo_accounts(db: Session, *, keyring: Keyring) -> list[DemoAccount]:
    """Create any missing demo account (idempotent); flushes, never commits."""
    accounts = []
    for local, role, name in DEMO_ACCOUNTS:
        email = f"{local}@{DEMO_DOMAIN}"
        if db.scalars(select(User.id).where(User.email == email)).first() is not None:
            accounts.append(DemoAccount(email=email, role=role, created=False))
            continue
        made = service.create_user(
            db,
            one_time=False,
            email=email,
            role=role,
            teams=[DEMO_TEAM] if role in _IN_TEAM else [],
            keyring=keyring,
            name=name,
        )
        accounts.append(
            DemoAccount(
                email=email,
                role=role,
                created=True,
                password=made.password,
                totp_secret=made.totp_secret,
            )
        )
    return accounts
