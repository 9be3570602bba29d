"""Aggregate reports: counts of the plain, reportable columns, suppressed (docs/reports.md)."""
