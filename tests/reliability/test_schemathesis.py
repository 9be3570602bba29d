"""schemathesis against a real server's OpenAPI document, once per role with that role's
credentials: every operation, all of schemathesis's checks, and all its phases (the
examples, the coverage of each parameter's edges and of undeclared methods, fuzzing, and the
stateful phase following links between operations). No 5xx, no response outside its
documented schema, status codes or headers, no schema-violating request accepted, and no
schema-valid request refused unless the document says why.

Schema-valid requests refused by design are those the document lists with the operation
(`x-refusals`, app/openapi.py REFUSALS: a reference to a record that must exist, a one-time
code, the clock, a relation between two fields, an e-mail locked after failed sign-ins);
for those operations alone their status (422, or 423) counts as an expected answer to valid
data. Everything else the validators demand, the schema says.

Operations that change the caller's own account (signing out, ending its sessions,
re-authentication and password change, which lock the account after a few wrong codes by
design: 423) run last, apart, with a disposable account of each role: its token may end or
its account lock mid-run, so there 401 and 423 are expected answers. Left out entirely: the
panic seal, which seals the service so that every later answer is 503 by design (the seal
has its own tests: tests/system, tests/pages/test_seal_pages.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.policy.permissions import Role
from tests.reliability.live import LiveServer

pytestmark = pytest.mark.slow

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
EXAMPLES = os.environ.get("HAVEN_SCHEMATHESIS_EXAMPLES", "3")
SEAL = "POST /api/v1/sys/seal"
OWN_ACCOUNT = (
    "DELETE /api/v1/auth/token",
    "DELETE /api/v1/me/sessions",
    "POST /api/v1/auth/reauth",
    "POST /api/v1/me/password",
)
# schemathesis's default for positive_data_acceptance.
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("schemathesis")
    live = LiveServer(folder, f"sqlite:///{folder}/haven.db")
    live.init()
    roles = {role.value: role for role in Role}
    roles |= {f"own-{role.value}": role for role in Role}
    _, _, headers = live.staff(roles)
    live.start()
    yield live, {name: h["Authorization"] for name, h in headers.items()}
    live.stop()


def _config(live: LiveServer, folder: Path, *, extra: tuple[str, ...] = ()) -> Path:
    """schemathesis.toml: 422 (and `extra`) expected for valid data only on the operations
    whose document lists refusals of schema-valid input."""
    doc = httpx.get(live.base + "/api/v1/openapi.json", timeout=30).json()
    blocks = []
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            refusals = op.get("x-refusals", [])
            statuses = ACCEPTED + list(extra) + sorted({str(r["status"]) for r in refusals})
            if refusals or extra:
                blocks.append(
                    f'[[operations]]\ninclude-name = "{method.upper()} {path}"\n'
                    f"checks.positive_data_acceptance.expected-statuses = {json.dumps(statuses)}\n"
                )
    config = folder / "schemathesis.toml"
    config.write_text("\n".join(blocks))
    return config


def _run(live: LiveServer, token: str, config: Path, folder: Path, *names: str) -> str:
    """One schemathesis run; `names` are --include-name (a leading '-': --exclude-name)."""
    filters = []
    for name in names:
        flag = "--exclude-name" if name.startswith("-") else "--include-name"
        filters += [flag, name.lstrip("-")]
    run = subprocess.run(
        [
            SCHEMATHESIS,
            "--config-file",
            str(config),
            "run",
            live.base + "/api/v1/openapi.json",
            "-H",
            f"Authorization: {token}",
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            EXAMPLES,
            *filters,
            # The audit export streams every entry: after ten thousand requests, on a busy
            # machine, more than schemathesis's default ten seconds.
            "--request-timeout",
            "60",
            "--seed",
            "20261206",
            "--no-color",
            "--continue-on-failure",
            "--report",
            "junit",
            "--report-dir",
            str(folder),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    (folder / "schemathesis.txt").write_text(run.stdout)
    failures = run.stdout.find("= FAILURES =")
    shown = run.stdout[failures : failures + 8000] if failures >= 0 else run.stdout[-8000:]
    assert run.returncode == 0, shown + run.stdout[-1500:] + run.stderr[-2000:]
    return run.stdout


def _figures(stdout: str) -> str:
    tested = re.search(r"Tested: (\d+)", stdout)
    generated = re.search(r"(\d+) generated", stdout)
    return f"{tested[1] if tested else '?'} operations, {generated[1] if generated else '?'} cases"


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_operation_answers_as_documented(
    server: tuple[LiveServer, dict[str, str]], role: str, tmp_path: Path
) -> None:
    live, tokens = server
    config = _config(live, tmp_path)
    out = _run(live, tokens[role], config, tmp_path, f"-{SEAL}", *(f"-{n}" for n in OWN_ACCOUNT))
    print(f"schemathesis as {role}: {_figures(out)}, all checks, 0 failures")


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_the_callers_own_account_operations_answer_as_documented(
    server: tuple[LiveServer, dict[str, str]], role: str, tmp_path: Path
) -> None:
    live, tokens = server
    config = _config(live, tmp_path, extra=("423",))
    out = _run(live, tokens[f"own-{role}"], config, tmp_path, *OWN_ACCOUNT)
    print(f"schemathesis on its own {role} account: {_figures(out)}, all checks, 0 failures")


def test_the_document_lists_every_refusal_it_excuses(
    server: tuple[LiveServer, dict[str, str]],
) -> None:
    """The excused operations are few, each refusal names a field of the operation and the
    error code it answers with."""
    live, _ = server
    doc = httpx.get(live.base + "/api/v1/openapi.json", timeout=30).json()
    excused = {
        f"{m.upper()} {p}": op["x-refusals"]
        for p, ops in doc["paths"].items()
        for m, op in ops.items()
        if "x-refusals" in op
    }
    assert 0 < len(excused) <= 16, sorted(excused)
    for name, refusals in excused.items():
        for refusal in refusals:
            assert refusal["field"], name
            assert refusal["when"], name
            assert refusal["code"], name
            method, path = name.split(" ", 1)
            answers = doc["paths"][path][method.lower()]["responses"]
            described = answers[str(refusal["status"])]["description"]
            assert f"`{refusal['field']}`" in described
