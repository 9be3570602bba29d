"""The pages of each area, one module each: a module defines `PAGES` (its PageVisits) and
may define `NOT_PAGES` (its GET routes that render no page, with the reason). Add a new
area's module to AREAS."""

from __future__ import annotations

from types import ModuleType

from tests.pages.visits import admin, attachments, case_file, coordinator, intake, reports

AREAS: tuple[ModuleType, ...] = (admin, attachments, case_file, coordinator, intake, reports)
