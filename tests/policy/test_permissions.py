"""The policy table, checked against docs/architecture.md by hand-written expectations."""

import pytest

from app.cases.fields import CASE_FIELDS, ENCRYPTED_FIELDS
from app.policy import permissions
from app.policy.permissions import (
    FIELD_VISIBILITY,
    ROLE_PERMISSIONS,
    Permission,
    Role,
    Visibility,
    allows,
    mask,
    redact,
    redact_member,
    redact_task,
    visibility,
)

CASE_CONTENT = {p for p in Permission if p.value.split(":")[0] in ("case", "document", "referral")}


def test_every_permission_is_resource_colon_action() -> None:
    for p in Permission:
        resource, _, action = p.value.partition(":")
        assert resource
        assert action
        assert p.value == p.value.lower()


def test_every_role_has_an_entry() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert set(FIELD_VISIBILITY) == set(Role)


def test_field_visibility_covers_every_contract_field_for_every_role() -> None:
    # The 34 docs/api.md fields, plus `source` (staff intake or public self-referral),
    # `legal_hold` (keeps a closed case from the retention purge) and `outcome_kind` (the
    # reportable kind of a closed case's outcome).
    assert len(CASE_FIELDS) == len(set(CASE_FIELDS)) == 37
    for role in Role:
        assert set(FIELD_VISIBILITY[role]) == set(CASE_FIELDS), role


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AUDITOR])
def test_admin_and_auditor_get_no_case_content(role: Role) -> None:
    assert not CASE_CONTENT & ROLE_PERMISSIONS[role]
    shown = {f for f, v in FIELD_VISIBILITY[role].items() if v is Visibility.FULL}
    assert shown <= {"id"}


def test_volunteer_sees_no_identifying_field_and_no_case() -> None:
    assert not CASE_CONTENT & ROLE_PERMISSIONS[Role.VOLUNTEER]
    for field in ENCRYPTED_FIELDS:
        assert FIELD_VISIBILITY[Role.VOLUNTEER][field] is Visibility.HIDDEN
    full = {f for f, v in FIELD_VISIBILITY[Role.VOLUNTEER].items() if v is Visibility.FULL}
    assert full == {"case_code"}


def test_case_team_sees_cases_in_full() -> None:
    for role in (Role.COORDINATOR, Role.CASEWORKER):
        assert all(v is Visibility.FULL for v in FIELD_VISIBILITY[role].values())


def test_separation_of_duties() -> None:
    assert allows(Role.ADMIN, Permission.USER_CREATE)
    assert not allows(Role.COORDINATOR, Permission.USER_CREATE)
    assert allows(Role.AUDITOR, Permission.AUDIT_READ)
    assert not allows(Role.ADMIN, Permission.AUDIT_READ)
    assert allows(Role.COORDINATOR, Permission.CASE_ASSIGN)
    assert not allows(Role.CASEWORKER, Permission.CASE_ASSIGN)
    assert {r for r in Role if allows(r, Permission.SYS_SEAL)} == {Role.ADMIN, Role.COORDINATOR}
    assert {r for r in Role if allows(r, Permission.CASE_BREAK_GLASS)} == {
        Role.COORDINATOR,
        Role.CASEWORKER,
    }


def test_redact_drops_hidden_and_masks_masked() -> None:
    values = {"id": "c-1", "case_code": "HV-2026-0142", "legal_name": "Invented Person"}
    assert redact(Role.CASEWORKER, values) == values
    assert redact(Role.ADMIN, values) == {"id": "c-1"}
    auditor = redact(Role.AUDITOR, values)
    assert "legal_name" not in auditor
    assert auditor["case_code"] != "HV-2026-0142"
    assert "0142" not in str(auditor["case_code"])
    assert redact(Role.VOLUNTEER, {**values, "unknown_new_field": 1}) == {
        "case_code": "HV-2026-0142"
    }


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("HV-2026-0142", "•••42"),  # a case code: its last two characters at most
        ("12345678", "•••78"),  # eight characters: the shortest that shows any
        ("1234567", "•••"),  # shorter: two characters would be too much of it
        ("", "•••"),
        (None, "•••"),
        (20260142, "•••42"),
    ],
)
def test_a_mask_shows_two_characters_of_a_long_value_and_none_of_a_short_one(
    value: object, shown: str
) -> None:
    assert mask(value) == shown


def test_an_auditor_follows_a_case_by_its_masked_code() -> None:
    """Masked is neither hidden nor blank: the auditor gets the code's last two characters,
    enough to tell log entries of one case from another's, and nothing more."""
    assert redact(Role.AUDITOR, {"case_code": "HV-2026-0142"}) == {"case_code": "•••42"}


def test_a_role_missing_from_a_table_sees_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Default deny, not a crash, for a role a table does not list (a role added to the enum
    and forgotten in one table): no field, no task field, no directory field."""
    monkeypatch.setattr(permissions, "FIELD_VISIBILITY", {})
    monkeypatch.setattr(permissions, "TASK_VISIBILITY", {})
    monkeypatch.setattr(permissions, "MEMBER_VISIBILITY", {})
    for role in Role:
        assert visibility(role, "case_code") is Visibility.HIDDEN
        assert redact(role, {"case_code": "HV-2026-0142", "id": "c-1"}) == {}
        assert redact_task(role, {"id": "t-1", "title": "Bring the papers"}) == {}
        assert redact_member(role, {"id": "u-1", "name": "A. Person"}) == {}
