"""The intake interview as a page form: its fields in the sections of the record, how what
was typed becomes the API's CaseCreate, and which form field each of the schema's errors
belongs beside.

A form field is flat (`contact2_value`, `criminal_article`) so its id is a plain CSS and
HTML id; lists are one item per line (aliases, risk flags) or numbered rows (contacts,
documents). Empty fields are left out, so an interview can start with little.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.cases.labels import FIELDS
from app.cases.languages import language_codes
from app.cases.schemas import CaseCreate, DuplicatesIn
from app.cases.vocab import ConsentPurpose, ContactChannel
from app.forms import validate
from app.i18n import LazyText, lazy

CONTACT_ROWS = (1, 2, 3)
DOCUMENT_ROWS = (1, 2)
TEXT_FIELDS: tuple[str, ...] = (
    "legal_name",
    "aliases",
    "date_of_birth",
    "citizenship",
    "languages",
    "family",
    "current_country",
    "current_city",
    *(f"contact{i}_{part}" for i in CONTACT_ROWS for part in ("channel", "value")),
    "situation",
    "service_status",
    "unit",
    "left_service_on",
    "criminal_article",
    "criminal_status",
    "criminal_notes",
    "wanted_status",
    "wanted_notes",
    *(f"document{i}_{part}" for i in DOCUMENT_ROWS for part in ("type", "expires")),
    "risk_level",
    "risk_flags",
    "consent_basis",
    "intake_notes",
    "team_id",
)
LIST_FIELDS = ("needs",)

CONTACT = lazy("Check this contact: a phone number with its country code, or a username.")
LANGUAGES = lazy("Write each language as a code (ru) or a name (Russian), separated by commas.")
CONSENT = lazy("Record how the person agreed that we keep this record. Without it, do not save it.")
TEAM = lazy("Choose the team this case belongs to.")
DUPLICATE_TERMS = lazy(
    "To check, give the legal name with the date of birth, or a phone, or a username."
)

# How the error summary at the top of the form names each field (the same words as the
# field's own label).
LABELS: dict[str, LazyText] = {
    **{
        name: FIELDS[name]
        for name in (
            "legal_name",
            "aliases",
            "date_of_birth",
            "citizenship",
            "languages",
            "family",
            "current_country",
            "current_city",
            "situation",
            "service_status",
            "unit",
            "left_service_on",
            "needs",
            "risk_level",
            "risk_flags",
            "intake_notes",
        )
    },
    **{
        f"contact{i}_{p}": lazy("Contact %(n)s", n=i)
        for i in CONTACT_ROWS
        for p in ("channel", "value")
    },
    **{
        f"document{i}_{p}": lazy("Document %(n)s", n=i)
        for i in DOCUMENT_ROWS
        for p in ("type", "expires")
    },
    "criminal_article": lazy("Criminal case: article"),
    "criminal_status": lazy("Criminal case: where it stands"),
    "criminal_notes": lazy("Criminal case: notes"),
    "wanted_status": FIELDS["wanted"],
    "wanted_notes": lazy("Wanted list: notes"),
    "consent_basis": lazy("Basis for keeping this record"),
    "team_id": FIELDS["team"],
}

# Direct form field of a top-level schema field, and of a nested one.
_NESTED = {
    ("criminal_case", "article"): "criminal_article",
    ("criminal_case", "status"): "criminal_status",
    ("criminal_case", "notes"): "criminal_notes",
    ("wanted", "status"): "wanted_status",
    ("wanted", "notes"): "wanted_notes",
}
_TOP = {
    "criminal_case": "criminal_article",
    "wanted": "wanted_status",
    "consents": "consent_basis",
    "documents_held": "document1_type",
    "contacts": "contact1_value",
}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _nested(values: Mapping[str, str], parts: Mapping[str, str]) -> dict[str, str] | None:
    """A nested value from its form fields, or None when all are empty."""
    found = {key: values[name] for key, name in parts.items() if values.get(name, "").strip()}
    return found or None


class IntakePayload:
    """CaseCreate's input built from a form, remembering which row each list item came from
    (so an error on the second contact sits beside the second contact's field)."""

    def __init__(
        self, values: Mapping[str, str], needs: list[str], *, actor_id: str, now: datetime
    ) -> None:
        self.contact_rows = [i for i in CONTACT_ROWS if values.get(f"contact{i}_value", "").strip()]
        self.document_rows = [i for i in DOCUMENT_ROWS if values.get(f"document{i}_type")]
        self.payload = self._build(values, needs, actor_id=actor_id, now=now)

    def _build(
        self, values: Mapping[str, str], needs: list[str], *, actor_id: str, now: datetime
    ) -> dict[str, Any]:
        v = {k: s.strip() for k, s in values.items()}
        out: dict[str, Any] = {}
        for name in ("legal_name", "date_of_birth", "citizenship", "current_country",
                     "current_city", "family", "situation", "service_status", "unit",
                     "left_service_on", "risk_level", "intake_notes", "team_id"):  # fmt: skip
            if v.get(name):
                out[name] = v[name]
        for name in ("aliases", "risk_flags"):
            if v.get(name):
                out[name] = _lines(values[name])
        if v.get("languages"):
            out["languages"] = language_codes(v["languages"])
        if needs:
            out["needs"] = needs
        out["contacts"] = [
            {"channel": v.get(f"contact{i}_channel") or "other", "value": v[f"contact{i}_value"]}
            for i in self.contact_rows
        ]
        out["documents_held"] = [
            {"type": v[f"document{i}_type"], "expires_on": v.get(f"document{i}_expires") or None}
            for i in self.document_rows
        ]
        crime = _nested(v, {"article": "criminal_article", "status": "criminal_status",
                            "notes": "criminal_notes"})  # fmt: skip
        if crime:
            out["criminal_case"] = crime
        wanted = _nested(v, {"status": "wanted_status", "notes": "wanted_notes"})
        if wanted:
            out["wanted"] = wanted
        if v.get("consent_basis"):
            out["consents"] = [
                {
                    "purpose": ConsentPurpose.STORE.value,
                    "legal_basis": v["consent_basis"],
                    "given_at": now.isoformat(),
                    "recorded_by": actor_id,
                    "recorded_at": now.isoformat(),
                }
            ]
        return {k: val for k, val in out.items() if val != []}

    def field_of(self, loc: tuple[int | str, ...]) -> str:
        """The form field beside which an error at loc is shown."""
        if not loc:
            return "form"
        head = str(loc[0])
        if head == "contacts" and len(loc) > 1 and isinstance(loc[1], int):
            row = self.contact_rows[loc[1]]
            return f"contact{row}_channel" if "channel" in loc[2:] else f"contact{row}_value"
        if head == "documents_held" and len(loc) > 1 and isinstance(loc[1], int):
            row = self.document_rows[loc[1]]
            return f"document{row}_expires" if "expires_on" in loc[2:] else f"document{row}_type"
        if len(loc) > 1 and (head, str(loc[1])) in _NESTED:
            return _NESTED[(head, str(loc[1]))]
        return _TOP.get(head, head)

    def validate(self) -> tuple[CaseCreate | None, dict[str, LazyText]]:
        """The parsed case, or the errors keyed by form field."""
        messages: dict[str, dict[str, LazyText]] = {
            f"contact{i}_value": {"value_error": CONTACT} for i in CONTACT_ROWS
        }
        messages["languages"] = {"string_pattern_mismatch": LANGUAGES}
        parsed, errors = validate(CaseCreate, self.payload, field_of=self.field_of,
                                  messages=messages)  # fmt: skip
        if "consents" not in self.payload:
            errors.setdefault("consent_basis", CONSENT)
            parsed = None
        return parsed, errors


def duplicate_probe(values: Mapping[str, str]) -> tuple[DuplicatesIn | None, LazyText | None]:
    """The duplicate check's terms from the form: the legal name and birth date, and the
    first phone and the first username among the contacts."""
    phone = handle = None
    for i in CONTACT_ROWS:
        value = values.get(f"contact{i}_value", "").strip()
        if not value:
            continue
        channel = values.get(f"contact{i}_channel", "")
        is_phone = channel == ContactChannel.PHONE.value or value.lstrip("+")[:1].isdigit()
        if is_phone:
            phone = phone or value
        elif channel != ContactChannel.EMAIL.value:
            handle = handle or value
    payload = {
        "legal_name": values.get("legal_name", "").strip() or None,
        "date_of_birth": values.get("date_of_birth", "").strip() or None,
        "phone": phone,
        "handle": handle,
    }
    parsed, _ = validate(DuplicatesIn, payload)
    return (parsed, None) if parsed is not None else (None, DUPLICATE_TERMS)
