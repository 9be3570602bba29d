"""The task field map is data, checked exhaustively: a volunteer's shape is exactly the
contract's, holds no case field, and nothing else ever passes the redaction."""

from __future__ import annotations

import pytest

from app.cases.fields import ENCRYPTED_FIELDS
from app.policy.permissions import (
    TASK_FIELDS,
    TASK_VISIBILITY,
    VOLUNTEER_TASK_FIELDS,
    Role,
    redact_task,
)
from app.tasks.schemas import VolunteerTask

CONTRACT = {"id", "case_code", "title", "instructions", "place", "due", "status", "note"}


def test_volunteer_shape_is_exactly_the_contract() -> None:
    assert set(VOLUNTEER_TASK_FIELDS) == CONTRACT
    assert set(VolunteerTask.model_fields) == CONTRACT
    assert TASK_VISIBILITY[Role.VOLUNTEER] == CONTRACT


def test_volunteer_shape_holds_no_case_field() -> None:
    assert not CONTRACT & set(ENCRYPTED_FIELDS)
    assert "case_id" not in CONTRACT
    assert "assigned_to" not in CONTRACT


def test_every_role_has_a_row_within_the_known_fields() -> None:
    assert set(TASK_VISIBILITY) == set(Role)
    for role in Role:
        assert TASK_VISIBILITY[role] <= set(TASK_FIELDS), role
    assert TASK_VISIBILITY[Role.ADMIN] == frozenset()
    assert TASK_VISIBILITY[Role.AUDITOR] == frozenset()


@pytest.mark.parametrize("role", list(Role))
def test_redaction_passes_only_the_row(role: Role) -> None:
    full = {name: f"value-of-{name}" for name in TASK_FIELDS}
    # Every case field name too, as if a careless view had added them.
    full.update({name: f"case-{name}" for name in ENCRYPTED_FIELDS})
    shown = redact_task(role, full)
    assert set(shown) == set(TASK_VISIBILITY[role])


def test_volunteer_model_refuses_any_extra_key() -> None:
    row = dict.fromkeys(CONTRACT)
    row.update(id="00000000-0000-0000-0000-000000000001", case_code="HV-1", title="t")
    row.update(instructions="i", status="open")
    VolunteerTask.model_validate(row)
    for extra in ("legal_name", "case_id", "assigned_to", "contacts"):
        with pytest.raises(ValueError, match="Extra inputs"):
            VolunteerTask.model_validate({**row, extra: "x"})
