"""The case file's sections: which fields of the record each one holds, and how a section's
form turns into the API's values and back.

A section is edited as a whole: its form sends every field it holds (an empty one clears the
field), validated by the API's own schema (`CaseFields`), so the page and `PATCH
/api/v1/cases/{id}` accept exactly the same values. Lists are one item per line (aliases,
languages, risk flags) or rows of inputs (contacts, documents held, hearings, deadlines),
with a few empty rows to add new ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.cases.languages import language_codes
from app.i18n import LazyText, lazy

# Empty rows offered below the filled ones, to add items without JavaScript.
SPARE_ROWS = 2


@dataclass(frozen=True)
class Rows:
    """A list of objects edited as rows of inputs: `name.<i>.<part>`."""

    parts: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    """One part of the record, shown together and edited with one form."""

    key: str
    title: LazyText
    fields: tuple[str, ...]


SECTIONS: tuple[Section, ...] = (
    Section(
        "person",
        lazy("The person"),
        ("legal_name", "aliases", "date_of_birth", "citizenship", "languages", "family"),
    ),
    Section(
        "reach",
        lazy("Where they are and how to reach them"),
        (
            "current_country",
            "current_city",
            "contacts",
        ),
    ),
    Section(
        "service",
        lazy("Military situation"),
        (
            "situation",
            "service_status",
            "unit",
            "left_service_on",
        ),
    ),
    Section(
        "legal",
        lazy("Legal exposure and documents"),
        (
            "criminal_case",
            "wanted",
            "documents_held",
        ),
    ),
    Section(
        "needs",
        lazy("Needs, risk and vetting"),
        (
            "needs",
            "risk_level",
            "risk_flags",
            "vetting",
        ),
    ),
    Section("protection", lazy("Protection"), ("protection",)),
    Section("movement", lazy("Movement plan"), ("movement",)),
    Section("notes", lazy("Interview notes"), ("intake_notes",)),
    Section("outcome", lazy("Outcome"), ("outcome_kind", "outcome", "closing_note")),
)
BY_KEY: dict[str, Section] = {s.key: s for s in SECTIONS}

# Where a field is edited (the gate's reasons link there).
SECTION_OF: dict[str, str] = {f: s.key for s in SECTIONS for f in s.fields}

# How each field is typed into a form.
LINES = frozenset({"aliases", "languages", "risk_flags"})
TEXTS = frozenset(
    {"legal_name", "current_city", "unit", "family", "intake_notes", "outcome", "closing_note"}
)
CHOICES = frozenset(
    {"citizenship", "current_country", "situation", "service_status", "risk_level", "outcome_kind"}
)
DATES = frozenset({"date_of_birth", "left_service_on"})
OBJECTS: dict[str, tuple[str, ...]] = {
    "criminal_case": ("article", "status", "notes"),
    "wanted": ("status", "notes"),
    "vetting": ("status", "by", "notes"),
    "movement": ("plan", "destroy_after"),
}
ROWS: dict[str, Rows] = {
    "contacts": Rows(("channel", "value")),
    "documents_held": Rows(("type", "expires_on", "notes")),
    "protection.hearings": Rows(("on", "place", "notes")),
    "protection.deadlines": Rows(("on", "what")),
}
PROTECTION = ("visa", "asylum_country", "lawyer", "decision")
# A row of these lists counts as written when one of these parts is filled (a select
# alone, left at its first option, adds nothing).
_ROW_TEXT: dict[str, tuple[str, ...]] = {
    "contacts": ("value",),
    "documents_held": ("type", "expires_on", "notes"),
    "protection.hearings": ("on", "place", "notes"),
    "protection.deadlines": ("on", "what"),
}
# Where the error of a whole row or object is shown: beside the input that usually causes it.
_ANCHORS = (".value", ".plan", ".on", ".type", ".article", ".status")
_MINUTE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$")


def row_count(values: Mapping[str, str], name: str, stored: int) -> int:
    """How many rows of a list to show: what is stored or was typed, and spare ones."""
    typed = {
        int(m.group(1))
        for key in values
        if (m := re.match(re.escape(name) + r"\.(\d+)\.", key)) is not None
    }
    return max(stored, max(typed, default=-1) + 1) + SPARE_ROWS


def input_names(section: Section, values: Mapping[str, str], view: Mapping[str, Any]) -> list[str]:
    """Every input name of the section's form (row lists with their spare rows)."""
    out: list[str] = []
    for name in section.fields:
        if name in OBJECTS:
            out += [f"{name}.{p}" for p in OBJECTS[name]]
        elif name == "protection":
            out += [f"protection.{p}" for p in PROTECTION]
            stored = view.get("protection") or {}
            for key in ("hearings", "deadlines"):
                rows = ROWS[f"protection.{key}"]
                n = row_count(values, f"protection.{key}", len(stored.get(key) or []))
                out += [f"protection.{key}.{i}.{p}" for i in range(n) for p in rows.parts]
        elif name in ROWS:
            n = row_count(values, name, len(view.get(name) or []))
            out += [f"{name}.{i}.{p}" for i in range(n) for p in ROWS[name].parts]
        else:
            out.append(name)
    return out


# --- from the record to the form ------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _minute(value: Any) -> str:
    """A stored time as a datetime-local input shows it (UTC, to the minute; to the second
    when it has seconds, so saving the form unchanged changes nothing)."""
    text = _text(value)
    if len(text) >= 19 and text[16:19] not in ("", ":00"):
        return text[:19]
    return text[:16] if len(text) >= 16 else text


def form_values(section: Section, view: Mapping[str, Any]) -> dict[str, str]:
    """The section's inputs filled in from the case as the reader sees it."""
    out: dict[str, str] = {}
    for name in section.fields:
        value = view.get(name)
        if name in LINES:
            out[name] = "\n".join(value or [])
        elif name in OBJECTS:
            obj = value or {}
            for part in OBJECTS[name]:
                shown = obj.get(part)
                out[f"{name}.{part}"] = _minute(shown) if part == "destroy_after" else _text(shown)
        elif name == "protection":
            obj = value or {}
            for part in PROTECTION:
                out[f"protection.{part}"] = _text(obj.get(part))
            for key in ("hearings", "deadlines"):
                out.update(_rows(f"protection.{key}", obj.get(key) or []))
        elif name in ROWS:
            out.update(_rows(name, value or []))
        elif name == "needs":
            continue  # check boxes: read from `checked`
        else:
            out[name] = _text(value)
    return out


def _rows(name: str, items: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    return {
        f"{name}.{i}.{part}": _text(item.get(part))
        for i, item in enumerate(items)
        for part in ROWS[name].parts
    }


# --- from the form to the API's values ------------------------------------------------


def _clean(values: Mapping[str, str], name: str) -> str | None:
    value = values.get(name, "").strip()
    return value or None


def _object(values: Mapping[str, str], name: str, parts: Sequence[str]) -> dict[str, Any] | None:
    obj = {p: _clean(values, f"{name}.{p}") for p in parts}
    if name == "movement" and obj["destroy_after"] and _MINUTE.match(obj["destroy_after"]):
        typed = obj["destroy_after"].replace(" ", "T")
        obj["destroy_after"] = typed + (":00" if len(typed) == 16 else "") + "+00:00"
    if not any(obj.values()):
        return None
    return {k: v for k, v in obj.items() if v is not None}


def _row_list(values: Mapping[str, str], name: str) -> list[dict[str, Any]]:
    parts = ROWS[name].parts
    indexes = sorted(
        {int(m.group(1)) for key in values if (m := re.match(re.escape(name) + r"\.(\d+)\.", key))}
    )
    out = []
    for i in indexes:
        row = {p: _clean(values, f"{name}.{i}.{p}") for p in parts}
        if any(row[p] for p in _ROW_TEXT[name]):
            out.append({k: v for k, v in row.items() if v is not None})
    return out


def payload(section: Section, values: Mapping[str, str], checked: Sequence[str]) -> dict[str, Any]:
    """The values the section's form sends, as `PATCH` would take them: every field of the
    section, an empty one as null (cleared)."""
    out: dict[str, Any] = {}
    for name in section.fields:
        if name == "languages":  # codes or names, as the intake form reads them
            out[name] = language_codes(values.get(name, "")) or None
        elif name in LINES:
            lines = [line.strip() for line in values.get(name, "").splitlines()]
            out[name] = [line for line in lines if line] or None
        elif name in OBJECTS:
            out[name] = _object(values, name, OBJECTS[name])
        elif name == "protection":
            obj = _object(values, "protection", PROTECTION) or {}
            for key in ("hearings", "deadlines"):
                if rows := _row_list(values, f"protection.{key}"):
                    obj[key] = rows
            out[name] = obj or None
        elif name in ROWS:
            out[name] = _row_list(values, name) or None
        elif name == "needs":
            out[name] = list(checked)
        else:
            out[name] = _clean(values, name)
    return out


def error_field(inputs: Sequence[str]) -> Callable[[tuple[int | str, ...]], str]:
    """Maps a validation error's location to the input it is shown beside.

    The location is the API's (`contacts`, 0, `value`); rows are numbered as the payload
    made them, which skips empty rows, so the payload's index is mapped back to the form's."""
    names = list(inputs)

    def field_of(loc: tuple[int | str, ...]) -> str:
        name = ".".join(str(p) for p in loc)
        while name:
            if name in names:
                return name
            below = [i for i in names if i.startswith(name + ".")]
            if below:
                return next((i for i in below if i.endswith(_ANCHORS)), below[0])
            name = name.rpartition(".")[0]
        return "form"

    return field_of


def renumber(values: Mapping[str, str]) -> dict[str, str]:
    """The typed values with every row list's filled rows numbered 0, 1, 2... as the payload
    numbers them, so an error's location names the row it is shown beside."""
    out = {k: v for k, v in values.items() if not _row_key(k)}
    for name in ROWS:
        prefix = re.escape(name) + r"\.(\d+)\.(\w+)$"
        rows: dict[int, dict[str, str]] = {}
        for key, value in values.items():
            if m := re.match(prefix, key):
                rows.setdefault(int(m.group(1)), {})[m.group(2)] = value
        kept = [
            r for _, r in sorted(rows.items()) if any(r.get(p, "").strip() for p in _ROW_TEXT[name])
        ]
        for i, row in enumerate(kept):
            out.update({f"{name}.{i}.{p}": v for p, v in row.items()})
    return out


def _row_key(key: str) -> bool:
    return any(re.match(re.escape(name) + r"\.\d+\.", key) for name in ROWS)
