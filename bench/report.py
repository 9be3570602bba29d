"""bench/RESULTS.md from a `make bench` run: the machine, the datasets, every HTTP figure
beside the floor, the growth with the data, memory, profiles; the sections written by hand
(audit, crypto, documents, demo, reports) are kept as they are, below the generated one."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.server import ROOT, libpq_url

START = "<!-- make bench: generated from here -->"
END = "<!-- make bench: generated up to here -->"
TABLES = (
    "cases",
    "case_revisions",
    "case_stage_changes",
    "case_deadlines",
    "tasks",
    "documents",
    "referrals",
    "audit_entries",
    "users",
)
TARGETS = {"ratio": 0.40, "p99": 50.0, "growth": 1.5, "rss_mb": 250}


def _run(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def machine(opts: Any) -> dict[str, Any]:
    """Where and with what the run happens."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    versions = {
        name: importlib.metadata.version(name)
        for name in (
            "fastapi",
            "starlette",
            "uvicorn",
            "SQLAlchemy",
            "psycopg",
            "argon2-cffi",
            "cryptography",
        )
    }
    from bench.load import WRK
    from bench.standin import postgres_server

    pg = ""
    if "postgresql" in opts.backends:
        pg = _run(["psql", postgres_server() + "/postgres", "-Atc", "show server_version"])
    return {
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": _run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
        "cpu": f"{cpu}, {os.cpu_count()} cores, {int(memory) // 1024 // 1024} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "versions": versions,
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg.split()[0] if pg else "",
        "load_tool": (_run([WRK, "-v"]).splitlines() or ["wrk"])[0].split(" [")[0]
        if WRK
        else "httpx (wrk missing)",
        "load_start": os.getloadavg(),
    }


def dataset_rows(url: str) -> dict[str, Any]:
    """Row counts of the tables that grow with the data, and the database's size."""
    counts: dict[str, int] = {}
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        with sqlite3.connect(path) as conn:
            for table in TABLES:
                counts[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    else:
        import psycopg

        with psycopg.connect(libpq_url(url)) as conn:
            for table in TABLES:
                counts[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]  # noqa: S608
            size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
    return {"rows": counts, "bytes": size}


def crypto_run() -> list[list[str]]:
    """bench/crypto_bench.py in a process of its own: its table's rows."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "crypto_bench.py")],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    rows = []
    for line in done.stdout.splitlines():
        if line.startswith("│"):
            rows.append([cell.strip() for cell in line.strip("│").split("│")])
    return rows


def audit_run(entries: int, postgres_url: str | None) -> list[str]:
    """bench/audit_bench.py --verify-only in a process of its own: its table's lines (a log
    of `entries` built on SQLite, and on PostgreSQL when a URL is given)."""
    env = {k: v for k, v in os.environ.items() if k != "HAVEN_TEST_POSTGRES_URL"}
    if postgres_url:
        env["HAVEN_TEST_POSTGRES_URL"] = postgres_url
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "audit_bench.py"), "--verify-only",
         "--entries", str(entries), "--repeats", "3"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    return [line for line in done.stdout.splitlines() if line.startswith("|")]


def _mb(kb: int) -> str:
    return f"{kb / 1024:,.0f}"


def _ms(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _p(fig: dict[str, Any], key: str) -> str:
    """A latency quantile, or what is known when the run brought no answer."""
    if fig["requests"]:
        return _ms(fig[key])
    alone = f"; one alone {_ms(fig['single_ms'])}" if "single_ms" in fig else ""
    return f"none in {fig['seconds']:.0f} s{alone}"


def _p99(fig: dict[str, Any]) -> float:
    """p99 for growth: with no answer in the run, at least the run's length (or one
    request alone, if that took longer)."""
    if fig["requests"]:
        return float(fig["p99_ms"])
    return max(float(fig["seconds"]) * 1000, float(fig.get("single_ms", 0.0)))


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def floor_rps(figures: dict[str, dict[str, Any]]) -> float:
    """The step's floor: the mean of its runs before and after the other figures."""
    runs = [float(figures[k]["rps"]) for k in ("floor", "floor_end") if k in figures]
    return sum(runs) / len(runs)


def _figure_rows(step: dict[str, Any]) -> list[str]:
    floor = floor_rps(step["figures"])
    out = [
        "| figure | req/s | ratio | p50 ms | p99 ms | answers | errors | server CPU | "
        "load 1m before → after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for fig in step["figures"].values():
        ratio = fig["rps"] / floor if floor else 0
        errors = f"{fig['bad_status']:,}"
        if fig.get("status_seen") and fig["bad_status"]:
            errors += f" ({fig['status_seen']})"
        if fig["socket_errors"]:
            errors += f" + {fig['socket_errors']:,} socket"
        out.append(
            f"| {fig['label']} | {fig['rps']:,.0f} | {ratio:.3f} | {_p(fig, 'p50_ms')} | "
            f"{_p(fig, 'p99_ms')} | {fig['requests']:,} | {errors} | "
            f"{fig['server_cpu']:.0%} | "
            f"{fig['load_before']:.1f} → {fig['load_after']:.1f} |"
        )
    return out


def _summary(steps: list[dict[str, Any]]) -> list[str]:
    out = [
        "| backend | cases | floor req/s | audited read req/s | ratio | read p50 / p99 ms | "
        "case list req/s | ratio | list p50 / p99 ms | name search p99 ms | peak RSS MB | "
        "load 1m |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in steps:
        f = s["figures"]
        floor, read, lst = floor_rps(f), f["read"], f["list"]
        out.append(
            f"| {s['backend']} | {s['cases']:,} | {floor:,.0f} | {read['rps']:,.0f} | "
            f"{read['rps'] / floor:.3f} | {_p(read, 'p50_ms')} / {_p(read, 'p99_ms')} | "
            f"{lst['rps']:,.0f} | {lst['rps'] / floor:.3f} | "
            f"{_p(lst, 'p50_ms')} / {_p(lst, 'p99_ms')} | {_p(f['search'], 'p99_ms')} | "
            f"{_mb(s['hwm_kb'])} | {read['load_before']:.1f} |"
        )
    return out


def _growth(steps: list[dict[str, Any]]) -> list[str]:
    out = [
        "| backend | figure | p99 ms, smallest | p99 ms, largest | ratio | target ≤ 1.5 |",
        "|---|---|---:|---:|---:|---|",
    ]
    for backend in dict.fromkeys(s["backend"] for s in steps):
        mine = sorted((s for s in steps if s["backend"] == backend), key=lambda s: s["cases"])
        if len(mine) < 2:
            continue
        small, large = mine[0], mine[-1]
        for key in ("list", "search", "read", "page"):
            a, b = _p99(small["figures"][key]), _p99(large["figures"][key])
            ratio = b / a if a else 0
            more = "≥ " if not large["figures"][key]["requests"] else ""
            target = (
                _met(ratio <= TARGETS["growth"]) if key in ("list", "search") else "(no target)"
            )
            out.append(
                f"| {backend} | {small['figures'][key]['label']} | {_ms(a)} ({small['cases']:,}) | "
                f"{more}{_ms(b)} ({large['cases']:,}) | {more}{ratio:.2f} | {target} |"
            )
    return out


LADDER = ("floor", "thread", "signed_in", "read", "list")


def _cpu_ms(fig: dict[str, Any]) -> float:
    """Server CPU per answered request, in ms."""
    return float(fig["server_cpu"]) / float(fig["rps"]) * 1000 if fig["rps"] else 0.0


def _ladder(steps: list[dict[str, Any]]) -> list[str]:
    """Server CPU per request for each rung, and its ratio to the floor's: what each layer
    of a signed-in, audited request costs (bench/floor.py)."""
    out = [
        "| backend | cases | floor ms | thread pool ms | ratio | signed in ms | ratio | "
        "audited read ms | ratio | case list ms | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in steps:
        f = s["figures"]
        if not all(key in f for key in LADDER):
            continue
        floor = _cpu_ms(f["floor"])
        cells = [f"{floor:.2f}"]
        for key in LADDER[1:]:
            ms = _cpu_ms(f[key])
            cells += [f"{ms:.2f}", f"{ms / floor:.1f}" if floor else "-"]
        out.append(f"| {s['backend']} | {s['cases']:,} | " + " | ".join(cells) + " |")
    return out


def _memory(steps: list[dict[str, Any]]) -> list[str]:
    out = [
        "| backend | cases | RSS after start MB | peak RSS (VmHWM) before sign-in MB | "
        "peak with 16 sign-ins at once MB | target ≤ 250 MB |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for s in steps:
        out.append(
            f"| {s['backend']} | {s['cases']:,} | {_mb(s['rss_start_kb'])} | {_mb(s['hwm_kb'])} | "
            f"{_mb(s['hwm_signin_kb'])} | {_met(s['hwm_kb'] / 1024 <= TARGETS['rss_mb'])} |"
        )
    return out


def _datasets(steps: list[dict[str, Any]]) -> list[str]:
    names = list(TABLES)
    out = [
        "| backend | cases | " + " | ".join(names) + " | size MB | source |",
        "|---|---:|" + "---:|" * len(names) + "---:|---|",
    ]
    for s in steps:
        rows = s["dataset"]["rows"]
        out.append(
            f"| {s['backend']} | {s['cases']:,} | "
            + " | ".join(f"{rows.get(n, 0):,}" for n in names)
            + f" | {s['dataset']['bytes'] / 1e6:,.0f} | {s['source']} |"
        )
    return out


def _profiles(steps: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for s in steps:
        for key, prof in s["profiles"].items():
            label = s["figures"][key]["label"]
            out.append(f"#### {s['backend']}, {s['cases']:,} cases: {label}\n")
            if prof.get("error"):
                out.append(f"No profile: {prof['error']}.\n")
                continue
            out.append(f"py-spy, {prof['samples']:,} samples of the server under the same load.\n")
            out.append("| own % | function | | incl. % | function |")
            out.append("|---:|---|---|---:|---|")
            for (a, fa), (b, fb) in zip(prof["own"][:10], prof["inclusive"][:10], strict=False):
                out.append(f"| {a:.1%} | `{fa}` | | {b:.1%} | `{fb}` |")
            out.append("")
    return out


def _targets(steps: list[dict[str, Any]]) -> list[str]:
    out = []
    for s in steps:
        f = s["figures"]
        for key in ("read", "list"):
            ratio = f[key]["rps"] / floor_rps(f)
            ok = ratio >= TARGETS["ratio"] and _p99(f[key]) <= TARGETS["p99"]
            out.append(
                f"- {s['backend']}, {s['cases']:,} cases, {f[key]['label']}: ratio {ratio:.3f} "
                f"(≥ 0.40), p99 {_p(f[key], 'p99_ms')}{' ms' if f[key]['requests'] else ''} "
                f"(≤ 50 ms): {_met(ok)}"
            )
    return out


def render(context: dict[str, Any], steps: list[dict[str, Any]], opts: Any) -> str:
    """The generated section."""
    mode = "quick (BENCH_QUICK=1)" if opts.quick else "full"
    v = context["versions"]
    argon = context["argon2"]
    lines = [
        START,
        "",
        "## HTTP: what a user feels, beside the floor (`make bench`)",
        "",
        f"Generated by `make bench` ({mode}), {context['started']}, commit {context['commit']}, "
        f"in {context['elapsed_s'] / 60:.0f} min. Each figure: {opts.seconds:.0f} s of "
        f"`{context['load_tool']}` with 16 connections (2 threads) from a separate process, "
        f"after {opts.warmup:.0f} s of warm-up, against one `haven serve` process (bench/floor.py: "
        "the same app factory, middleware and uvicorn settings, plus the floor route). "
        "Ratio = the figure's requests per second / the floor's (the mean of its two runs, "
        "before and after the other figures), same server, same run.",
        "",
        f"- Machine: {context['cpu']}, Linux {context['kernel']}; shared with other work: "
        f"load average (1, 5, 15 min) {', '.join(f'{x:.1f}' for x in context['load_start'])} "
        f"at the start, {', '.join(f'{x:.1f}' for x in context['load_end'])} at the end.",
        f"- Python {context['python']}; FastAPI {v['fastapi']}, Starlette {v['starlette']}, "
        f"uvicorn {v['uvicorn']}, SQLAlchemy {v['SQLAlchemy']}, psycopg {v['psycopg']}, "
        f"argon2-cffi {v['argon2-cffi']}, cryptography {v['cryptography']}; SQLite "
        f"{context['sqlite']}; PostgreSQL {context['postgresql'] or '(not run)'}.",
        "",
        *(f"- **{why}**; set BENCH_POSTGRES_URL." for why in context.get("skipped", [])),
        "",
        "### Summary",
        "",
        *_summary(steps),
        "",
        "Targets (issue 15: throughput ≥ 40% of the floor and p99 ≤ 50 ms at 16 connections):",
        "",
        *_targets(steps),
        "",
        "### Where a request's time goes (server CPU per answered request)",
        "",
        "One rung at a time (bench/floor.py): the floor; the same answer from a `def` route "
        "(the thread-pool hop every Haven route takes); a `def` route behind `require()` "
        "(unit of work, session and account, teams, permission: every signed-in call); then "
        "the audited read and the case list. Ratio = the rung's CPU per request / the "
        "floor's; the throughput ratio above is roughly its inverse.",
        "",
        *_ladder(steps),
        "",
        "### Growth with the data (ratio = p99 at the largest dataset / at the smallest)",
        "",
        *_growth(steps),
        "",
        "### Memory of the server process (/proc/PID/status)",
        "",
        *_memory(steps),
        "",
        f"Sign-in: Argon2id ({argon['params']}) verifies in {argon['median_ms']:.0f} ms "
        f"(median of 7, in one process, load {argon['load']:.1f}); the sign-in rows below "
        "include it once per request.",
        "",
        "### Datasets (rows in the copy each step served)",
        "",
        *_datasets(steps),
        "",
    ]
    for s in steps:
        lines += [f"### {s['backend']}, {s['cases']:,} cases", "", *_figure_rows(s), ""]
    profiles = _profiles(steps)
    if profiles:
        lines += ["### Profiles where a target is missed", "", *profiles]
    if context.get("crypto"):
        rows = context["crypto"]
        lines += [
            "### Encryption at rest, this run (`bench/crypto_bench.py`)",
            "",
            "| operation | rate | unit | vs raw AES-GCM |",
            "|---|---:|---|---:|",
            *("| " + " | ".join(r) + " |" for r in rows),
            "",
        ]
    if context.get("audit"):
        entries = context["audit_entries"]
        lines += [
            f"### Audit verification, this run (`bench/audit_bench.py --verify-only --entries "
            f"{entries}`; a log of {entries:,} entries, 3 verifications each, build not timed)",
            "",
            *context["audit"],
            "",
        ]
    lines += [END, ""]
    return "\n".join(lines)


def write(path: Path, context: dict[str, Any], steps: list[dict[str, Any]], opts: Any) -> None:
    """Replace the generated section of RESULTS.md (or put it after the title)."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    section = render(context, steps, opts)
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1].lstrip("\n")
    else:
        title, _, body = text.partition("\n")
        text = f"{title}\n\n{section}\n{body.lstrip()}"
    path.write_text(re.sub(r"\n{3,}", "\n\n", text))
