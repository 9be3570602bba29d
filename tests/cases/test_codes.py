"""Case codes: random, well-formed, and forgiving of look-alike letters when typed."""

from datetime import UTC, datetime

from app.cases.codes import CODE_RE, new_case_code, normalise_code


def test_codes_are_well_formed_and_random() -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    codes = {new_case_code(now) for _ in range(500)}
    assert len(codes) == 500
    assert all(CODE_RE.match(c) and c.startswith("HV-2026-") for c in codes)


def test_typed_codes_are_normalised() -> None:
    assert normalise_code(" hv-2026-o1lk2z ") == "HV-2026-011K2Z"
    assert CODE_RE.match(normalise_code("hv-2026-o1lk2z"))
