"""The figures of `make mutate` for tests/MUTATION.md: per package and per key file, how many
mutants mutmut made, how many the tests killed, and the name of every one they did not.

Reads mutmut's result files (mutants/app/**/*.py.meta); run from the repository root after
`make mutate` (which calls it). A mutant no test reaches counts as not killed.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

# The packages in the order `make mutate` runs them, and the files the target names.
PACKAGES = ("app/policy", "app/security", "app/crypto", "app/tasks/leak_guard.py", "app/audit")
KEY_FILES = (
    "app/policy/permissions.py",
    "app/crypto/keyring.py",
    "app/crypto/envelope.py",
    "app/security/sessions.py",
)
# mutmut's exit codes (mutmut/stats.py): 1 and 3 mean a test failed, the mutant is killed.
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
    None: "not checked",
}


def load(root: Path) -> dict[str, dict[str, str]]:
    """Source file -> mutant name -> status."""
    out: dict[str, dict[str, str]] = {}
    for meta in sorted(root.glob("app/**/*.py.meta")):
        source = meta.relative_to(root).as_posix().removesuffix(".meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        out[source] = {k: STATUS.get(v, "suspicious") for k, v in codes.items()}
    return out


def _row(label: str, statuses: list[str]) -> str:
    c = Counter(statuses)
    checked = len(statuses) - c["not checked"]
    caught = c["killed"] + c["timeout"]
    rate = f"{100 * caught / checked:.1f} %" if checked else "not run"
    missed = checked - caught
    return (
        f"| {label} | {len(statuses)} | {checked} | {c['killed']} | {c['timeout']} "
        f"| {c['survived']} | {c['no tests']} | {missed} | {rate} |"
    )


def report(results: dict[str, dict[str, str]]) -> str:
    head = (
        "| package | mutants | run | killed | timeout | survived | no test | not killed "
        "| kill rate |\n|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for package in (*PACKAGES, *KEY_FILES):
        statuses = [
            s
            for source, mutants in results.items()
            if source == package or source.startswith(package + "/")
            for s in mutants.values()
        ]
        lines.append(_row(f"`{package}`", statuses))
    lines.append("")
    lines.append("Not killed (survived, no test reaches it, or suspicious):")
    lines.append("")
    for mutants in results.values():
        for name, status in sorted(mutants.items()):
            if status not in ("killed", "timeout", "not checked"):
                lines.append(f"- `{name}`: {status}")
    return "\n".join(lines)


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "mutants")
    if not root.is_dir():
        print(f"{root}/ is missing: run `make mutate` first", file=sys.stderr)
        return 1
    print(report(load(root)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
