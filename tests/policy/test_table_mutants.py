"""Every one-entry change to the policy tables is caught by the oracle checks, naming it.

`make mutate` (mutmut, tests/MUTATION.md) plants bugs inside functions only: the policy
tables of app/policy/permissions.py are module-level data, which it never changes. This
sweep is their mutation test: it plants, one at a time, every change a mutation tool could
make to an entry (a permission added to or taken from a role, a break-glass reach widened or
narrowed, a class of case field shown otherwise to a role, a task or directory field shown
or hidden) and proves the oracle check of tests/policy/test_oracle.py reports exactly it.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from app.cases.fields import CATALOGUE, Exposure
from app.policy import permissions, scope
from app.policy.permissions import (
    BREAK_GLASS_READS,
    EXPOSURE_VISIBILITY,
    MEMBER_VISIBILITY,
    ROLE_PERMISSIONS,
    TASK_VISIBILITY,
    Permission,
    Role,
    Visibility,
)
from tests.policy import oracle
from tests.policy.test_oracle import (
    disagreements,
    field_disagreements,
    member_disagreements,
    reach_disagreements,
    task_disagreements,
)


def test_every_permission_added_to_or_taken_from_a_role_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missed = []
    for role in Role:
        for permission in Permission:
            planted = dict(ROLE_PERMISSIONS)
            planted[role] = planted[role] ^ {permission}
            monkeypatch.setattr(permissions, "ROLE_PERMISSIONS", planted)
            if permission in planted[role]:
                expected = f"{role.value} holds {permission.value}, which the design denies"
            else:
                expected = f"{role.value} lacks {permission.value}, which the design grants"
            if disagreements() != [expected]:
                missed.append(expected)
    assert not missed, "\n".join(missed)


def test_a_role_dropped_from_the_table_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for role in Role:
        planted = {r: p for r, p in ROLE_PERMISSIONS.items() if r is not role}
        monkeypatch.setattr(permissions, "ROLE_PERMISSIONS", planted)
        found = disagreements()
        assert found, role
        assert all(line.startswith(f"{role.value} lacks ") for line in found), found


def test_every_change_to_the_break_glass_reach_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    # scope.grant_reaches reads the table it imported: the one the requests use.
    for permission in Permission:
        planted = BREAK_GLASS_READS ^ {permission}
        monkeypatch.setattr(scope, "BREAK_GLASS_READS", planted)
        verb = "reaches" if permission in planted else "misses"
        assert reach_disagreements() == [f"a grant {verb} {permission.value}"], permission


def _rederive(monkeypatch: pytest.MonkeyPatch, table: Mapping[Role, Mapping[Exposure, Visibility]]):
    """Install a changed role x class table and derive the field table from it, as the module
    does at import (permissions._row)."""
    monkeypatch.setattr(permissions, "EXPOSURE_VISIBILITY", table)
    derived = {role: permissions._row(role) for role in Role}
    monkeypatch.setattr(permissions, "FIELD_VISIBILITY", derived)


def test_the_derived_field_table_is_the_oracles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deriving again from the real table gives the real answers (the sweep's baseline)."""
    _rederive(monkeypatch, EXPOSURE_VISIBILITY)
    assert [line for role in Role for line in field_disagreements(role)] == []


def test_every_class_of_case_field_shown_otherwise_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fields_of = {e: {f.name for f in CATALOGUE if f.exposure is e} for e in Exposure}
    # A class with no field would make its entries untestable (an equivalent mutant).
    assert all(fields_of.values()), fields_of
    missed = []
    for role in Role:
        for exposure in Exposure:
            now = EXPOSURE_VISIBILITY[role].get(exposure, Visibility.HIDDEN)
            for other in Visibility:
                if other is now:
                    continue
                table = {r: dict(row) for r, row in EXPOSURE_VISIBILITY.items()}
                table[role][exposure] = other
                _rederive(monkeypatch, table)
                found = field_disagreements(role)
                named = {line.split(" ")[2] for line in found}
                others = [line for r in Role if r is not role for line in field_disagreements(r)]
                if named != fields_of[exposure] or others:
                    missed.append(f"{role.value} x {exposure.value} -> {other.value}: {found}")
    assert not missed, "\n".join(missed)


def test_every_task_field_shown_or_hidden_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    every = sorted(oracle.TASK_VIEW["coordinator"] | {"legal_name", "a_field_added_tomorrow"})
    for role in Role:
        for name in every:
            planted = dict(TASK_VISIBILITY)
            planted[role] = planted[role] ^ {name}
            monkeypatch.setattr(permissions, "TASK_VISIBILITY", planted)
            verb = "sees" if name in planted[role] else "misses"
            found = task_disagreements()
            assert len(found) == 1, found
            assert found[0].startswith(f"{role.value} {verb} task field {name}, "), found


def test_every_directory_field_shown_or_hidden_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    every = sorted(oracle.MEMBER_VIEW["admin"] | {"a_field_added_tomorrow"})
    for role in Role:
        for name in every:
            planted = dict(MEMBER_VISIBILITY)
            planted[role] = planted[role] ^ {name}
            monkeypatch.setattr(permissions, "MEMBER_VISIBILITY", planted)
            verb = "sees" if name in planted[role] else "misses"
            found = member_disagreements()
            assert len(found) == 1, found
            assert found[0].startswith(f"{role.value} {verb} member field {name}, "), found
