"""Settings: validated at start, one clear line per bad value, production refuses unsafe modes."""

import pytest

from app.config import Environment, SealMode, SettingsError, load_settings


def test_defaults_match_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HAVEN_DATABASE_URL", "HAVEN_SEAL_MODE", "HAVEN_SECURE_COOKIES", "HAVEN_ENV"):
        monkeypatch.delenv(name, raising=False)
    s = load_settings(_env_file=None)
    assert s.database_url == "sqlite:///./var/haven.db"
    assert s.seal_mode is SealMode.DEV
    assert s.secure_cookies is True


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAVEN_SEAL_MODE", "shamir")
    monkeypatch.setenv("HAVEN_SECURE_COOKIES", "0")
    s = load_settings(_env_file=None)
    assert s.seal_mode is SealMode.SHAMIR
    assert s.secure_cookies is False


def test_production_refuses_dev_seal_mode_and_insecure_cookies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HAVEN_ENV", "production")
    monkeypatch.setenv("HAVEN_SEAL_MODE", "dev")
    monkeypatch.setenv("HAVEN_SECURE_COOKIES", "0")
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None)
    message = str(info.value)
    assert "HAVEN_SEAL_MODE=dev is not allowed in production" in message
    assert "HAVEN_SECURE_COOKIES=0 is not allowed in production" in message


def test_production_accepts_passphrase_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAVEN_ENV", "production")
    monkeypatch.setenv("HAVEN_SEAL_MODE", "passphrase")
    monkeypatch.setenv("HAVEN_INTAKE_TEAM", "Vilnius")
    assert load_settings(_env_file=None).env is Environment.PRODUCTION


def test_each_bad_value_gets_its_own_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HAVEN_SEAL_MODE", "plaintext")
    monkeypatch.setenv("HAVEN_MAX_UPLOAD_BYTES", "-1")
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None)
    lines = str(info.value).splitlines()
    assert len(lines) == 2
    assert any(line.startswith("HAVEN_SEAL_MODE:") for line in lines)
    assert any(line.startswith("HAVEN_MAX_UPLOAD_BYTES:") for line in lines)


def test_production_needs_a_named_intake_team(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAVEN_ENV", "production")
    monkeypatch.setenv("HAVEN_SEAL_MODE", "shamir")
    monkeypatch.delenv("HAVEN_INTAKE_TEAM", raising=False)
    with pytest.raises(SettingsError, match="HAVEN_INTAKE_TEAM must name the team"):
        load_settings(_env_file=None)
