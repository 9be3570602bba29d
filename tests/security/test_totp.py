"""TOTP: ±1 step, each code accepted once, recovery codes random and stored hashed."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from app.security import totp

NOW = datetime(2026, 11, 25, 12, 0, 10, tzinfo=UTC)


def test_codes_within_one_step_are_accepted() -> None:
    secret = totp.new_secret()
    step = totp.current_step(NOW)
    for offset in (-1, 0, 1):
        code = totp.code_at(secret, step + offset)
        assert totp.match_step(secret, code, now=NOW, last_used_step=None) == step + offset


def test_codes_two_steps_away_are_refused() -> None:
    secret = totp.new_secret()
    step = totp.current_step(NOW)
    for offset in (-2, 2):
        assert (
            totp.match_step(
                secret, totp.code_at(secret, step + offset), now=NOW, last_used_step=None
            )
            is None
        )


def test_a_code_is_accepted_once() -> None:
    secret = totp.new_secret()
    code = totp.code_at(secret, totp.current_step(NOW))
    used = totp.match_step(secret, code, now=NOW, last_used_step=None)
    assert used is not None
    assert totp.match_step(secret, code, now=NOW, last_used_step=used) is None
    # An older code (previous step) is refused too once a newer one was used.
    older = totp.code_at(secret, used - 1)
    assert totp.match_step(secret, older, now=NOW, last_used_step=used) is None
    later = NOW + timedelta(seconds=30)
    fresh = totp.code_at(secret, totp.current_step(later))
    assert totp.match_step(secret, fresh, now=later, last_used_step=used) == used + 1


def test_malformed_codes_are_refused() -> None:
    secret = totp.new_secret()
    for code in ("", "12345", "1234567", "abcdef", "12 34 5", "١٢٣٤٥٦", "１２３４５６"):
        assert totp.match_step(secret, code, now=NOW, last_used_step=None) is None


def test_secret_and_uri() -> None:
    secret = totp.new_secret()
    assert len(secret) == 32
    uri = totp.provisioning_uri(secret, "a.person@example.invalid")
    assert uri.startswith("otpauth://totp/Haven:a.person%40example.invalid?")  # whose code
    assert f"secret={secret}" in uri
    assert totp.qr_svg_data_uri(uri).startswith("data:image/svg+xml")


def test_recovery_codes_are_random_and_hashed() -> None:
    codes = totp.new_recovery_codes()
    assert len(codes) == 10
    assert len(set(codes)) == 10
    for code in codes:
        assert len(totp.normalise_recovery_code(code)) == 16
        assert totp.looks_like_recovery_code(code)
        assert totp.hash_recovery_code(code) == totp.hash_recovery_code(code.upper())
        assert code not in totp.hash_recovery_code(code)


def test_a_code_typed_as_the_app_shows_it_is_accepted() -> None:
    """Authenticator apps show "123 456"; a person types it so, or with spaces around."""
    secret = totp.new_secret()
    step = totp.current_step(NOW)
    code = totp.code_at(secret, step)
    for typed in (f"{code[:3]} {code[3:]}", f" {code} ", " ".join(code)):
        assert totp.match_step(secret, typed, now=NOW, last_used_step=None) == step, typed


def test_a_recovery_code_is_sixteen_drawn_letters_in_four_groups(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each code is sixteen letters drawn one by one, shown as four groups of four: every
    drawn letter appears once, in order (no group repeats another's letters, which would
    leave fewer random bits than the code seems to carry)."""
    drawn = itertools.cycle("abcdefghjkmnpqrstuvwxyz23456789")
    monkeypatch.setattr(totp.secrets, "choice", lambda alphabet: next(drawn))
    codes = totp.new_recovery_codes()
    assert codes[:2] == ["abcd-efgh-jkmn-pqrs", "tuvw-xyz2-3456-789a"]
