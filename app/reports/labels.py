"""How the reports read on a page, in the page's language: table titles and the names of the
rows that are not vocabulary values (other, unknown, none, self-referral)."""

from __future__ import annotations

from app.i18n import LazyText, lazy

TITLES: dict[str, LazyText] = {
    "stage": lazy("Cases by stage"),
    "citizenship": lazy("Cases by citizenship"),
    "situation": lazy("Cases by situation"),
    "current_country": lazy("Cases by country they are in now"),
    "need": lazy("Cases by need"),
    "source": lazy("How the cases came in"),
    "intake_month": lazy("Cases taken in, by month"),
    "closure_month": lazy("Cases closed, by month"),
    "outcome_kind": lazy("How closed cases ended"),
    "citizenship_by_situation": lazy("Citizenship and situation"),
    "situation_by_stage": lazy("Situation and stage"),
    "time_in_stage": lazy("Time in each stage"),
}

# What each table's rows are, as a column heading.
DIMENSIONS: dict[str, LazyText] = {
    "stage": lazy("Stage"),
    "citizenship": lazy("Citizenship"),
    "situation": lazy("Situation"),
    "current_country": lazy("Country now"),
    "need": lazy("Need"),
    "source": lazy("Came in through"),
    "intake_month": lazy("Month"),
    "closure_month": lazy("Month"),
    "outcome_kind": lazy("Outcome"),
}

NOTES: dict[str, LazyText] = {
    "need": lazy("A case counts once for each need it has, so these do not add up to the total."),
    "closure_month": lazy("Cases taken in during the period that are closed now."),
    "outcome_kind": lazy("Cases taken in during the period that are closed now."),
    "time_in_stage": lazy(
        "From the stage history: only stays that have ended. Median and 90th percentile "
        "are shown when there are enough stays."
    ),
}

ROWS: dict[str, LazyText] = {
    "other": lazy("Other countries"),
    "unknown": lazy("Not recorded"),
    "none": lazy("No need recorded"),
    "staff": lazy("Through staff"),
    "self_referral": lazy("Self-referral form"),
}
