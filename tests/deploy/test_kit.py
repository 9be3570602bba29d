"""The deploy kit (deploy/) checked with the tools this machine has: `docker compose config`
where compose is installed, else a structural check of compose.yaml; `systemd-analyze
verify` on the units; `caddy validate` on the Caddyfile (Debian's caddy, `make caddy`), else a
structural check that says so; the Dockerfile parsed for a non-root user and no secrets."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|PRIVATE|_KEY\b|CREDENTIAL", re.IGNORECASE)
URL_WITH_PASSWORD = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


def holds_a_secret(name: str) -> bool:
    """A variable named like a secret (a *_FILE or *_DIR one only points at where it is)."""
    return bool(SECRET_NAME.search(name)) and not name.endswith(("_FILE", "_DIR"))


# --- Dockerfile --------------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        joined.append(current + line)
        current = ""
    if current:
        joined.append(current)
    out = []
    for line in joined:
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The instructions after the last FROM (the image that ships)."""
    starts = [i for i, (word, _) in enumerate(instructions) if word == "FROM"]
    assert starts, "no FROM"
    return instructions[starts[-1] :]


def test_dockerfile_runs_as_an_unprivileged_user_with_no_compiler_and_no_secret() -> None:
    instructions = dockerfile_instructions((DEPLOY / "Dockerfile").read_text())
    known = {"FROM", "RUN", "COPY", "ENV", "ARG", "WORKDIR", "USER", "EXPOSE", "HEALTHCHECK"}
    known |= {"ENTRYPOINT", "CMD", "LABEL"}
    assert {word for word, _ in instructions} <= known
    final = final_stage(instructions)
    users = [args for word, args in final if word == "USER"]
    assert users, "the final stage names no USER: it would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), users
    # Nothing after USER switches back to root.
    assert all(word != "USER" or args.split(":")[0] not in ("root", "0") for word, args in final)
    assert any(word == "HEALTHCHECK" for word, _ in final)
    runs = " ".join(args for word, args in final if word == "RUN")
    for compiler in ("gcc", "g++", "clang", "build-essential", "cargo", "rustc", "make "):
        assert compiler not in runs, f"the final image installs {compiler.strip()}"
    assert "apt-get install" not in runs
    # The build installs from the hash-checked lock, binary wheels only.
    build_runs = " ".join(args for word, args in instructions if word == "RUN")
    assert "--require-hashes" in build_runs
    assert "--only-binary=:all:" in build_runs
    for word, args in instructions:
        if word in ("ENV", "ARG", "LABEL"):
            for name in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", args) or [args.split()[0]]:
                assert not holds_a_secret(name), f"{word} {name}: a secret in the image"
            assert not URL_WITH_PASSWORD.search(args), f"{word}: a URL with a password"


def test_the_dockerfile_check_catches_a_root_image() -> None:
    bad = 'FROM python:3.11-slim AS build\nUSER app\nFROM python:3.11-slim\nCMD ["haven"]\n'
    final = final_stage(dockerfile_instructions(bad))
    assert not [args for word, args in final if word == "USER"]


# --- compose.yaml ------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def docker_compose_available() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    probe = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, check=False
    )
    return probe.returncode == 0


def test_compose_validates_with_docker_compose_where_present(tmp_path: Path) -> None:
    if not docker_compose_available():
        pytest.skip("`docker compose` is not installed here: the structural checks below stand in")
    result = subprocess.run(
        [
            str(shutil.which("docker")),
            "compose",
            "-f",
            str(DEPLOY / "compose.yaml"),
            "config",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "HAVEN_DOMAIN": "cases.example.org"},
    )
    assert result.returncode == 0, result.stderr


def test_compose_services_are_hardened_and_healthy() -> None:
    data = compose()
    services: dict[str, dict[str, Any]] = data["services"]
    assert {"db", "haven", "caddy"} <= set(services)
    for name, service in services.items():
        assert service.get("read_only") is True, f"{name}: root filesystem not read-only"
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        if "admin" not in service.get("profiles", []):
            assert service.get("healthcheck", {}).get("test"), f"{name}: no health check"
            assert service.get("restart") == "unless-stopped", name
    assert services["haven"]["user"].split(":")[0] not in ("0", "root")
    assert services["haven"]["depends_on"]["db"]["condition"] == "service_healthy"
    # Only the proxy publishes ports; the database sits on an internal network.
    assert [name for name, s in services.items() if s.get("ports")] == ["caddy"]
    assert data["networks"]["backend"]["internal"] is True
    assert services["db"]["networks"] == ["backend"]


def test_compose_volumes_are_named_and_declared() -> None:
    data = compose()
    declared = set(data["volumes"])
    assert {"pgdata", "blobs", "caddy_data"} <= declared
    for name, service in data["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert volume.endswith(":ro") or name == "haven-admin", f"{name}: {volume}"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"


def test_compose_passes_secrets_as_files_never_in_the_environment() -> None:
    data = compose()
    declared = data["secrets"]
    for secret in declared.values():
        assert set(secret) == {"file"}, secret
        assert secret["file"].startswith("./secrets/")
    for name, service in data["services"].items():
        environment = service.get("environment", {})
        assert isinstance(environment, dict), f"{name}: write environment as a mapping"
        for key, value in environment.items():
            assert not holds_a_secret(key), f"{name}: {key} would show in docker inspect"
            assert not URL_WITH_PASSWORD.search(str(value)), f"{name}: {key}"
        for secret in service.get("secrets", []):
            source = secret["source"] if isinstance(secret, dict) else secret
            assert source in declared, f"{name}: secret {source} is not declared"
    assert "haven_database_url" in data["services"]["haven"]["secrets"]
    assert data["services"]["haven"]["environment"]["HAVEN_SECRETS_DIR"] == "/run/secrets"
    ignored = (DEPLOY / "secrets" / ".gitignore").read_text().split()
    assert ignored[0] == "*", "secret files must never be committed"


# --- systemd -----------------------------------------------------------------------------

HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "PrivateTmp": "yes",
    "MemoryDenyWriteExecute": "yes",
    "User": "haven",
    "CapabilityBoundingSet": "",
    "LimitCORE": "0",
}


def unit_settings(path: Path) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


@pytest.mark.parametrize("unit", ["haven.service", "haven-backup.service"])
def test_systemd_units_are_hardened(unit: str) -> None:
    settings = unit_settings(DEPLOY / "systemd" / unit)
    for key, value in HARDENING.items():
        assert value in settings.get(key, []), f"{unit}: {key}={value} missing"
    for value in settings.get("Environment", []):
        assert not holds_a_secret(value.partition("=")[0]), f"{unit}: {value}"
        assert not URL_WITH_PASSWORD.search(value), f"{unit}: {value}"


def test_systemd_units_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    haven = ROOT / ".venv" / "bin" / "haven"
    units = []
    for path in sorted((DEPLOY / "systemd").glob("haven*.[st]*")):
        # The installed path of the executable, pointed at this checkout's (verify checks it
        # exists); every other line is verified as shipped.
        text = path.read_text().replace("/opt/haven/src/.venv/bin/haven", str(haven))
        (tmp_path / path.name).write_text(text)
        units.append(path.name)
    assert {"haven.service", "haven-backup.service", "haven-backup.timer"} <= set(units)
    result = subprocess.run(
        [analyze, "verify", *units],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    # verify exits 0 after unknown keys or bad values: any message is a failure here.
    assert result.returncode == 0, result.stderr
    assert not result.stderr.strip(), result.stderr


# --- Caddy, nginx, Tor -------------------------------------------------------------------


def test_caddyfile(tmp_path: Path) -> None:
    text = (DEPLOY / "caddy" / "Caddyfile").read_text()
    # Structural check (always): balanced blocks, the site, the proxy, no compression.
    code = "\n".join(line.split("#")[0] for line in text.splitlines())
    assert code.count("{") == code.count("}")
    assert "reverse_proxy {$HAVEN_UPSTREAM:haven:8000}" in code
    assert "{$HAVEN_DOMAIN" in code
    assert not re.search(r"^\s*encode\b", code, re.MULTILINE), "compression invites BREACH"
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed (`make caddy`): only the structural check ran")
    result = subprocess.run(
        [
            caddy,
            "validate",
            "--config",
            str(DEPLOY / "caddy" / "Caddyfile"),
            "--adapter",
            "caddyfile",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={
            **os.environ,
            "HOME": str(tmp_path),
            "XDG_DATA_HOME": str(tmp_path),
            "XDG_CONFIG_HOME": str(tmp_path),
            "HAVEN_DOMAIN": "cases.example.org",
        },
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_onion_service_goes_through_the_proxy_not_to_haven() -> None:
    torrc = (DEPLOY / "tor" / "torrc").read_text()
    ports = re.findall(r"^HiddenServicePort\s+\d+\s+(\S+)$", torrc, re.MULTILINE)
    assert ports == ["127.0.0.1:8081"]
    assert "http://127.0.0.1:8081" in (DEPLOY / "caddy" / "Caddyfile").read_text()
    assert re.search(r"^HiddenServiceVersion 3$", torrc, re.MULTILINE)
    assert re.search(r"^SocksPort 0$", torrc, re.MULTILINE)


def test_nginx_example_replaces_forwarded_headers_and_keeps_no_access_log() -> None:
    conf = (DEPLOY / "nginx" / "haven.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "access_log off;" in conf
    assert "gzip off;" in conf
    assert conf.count("{") == conf.count("}")


def test_settings_come_from_secret_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.config import load_settings

    url = "postgresql://haven_app:not-in-the-environment@db:5432/haven"
    (tmp_path / "haven_database_url").write_text(url + "\n")
    monkeypatch.delenv("HAVEN_DATABASE_URL", raising=False)
    monkeypatch.setenv("HAVEN_SECRETS_DIR", str(tmp_path))
    assert load_settings().database_url == url


def test_the_build_context_sends_no_secret_and_no_local_data() -> None:
    text = (DEPLOY / "Dockerfile.dockerignore").read_text()
    ignore = [line.strip() for line in text.splitlines() if line.strip()[:1] not in ("", "#")]
    assert ignore[0] == "**", "everything is excluded unless named"
    allowed = [line[1:] for line in ignore if line.startswith("!")]
    for path in allowed:
        assert not path.startswith(("var", ".venv", "deploy", ".git", ".env")), path
    copied = [
        args.split()[0]
        for word, args in dockerfile_instructions((DEPLOY / "Dockerfile").read_text())
        if word == "COPY" and not args.startswith("--from")
    ]
    for source in copied:
        assert any(source == a.removesuffix("/**") or source == a for a in allowed), source
