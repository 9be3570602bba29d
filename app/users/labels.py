"""How account vocabularies read on a page, in the page's language."""

from __future__ import annotations

from app.i18n import LazyText, lazy
from app.policy.permissions import Role

ROLES: dict[Role, LazyText] = {
    Role.CASEWORKER: lazy("caseworker"),
    Role.COORDINATOR: lazy("coordinator"),
    Role.VOLUNTEER: lazy("volunteer"),
    Role.ADMIN: lazy("administrator"),
    Role.AUDITOR: lazy("auditor"),
}


def role_label(role: str) -> LazyText | str:
    """A role as a page names it (an unknown value as stored)."""
    try:
        return ROLES[Role(role)]
    except ValueError:
        return role
