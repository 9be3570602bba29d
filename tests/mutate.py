"""`make mutate`: mutation testing of the security code (tests/MUTATION.md) with mutmut, one
package at a time, each against the tests that attack it.

    python tests/mutate.py run [PACKAGE ...] [--files GLOB ...] [--again]
    python tests/mutate.py summary

`run` makes, for each package, a scratch directory mutants/PACKAGE/ (under the gitignored
mutants/): links to app/, tests/, templates/, migrations/ and alembic.ini, and a copy of
pyproject.toml whose `[tool.mutmut]` is the shared one with `only_mutate` narrowed to the
package and `pytest_add_cli_args_test_selection` set to its tests (SUITES below). mutmut
3.8.1 reads its configuration only from the pyproject.toml of the directory it runs in and
keeps its results in ./mutants/, so one directory per package is how each gets a test
selection of its own and keeps its results apart. mutmut runs there with one worker; the
Makefile runs this script under `nice -n 19` and without `HAVEN_TEST_POSTGRES_URL`.

A run resumes: mutants that have a result keep it. `--again` runs the mutants that were not
killed again (after a test was written for them), `--names` only some of them; `--files`
narrows a run to some of the package's files (`--files app/crypto/keyring.py`). `summary`
prints the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "mutants"
LINKED = ("app", "tests", "templates", "migrations", "alembic.ini")


@dataclass(frozen=True)
class Suite:
    files: tuple[str, ...]  # what mutmut mutates (globs, as `only_mutate`)
    tests: tuple[str, ...]  # the tests that attack it (`pytest_add_cli_args_test_selection`)
    why: str


# The one place the test selection of each package is written down. The rule: every test
# file written as an attack on that package's property, nothing cut to hide a survivor.
# mutmut then gives each mutant the tests of this selection that reach its function.
SUITES: dict[str, Suite] = {
    "app.policy": Suite(
        ("app/policy/*",),
        (
            "tests/policy",
            "tests/tasks/test_visibility.py",
            "tests/tasks/test_sparse_records.py",
            "tests/users/test_api.py",
            "tests/users/test_admin_self_promotion.py",
            "tests/security/test_csrf.py",
        ),
        "the oracle, table mutants, route matrix, break-glass, scope, denial and "
        "authentication tests; what a volunteer sees of a task; who may change a role; the "
        "CSRF attacks on the requirement's check",
    ),
    "app.security": Suite(
        ("app/security/*",),
        (
            "tests/security",
            "tests/users/test_password_reset.py",
            "tests/pages/test_documents_pages.py",
        ),
        "sessions, CSRF, lockout, TOTP, passwords, headers, throttles, error answers "
        "(less the strace traces of sign-in); password reset tokens; the CSRF attacks on a "
        "page's multipart upload (the token as the form's first part)",
    ),
    "app.crypto": Suite(
        ("app/crypto/*",),
        (
            "tests/crypto",
            "tests/security/test_defence_in_depth.py",
            "tests/pages/test_seal_pages.py",
            "tests/pages/test_admin_pages.py",
        ),
        "keyring, envelope, rotation, shredding, sealed service, blind index, secrets at "
        "rest; per-case keys and the case id in the associated data; the sealed service's "
        "refusal and unseal pages; the keys' state the administrator reads",
    ),
    "app.tasks.leak_guard": Suite(
        ("app/tasks/leak_guard.py",),
        (
            "tests/tasks/test_leak_guard.py",
            "tests/tasks/test_leak_guard_declension.py",
            "tests/tasks/test_leak_guard_unicode.py",
            "tests/tasks/test_api.py",
        ),
        "the leak guard's attacks (names, declension, Unicode look-alikes, dates, phones) "
        "and the task API that refuses what it finds",
    ),
    "app.audit": Suite(
        ("app/audit/*",),
        ("tests/audit", "tests/pages/test_audit_pages.py"),
        "the log, Merkle tree, checkpoints, verifier and its edges, the schema attacks; "
        "who reads the audit pages, and what they show",
    ),
}

# mutmut's exit codes (mutmut/stats.py `status_by_exit_code`); 1 and 3: a test failed.
STATUS = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    34: "skipped",
    36: "timeout",
    24: "timeout",
    -24: "timeout",
    152: "timeout",
    255: "timeout",
    37: "caught by type check",
    -9: "segfault",
    -11: "segfault",
    None: "not checked",
}
CAUGHT = ("killed", "timeout")
KEY_FILES = (
    "app/policy/permissions.py",
    "app/crypto/keyring.py",
    "app/crypto/envelope.py",
    "app/security/sessions.py",
)


def _toml_list(values: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def scratch(package: str, files: tuple[str, ...]) -> Path:
    """The scratch directory of one package, made or brought up to date."""
    suite = SUITES[package]
    where = WORK / package
    where.mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        link = where / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name)
    text = (ROOT / "pyproject.toml").read_text("utf-8")
    shared = tomllib.loads(text)["tool"]["mutmut"]
    section = re.search(r"^\[tool\.mutmut\]\n(?:(?!^\[).*\n?)*", text, re.M)
    assert section, "pyproject.toml has no [tool.mutmut]"
    config = "\n".join(
        [
            "[tool.mutmut]",
            f"# made by tests/mutate.py for {package}: {suite.why}",
            f"source_paths = {_toml_list(shared['source_paths'])}",
            f"only_mutate = {_toml_list(files or suite.files)}",
            f"also_copy = {_toml_list(shared['also_copy'])}",
            f"pytest_add_cli_args = {_toml_list(shared['pytest_add_cli_args'])}",
            f"pytest_add_cli_args_test_selection = {_toml_list(suite.tests)}",
            "",
            "",
        ]
    )
    (where / "pyproject.toml").write_text(text[: section.start()] + config + text[section.end() :])
    return where


def load(where: Path) -> dict[str, dict[str, str]]:
    """Source file -> mutant name -> status, from mutmut's result files in a scratch dir."""
    out: dict[str, dict[str, str]] = {}
    for meta in sorted((where / "mutants").glob("app/**/*.py.meta")):
        source = meta.relative_to(where / "mutants").as_posix().removesuffix(".meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        out[source] = {k: STATUS.get(v, "suspicious") for k, v in codes.items()}
    return out


def not_killed(where: Path) -> list[str]:
    return sorted(
        name
        for mutants in load(where).values()
        for name, status in mutants.items()
        if status not in (*CAUGHT, "not checked")
    )


def run(
    packages: list[str], files: tuple[str, ...], again: bool, names: tuple[str, ...] = ()
) -> int:
    env = {k: v for k, v in os.environ.items() if k not in ("HAVEN_TEST_POSTGRES_URL", "CI")}
    mutmut = str(Path(sys.executable).parent / "mutmut")
    for package in packages:
        chosen = tuple(f for f in files if f.startswith(package.replace(".", "/")))
        if files and not chosen:
            continue
        where = scratch(package, chosen)
        named = [n for n in not_killed(where) if not names or n in names] if again else []
        if again and not named:
            print(f"make mutate: {package}: nothing to run again")
            continue
        print(f"make mutate: {package} ({', '.join(chosen or SUITES[package].files)})", flush=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        children = os.environ.get("MUTATE_CHILDREN", "1")
        code = subprocess.call(
            [mutmut, "run", "--max-children", children, *named], cwd=where, env=env
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.monotonic() - start
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        line = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "package": package,
            "files": list(chosen),
            "again": again,
            "mutants_named": len(named),
            "children": int(children),
            "exit": code,
            "wall_s": round(wall),
            "cpu_s": round(cpu),
            "load": [round(x, 1) for x in os.getloadavg()],
        }
        with (WORK / "runs.jsonl").open("a") as log:
            log.write(json.dumps(line) + "\n")
        print(f"make mutate: {package}: {wall / 60:.1f} min, {cpu / 60:.1f} min CPU", flush=True)
        if code != 0:
            return code
    return 0


def _row(label: str, statuses: list[str]) -> str:
    c = Counter(statuses)
    checked = len(statuses) - c["not checked"]
    caught = sum(c[s] for s in CAUGHT)
    rate = f"{100 * caught / checked:.1f} %" if checked else "not run"
    return (
        f"| {label} | {len(statuses)} | {checked} | {c['killed']} | {c['timeout']} "
        f"| {c['survived']} | {c['no tests']} | {checked - caught} | {rate} |"
    )


def summary() -> str:
    """The figures tables (per package and key file; per file) and every mutant not killed."""
    lines = [
        "| package | mutants | run | killed | timeout | survived | no test | not killed "
        "| kill rate |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    results = {package: load(WORK / package) for package in SUITES}
    for package, by_file in results.items():
        statuses = [s for mutants in by_file.values() for s in mutants.values()]
        lines.append(_row(f"`{package}`", statuses))
    for key in KEY_FILES:
        statuses = [s for by_file in results.values() for s in by_file.get(key, {}).values()]
        lines.append(_row(f"`{key}`", statuses))
    lines += [
        "",
        "By file (every file with mutants):",
        "",
        "| file | mutants | run | killed | timeout | survived | no test | not killed | kill rate |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for by_file in results.values():
        for source, mutants in sorted(by_file.items()):
            if mutants:
                lines.append(_row(f"`{source}`", list(mutants.values())))
    lines += ["", "Not killed (survived, no test reaches it, suspicious):", ""]
    for by_file in results.values():
        for mutants in by_file.values():
            for name, status in sorted(mutants.items()):
                if status not in (*CAUGHT, "not checked"):
                    lines.append(f"- `{name}`: {status}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    go = sub.add_parser("run")
    go.add_argument("packages", nargs="*", metavar="PACKAGE", help=", ".join(SUITES))
    go.add_argument("--files", nargs="*", default=[])
    go.add_argument("--again", action="store_true")
    go.add_argument("--names", nargs="*", default=[], help="with --again: only these mutants")
    sub.add_parser("summary")
    args = parser.parse_args()
    if args.command == "summary":
        print(summary())
        return 0
    unknown = [p for p in args.packages if p not in SUITES]
    if unknown:
        parser.error(f"unknown package {unknown}: one of {', '.join(SUITES)}")
    return run(args.packages or list(SUITES), tuple(args.files), args.again, tuple(args.names))


if __name__ == "__main__":
    sys.exit(main())
