"""Settings from HAVEN_* environment variables, validated once at start."""

from __future__ import annotations

import enum
import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Environment(enum.StrEnum):
    """Where the service runs; production refuses unsafe settings."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class SealMode(enum.StrEnum):
    """How the root key is protected at rest."""

    DEV = "dev"
    PASSPHRASE = "passphrase"
    SHAMIR = "shamir"


class Settings(BaseSettings):
    """Every setting the service reads. Secrets never live here: keys come from the keyring."""

    model_config = SettingsConfigDict(
        env_prefix="HAVEN_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite:///./var/haven.db"
    blob_dir: Path = Path("./var/blobs")
    seal_mode: SealMode = SealMode.DEV
    key_file: Path = Path("./var/dev-root.key")
    secure_cookies: bool = True
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    # Bodies of every other request (JSON, forms) are refused (413) past this size.
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    upload_timeout_seconds: float = Field(default=900, gt=0)
    # At start, blobs a crash left behind (a cut-off upload, a blob whose row never committed)
    # are removed once older than this: longer than any upload may take, so a blob another
    # process is writing right now is never touched.
    blob_sweep_grace_seconds: float = Field(default=960, ge=0)
    session_idle_minutes: int = Field(default=30, gt=0, le=24 * 60)
    session_absolute_hours: int = Field(default=12, gt=0, le=7 * 24)
    api_token_hours: int = Field(default=8, gt=0, le=30 * 24)
    # Closed cases are crypto-shredded this many months after closure (unless on legal hold).
    retention_months: int = Field(default=24, gt=0)
    # How often the server looks for movement plans past their destroy_after (0: never; then
    # run `haven retention purge --execute` from cron instead).
    movement_purge_poll_seconds: float = Field(default=60.0, ge=0)
    # Several processes on one database: how often each looks for a seal made by another
    # (it then seals itself too); 0 turns it off (docs/operations.md, "Several processes").
    seal_follow_poll_seconds: float = Field(default=2.0, ge=0)
    # The team public self-referrals land in (its coordinators triage them); default: the
    # first team by name.
    intake_team: str | None = None
    # Public self-referral throttles: per client address, and for everyone together.
    request_limit_per_address: int = Field(default=5, gt=0)
    request_limit_global: int = Field(default=200, gt=0)
    request_window_minutes: int = Field(default=60, gt=0)
    report_min_cell: int = Field(default=5, ge=1)
    # The case and task lists count their rows up to this many; beyond, `total` is this and
    # `total_capped` true ("at least"): a count reads every row it counts (app/pagination.py).
    list_count_cap: int = Field(default=10_000, ge=1)
    # Proxies whose X-Forwarded-For is believed (addresses or CIDRs, comma-separated). Empty:
    # the direct peer is the client, so a header sent by anyone changes nothing.
    trusted_proxies: Annotated[tuple[IPNetwork, ...], NoDecode] = ()
    # Audit log: the origin line of signed checkpoints (a schema-less URL naming this log,
    # also the signing key's name), and when checkpoints are taken automatically.
    audit_origin: str = Field(default="haven.localhost/audit", pattern=r"^[^\s+]+$")
    audit_checkpoint_every: int = Field(default=1000, gt=0)
    audit_checkpoint_minutes: int = Field(default=60, gt=0)
    audit_checkpoint_poll_seconds: float = Field(default=5.0, ge=0)
    # How often each server process's sequencer gives committed entries their positions in
    # the tree (app/audit/tree.py); 0 turns it off (then `haven audit sequence` does it).
    audit_sequence_poll_seconds: float = Field(default=0.1, ge=0)
    # Audit alerts: one account reading many cases, and bursts of denied access.
    audit_alert_reads: int = Field(default=40, gt=1)
    audit_alert_reads_minutes: int = Field(default=10, gt=0)
    audit_alert_denied: int = Field(default=5, gt=1)
    audit_alert_denied_minutes: int = Field(default=5, gt=0)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        scheme = value.split("://", 1)[0].lower() if "://" in value else ""
        if scheme == "postgres":
            raise ValueError("write postgresql://…, not postgres://…")
        if scheme not in ("sqlite", "postgresql", "postgresql+psycopg"):
            raise ValueError(
                "expected sqlite:///path/to/haven.db or postgresql://user@host/database"
            )
        if scheme == "sqlite" and value.rstrip("/") in ("sqlite:", "sqlite:/"):
            raise ValueError("a SQLite URL needs a file: sqlite:///./var/haven.db")
        if scheme == "sqlite" and ":memory:" in value:
            raise ValueError("a SQLite URL needs a file: sqlite:///./var/haven.db")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            items = [item.strip() for item in value.split(",") if item.strip()]
            try:
                return tuple(ipaddress.ip_network(item, strict=False) for item in items)
            except ValueError as exc:
                raise ValueError(f"not an address or CIDR list ({exc})") from None
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env is Environment.PRODUCTION:
            problems = []
            if self.seal_mode is SealMode.DEV:
                problems.append(
                    "HAVEN_SEAL_MODE=dev is not allowed in production (use passphrase or shamir)"
                )
            if not self.secure_cookies:
                problems.append("HAVEN_SECURE_COOKIES=0 is not allowed in production")
            if not self.intake_team:
                problems.append(
                    "HAVEN_INTAKE_TEAM must name the team that receives public requests "
                    "in production (else a newly created team could capture them)"
                )
            if problems:
                raise ValueError("; ".join(problems))
        return self


class SettingsError(Exception):
    """Raised with one readable line per bad setting."""


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, turning validation errors into readable lines."""
    # HAVEN_SECRETS_DIR: a folder of files named like the settings (haven_database_url...),
    # e.g. /run/secrets under compose, so a password never sits in the environment.
    secrets_dir = os.environ.get("HAVEN_SECRETS_DIR")
    if secrets_dir:
        overrides.setdefault("_secrets_dir", secrets_dir)
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = "HAVEN_" + "_".join(str(p) for p in err["loc"]).upper() if err["loc"] else ""
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{name}: {msg}" if name else msg)
        raise SettingsError("\n".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
