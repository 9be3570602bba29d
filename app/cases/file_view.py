"""What the case file's templates call to show a stored value in the page's language: the
record's dates and times arrive as the API writes them (ISO 8601 text), countries and
languages as codes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from babel.core import Locale, UnknownLocaleError

from app.i18n import LazyText, lazy
from app.i18n.core import current_locale
from app.i18n.countries import country_name


def as_date(value: Any) -> date | None:
    """An ISO date (or the date of an ISO time); None when it is not one."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def as_time(value: Any) -> datetime | None:
    """An ISO time; None when it is not one."""
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def language_name(code: str) -> str:
    """A language's name in the page's language (the code itself when Babel has none)."""
    try:
        names = Locale.parse(current_locale()).languages
    except (UnknownLocaleError, ValueError):
        return code
    return str(names.get(code) or code)


def coming_dates(view: Mapping[str, Any]) -> list[tuple[date, LazyText | str]]:
    """The dates the record holds (hearings, deadlines, the movement plan's destruction),
    in order, each with what it is: from the view, so only what the reader may see."""
    protection = view.get("protection") or {}
    out: list[tuple[date, LazyText | str]] = []
    for hearing in protection.get("hearings") or []:
        if day := as_date(hearing.get("on")):
            out.append((day, lazy("Hearing")))
    for deadline in protection.get("deadlines") or []:
        if day := as_date(deadline.get("on")):
            out.append((day, str(deadline.get("what") or "")))
    movement = view.get("movement") or {}
    if day := as_date(movement.get("destroy_after")):
        out.append((day, lazy("The movement plan is destroyed")))
    return sorted(out, key=lambda item: item[0])


HELPERS: dict[str, Any] = {
    "as_date": as_date,
    "as_time": as_time,
    "country_name": country_name,
    "language_name": language_name,
}
