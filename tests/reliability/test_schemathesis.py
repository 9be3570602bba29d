"""schemathesis against a real server's OpenAPI document, once per role with that role's
credentials: every operation, its examples, its fuzzing and the stateful phase (links
between operations). No 5xx, no response outside its documented schema or status codes,
no wrong content type or headers.

Left out of the generated runs, and why (each is attacked by its own tests): the panic seal
(`POST /sys/seal`) and signing out (`DELETE /auth/token`, `DELETE /me/sessions`) end the
very credentials the run uses; re-authentication and password change lock the account
after a few wrong codes, which then refuses valid requests by design (423)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.policy.permissions import Role
from tests.reliability.live import LiveServer

pytestmark = pytest.mark.slow

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
LEFT_OUT = r"^/api/v1/(sys/seal|auth/token|auth/reauth|me/sessions|me/password)$"
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    )
)
EXAMPLES = os.environ.get("HAVEN_SCHEMATHESIS_EXAMPLES", "3")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> tuple[LiveServer, dict[str, str]]:
    folder = tmp_path_factory.mktemp("schemathesis")
    live = LiveServer(folder, f"sqlite:///{folder}/haven.db")
    live.init()
    _, _, headers = live.staff({role.value: role for role in Role})
    live.start()
    yield live, {name: h["Authorization"] for name, h in headers.items()}
    live.stop()


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_operation_answers_as_documented(
    server: tuple[LiveServer, dict[str, str]], role: str, tmp_path: Path
) -> None:
    live, tokens = server
    run = subprocess.run(
        [
            SCHEMATHESIS,
            "run",
            live.base + "/api/v1/openapi.json",
            "-H",
            f"Authorization: {tokens[role]}",
            "--checks",
            CHECKS,
            "--phases",
            "examples,fuzzing,stateful",
            "--max-examples",
            EXAMPLES,
            "--exclude-path-regex",
            LEFT_OUT,
            "--seed",
            "20261206",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    summary = run.stdout[run.stdout.rfind("SUMMARY") :] if "SUMMARY" in run.stdout else ""
    print(f"schemathesis as {role}: {summary.strip().splitlines()[-1] if summary else '?'}")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
