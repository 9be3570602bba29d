"""Numbers, dates and times written the way the page's language writes them (Babel).

Times are shown in UTC, and say so ("6 дек. 2026 г., 14:05 UTC"): staff work across time
zones and accounts hold no zone yet, so a time without its zone would be misread. The
`zone` argument is where a per-user zone will come in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo

from babel.core import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from app.i18n.core import current_locale


def number(value: int | float) -> str:
    """A number with the locale's digit grouping and decimal sign (5,000 / 5 000)."""
    return format_decimal(value, locale=current_locale())


def date_text(value: date | datetime, style: str = "medium") -> str:
    """A calendar date: style is Babel's short, medium, long or full."""
    return format_date(value, format=style, locale=current_locale())


def _zone(name: str) -> tzinfo:
    return UTC if name == "UTC" else ZoneInfo(name)


def datetime_text(value: datetime, zone: str = "UTC") -> str:
    """A moment as date, hours and minutes in zone, naming the zone (a naive value is UTC)."""
    moment = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(_zone(zone))
    locale = Locale.parse(current_locale())
    day = format_date(moment, format="medium", locale=locale)
    clock = format_time(moment, format="short", locale=locale)
    pattern = str(locale.datetime_formats["medium"])  # "{1}, {0}": date, then time
    return f"{pattern.format(clock, day)} {zone}"


FILTERS = {"number": number, "date": date_text, "datetime": datetime_text}
