"""Case input validation: every bad value is refused naming its field, never echoing it."""

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from app.cases.schemas import CaseCreate, CaseUpdate
from app.cases.values import Consent, Contact
from app.errors import _field_errors

TOMORROW_AND_A_DAY = (date.today() + timedelta(days=2)).isoformat()  # noqa: DTZ011 - any zone


def _fields(exc: ValidationError) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in exc.errors()}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"citizenship": "XX"}, "citizenship"),
        ({"current_country": "Russia"}, "current_country"),
        ({"date_of_birth": "1990-02-30"}, "date_of_birth"),
        ({"date_of_birth": TOMORROW_AND_A_DAY}, "date_of_birth"),
        ({"date_of_birth": "1850-01-01"}, "date_of_birth"),
        ({"left_service_on": "2999-01-01"}, "left_service_on"),
        ({"situation": "hiding"}, "situation"),
        ({"needs": ["legal", "teleport"]}, "needs.1"),
        ({"risk_level": "extreme"}, "risk_level"),
        ({"legal_name": "x" * 201}, "legal_name"),
        ({"legal_name": "   "}, "legal_name"),
        ({"languages": ["Russian"]}, "languages.0"),
        ({"service_status": "general"}, "service_status"),
        ({"wanted": {"status": "maybe"}}, "wanted.status"),
        ({"documents_held": [{"type": "library_card"}]}, "documents_held.0.type"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"protection": {"asylum_country": "ZZ"}}, "protection.asylum_country"),
    ],
)
def test_bad_values_name_their_field(payload: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        CaseCreate.model_validate(payload)
    assert field in _fields(info.value)


def test_lowercase_country_codes_are_normalised() -> None:
    assert CaseCreate(citizenship="ru").citizenship == "RU"  # type: ignore[arg-type]


def test_duplicate_needs_are_refused() -> None:
    with pytest.raises(ValidationError, match="each need once"):
        CaseCreate.model_validate({"needs": ["legal", "legal"]})


@pytest.mark.parametrize(
    ("channel", "value", "ok"),
    [
        ("phone", "+7 916 123-45-67", True),
        ("phone", "call me", False),
        ("email", "someone@example.org", True),
        ("email", "someone@", False),
        ("telegram", "@synthetic_user", True),
        ("telegram", "@ab", False),
        ("signal", "synthetic.42", True),
        ("signal", "+375291234567", True),
        ("signal", "no", False),
        ("other", "via the Tbilisi volunteer", True),
    ],
)
def test_contact_value_must_fit_its_channel(channel: str, value: str, ok: bool) -> None:
    if ok:
        Contact.model_validate({"channel": channel, "value": value})
    else:
        with pytest.raises(ValidationError, match=f"not a valid {channel}"):
            Contact.model_validate({"channel": channel, "value": value})


def test_share_consent_needs_a_partner_and_aware_times() -> None:
    now = datetime.now(UTC)
    with pytest.raises(ValidationError, match="partner is required"):
        Consent.model_validate(
            {"purpose": "share_with_partner", "legal_basis": "consent", "given_at": now}
        )
    with pytest.raises(ValidationError, match="timezone"):
        Consent.model_validate(
            {"purpose": "store", "legal_basis": "consent", "given_at": "2026-01-01T10:00:00"}
        )
    with pytest.raises(ValidationError, match="before given_at"):
        Consent.model_validate(
            {
                "purpose": "store",
                "legal_basis": "consent",
                "given_at": now,
                "withdrawn_at": now - timedelta(days=1),
            }
        )


def test_update_needs_a_version_and_reports_only_sent_fields() -> None:
    with pytest.raises(ValidationError) as info:
        CaseUpdate.model_validate({"risk_level": "high"})
    assert "version" in _fields(info.value)
    update = CaseUpdate.model_validate({"version": 3, "risk_level": "high", "unit": None})
    assert update.changes() == {"risk_level": "high", "unit": None}


def test_validation_error_does_not_echo_the_value_through_the_api_shape() -> None:
    with pytest.raises(ValidationError) as info:
        CaseCreate.model_validate({"contacts": [{"channel": "phone", "value": "Canary Name"}]})
    rendered = str(_field_errors(info.value.errors()))
    assert "Canary" not in rendered
