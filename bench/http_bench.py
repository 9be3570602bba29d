"""`make bench`: what a user feels over HTTP, against the floor of the same server stack,
at each dataset size, on SQLite and PostgreSQL; writes bench/RESULTS.md (bench/README.md).

Run: .venv/bin/python -m bench.http_bench [--quick] [--backends sqlite,postgresql]
[--scales 1000,100000] [--seconds S] (BENCH_QUICK=1 is --quick).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import load, report
from bench.floor import FLOOR_PATH, SIGNED_IN_PATH, THREAD_PATH
from bench.load import Measured, Scenario
from bench.profile import Profile, record
from bench.server import ROOT, Server, working_copy
from bench.standin import postgres_server

DATA = ROOT / "bench" / ".data"
FULL_SCALES = (1_000, 100_000, 1_000_000)
QUICK_SCALES = (1_000, 100_000)
# The targets of issue 15 (bench/README.md).
TARGET_RATIO, TARGET_P99_MS, TARGET_GROWTH, TARGET_RSS_MB = 0.40, 50.0, 1.5, 250
SAMPLED = ("read", "list", "search")


@dataclass
class Step:
    """One backend at one dataset size: every figure, the memory, the dataset's rows."""

    backend: str
    cases: int
    dataset: dict[str, Any]
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    rss_start_kb: int = 0
    hwm_kb: int = 0
    hwm_signin_kb: int = 0
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = ""


def _ensure(backend: str, cases: int) -> Any:
    """The dataset: bench/dataset.py when present, else the demo stand-in."""
    try:
        from bench import dataset
    except ImportError:
        from bench import standin

        return standin.ensure(backend, cases, DATA)
    # A PostgreSQL dataset under the default root is the database `bench_N` that every
    # checkout shares (another may be rebuilding it): a root of this checkout's own gives
    # a database of its own (bench.dataset.database_name).
    return dataset.ensure(backend, cases, DATA if backend == "sqlite" else DATA / "pg")


def _prepare(env: dict[str, str], accounts: dict[str, Any], pool: int) -> dict[str, Any]:
    spec = {
        "coordinator": accounts["coordinator"].email,
        "volunteer": accounts["volunteer"].email,
        "pool": pool,
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench.prepare", json.dumps(spec)],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.prepare failed: {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _samples(base: str, token: str, ds: Any) -> tuple[list[str], list[str], dict[str, Any]]:
    """Case ids, names and a duplicate probe: the dataset's, else read through the API."""
    ids, names, probe = list(ds.sample_case_ids), list(ds.search_names), dict(ds.duplicate_probe)
    if ids and names and probe:
        return ids, names, probe
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for page in (1, 2):
            got = client.get("/api/v1/cases", params={"per_page": 200, "page": page})
            ids += [item["id"] for item in got.raise_for_status().json()["items"]]
        for case_id in ids[:20]:
            case = client.get(f"/api/v1/cases/{case_id}").raise_for_status().json()
            if case.get("legal_name"):
                names.append(case["legal_name"])
                if not probe and case.get("date_of_birth"):
                    probe = {
                        "legal_name": case["legal_name"],
                        "date_of_birth": case["date_of_birth"],
                    }
    return ids, names, probe


INTAKE_NAMES = ("Bench Primerov", "Bench Ivanenko", "Bench Sidarovich", "Bench Kovalenko")


def _intake_body(n: int) -> str:
    return json.dumps(
        {
            "legal_name": f"{INTAKE_NAMES[n % len(INTAKE_NAMES)]} {n}",
            "date_of_birth": f"199{n % 10}-0{1 + n % 9}-1{n % 10}",
            "citizenship": "RU",
            "current_country": "GE",
            "current_city": "Tbilisi",
            "languages": ["ru"],
            "contacts": [{"channel": "signal", "value": f"bench_{n}.07"}],
            "situation": "deserted",
            "needs": ["legal", "documents"],
            "risk_level": "high",
            "intake_notes": "Synthetic benchmark intake.",
        }
    )


def scenarios(
    ids: list[str], names: list[str], probe: dict[str, Any], t: dict[str, Any]
) -> list[Scenario]:
    """Every figure in the order measured (sign-in last: 16 Argon2 hashes at once set the
    memory peak, reported apart)."""
    coord, vol = [t["coordinator"]], [t["volunteer"]]
    signin = json.dumps({"email": t["signin"]["email"], "password": t["signin"]["password"]})
    return [
        Scenario("floor", "floor: bare JSON, same stack", "GET", [FLOOR_PATH]),
        Scenario("thread", "floor on the thread pool (a `def` route)", "GET", [THREAD_PATH]),
        Scenario(
            "signed_in", "signed in, nothing read (require())", "GET", [SIGNED_IN_PATH], coord
        ),
        Scenario(
            "read", "audited case read (API)", "GET", [f"/api/v1/cases/{i}" for i in ids], coord
        ),
        Scenario("list", "case list, 50 rows (API)", "GET", ["/api/v1/cases?per_page=50"], coord),
        Scenario(
            "search",
            "name search, blind index (POST)",
            "POST",
            ["/api/v1/cases/search"],
            coord,
            [json.dumps({"name": name}) for name in names],
        ),
        Scenario(
            "duplicates",
            "duplicate check (POST)",
            "POST",
            ["/api/v1/cases/duplicates"],
            t["pool"],
            [json.dumps(probe)],
        ),
        Scenario("tasks", "volunteer task list (API)", "GET", ["/api/v1/tasks"], vol),
        Scenario("page", "case page (HTML)", "GET", [f"/cases/{i}" for i in ids], coord),
        Scenario("board", "triage board page (HTML)", "GET", ["/board"], coord),
        Scenario(
            "create",
            "intake create (POST)",
            "POST",
            ["/api/v1/cases"],
            coord,
            [_intake_body(n) for n in range(64)],
        ),
        Scenario(
            "signin", "sign-in (password, Argon2id)", "POST", ["/api/v1/auth/token"], [], [signin]
        ),
    ]


def _announce(backend: str, cases: int, key: str) -> None:
    print(f"  {backend} {cases:,} {key} ...", file=sys.stderr, flush=True)


def _measure(
    server: Server, scenario: Scenario, opts: argparse.Namespace, work: Path
) -> dict[str, Any]:
    seconds, warmup = opts.seconds, opts.warmup
    if scenario.key == "signin":
        # Sixteen Argon2 hashes at once take seconds each on two cores: a longer run, so
        # that the figure is made of more than the first few answers.
        seconds = max(2 * seconds, 20.0)
    if warmup:
        load.run(server.base, scenario, warmup, work)
        server.settle()
    load_before = os.getloadavg()[0]
    cpu_before = server.cpu_seconds()
    result: Measured = load.run(server.base, scenario, seconds, work)
    cpu = server.cpu_seconds() - cpu_before
    server.settle()
    figure = asdict(result)
    figure |= {
        "label": scenario.label,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "server_cpu": cpu / result.seconds if result.seconds else 0.0,
    }
    if result.bad_status or result.requests < 3:
        # Too few answers to say much, or some refused: one request alone, timed.
        started = time.perf_counter()
        figure["status_seen"] = _one_status(server.base, scenario)
        figure["single_ms"] = (time.perf_counter() - started) * 1000
        server.settle()
    return figure


def _one_status(base: str, scenario: Scenario) -> int:
    headers = {"Authorization": f"Bearer {scenario.tokens[0]}"} if scenario.tokens else {}
    if scenario.bodies:
        headers["Content-Type"] = "application/json"
    body = scenario.bodies[0] if scenario.bodies else None
    answer = httpx.request(
        scenario.method, base + scenario.paths[0], headers=headers, content=body, timeout=600
    )
    return answer.status_code


def _missed(name: str, figure: dict[str, Any], floor: float) -> bool:
    if name not in ("read", "list"):
        return False
    ratio = figure["rps"] / floor if floor else 0
    return ratio < TARGET_RATIO or figure["p99_ms"] > TARGET_P99_MS


def run_step(backend: str, cases: int, opts: argparse.Namespace, first: Step | None) -> Step:
    """Measure every figure on one dataset; profile the figures that miss a target."""
    ds = _ensure(backend, cases)
    work = DATA / "run" / f"{backend}-{cases}"
    with working_copy(ds.env, work) as env:
        step = Step(backend, cases, report.dataset_rows(env["HAVEN_DATABASE_URL"]))
        step.source = type(ds).__module__
        tokens = _prepare(env, ds.accounts, pool=opts.pool)
        server = Server(env, work / "server.log")
        try:
            step.rss_start_kb = server.status("VmRSS")
            ids, names, probe = _samples(server.base, tokens["coordinator"], ds)
            step.dataset["samples"] = {"case ids": len(ids), "names": len(names)}
            plan = scenarios(ids, names, probe, tokens)
            for scenario in plan[:-1]:
                _announce(backend, cases, scenario.key)
                step.figures[scenario.key] = _measure(server, scenario, opts, work / "lua")
            again = dataclasses.replace(plan[0], key="floor_end", label="floor, again after those")
            _announce(backend, cases, again.key)
            step.figures[again.key] = _measure(server, again, opts, work / "lua")
            # Profiles before sign-in: its Argon2 hashes outlast the run that sent them.
            _profile_misses(step=step, server=server, plan=plan, opts=opts, first=first, work=work)
            step.hwm_kb = server.status("VmHWM")
            _announce(backend, cases, plan[-1].key)
            step.figures[plan[-1].key] = _measure(server, plan[-1], opts, work / "lua")
            step.hwm_signin_kb = server.status("VmHWM")
        finally:
            server.stop()
    return step


def _profile_misses(
    *,
    step: Step,
    server: Server,
    plan: list[Scenario],
    opts: argparse.Namespace,
    first: Step | None,
    work: Path,
) -> None:
    """A profile of each read/list figure below its target, and of list/search when their
    p99 grew past the target from the smallest dataset (checked at the larger ones)."""
    floor = report.floor_rps(step.figures)
    wanted = [
        s for s in plan if s.key in ("read", "list") and _missed(s.key, step.figures[s.key], floor)
    ]
    if first is not None:
        for scenario in plan:
            if scenario.key in ("list", "search") and scenario not in wanted:
                base = first.figures[scenario.key]["p99_ms"]
                if base and step.figures[scenario.key]["p99_ms"] / base > TARGET_GROWTH:
                    wanted.append(scenario)
    if opts.no_profile:
        return
    for scenario in wanted:
        print(f"  profiling {scenario.key} ...", file=sys.stderr, flush=True)
        seconds = opts.profile_seconds
        found: Profile = record(
            server.pid,
            seconds,
            work / f"profile-{scenario.key}.txt",
            functools.partial(load.run, server.base, scenario, seconds + 1, work / "lua"),
        )
        step.profiles[scenario.key] = asdict(found)


def argon2_cost(rounds: int = 7) -> dict[str, Any]:
    """Argon2id verify with the production parameters, in this process (no HTTP)."""
    from app.security import passwords

    passwords.use_params(passwords.DEFAULT_PARAMS)
    stored = passwords.hash_password("violet-harbour-quietly-7")
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        passwords.verify_password(stored, "violet-harbour-quietly-7")
        times.append((time.perf_counter() - started) * 1000)
    p = passwords.DEFAULT_PARAMS
    return {
        "params": f"t={p.time_cost}, m={p.memory_cost_kib // 1024} MiB, p={p.parallelism}",
        "median_ms": statistics.median(times),
        "load": os.getloadavg()[0],
    }


def options(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options, with BENCH_QUICK=1 meaning --quick."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1"
    )
    parser.add_argument("--backends", default=os.environ.get("BENCH_BACKENDS", "sqlite,postgresql"))
    parser.add_argument("--scales", default=os.environ.get("BENCH_SCALES"))
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--warmup", type=float)
    parser.add_argument("--profile-seconds", type=float)
    parser.add_argument("--pool", type=int, default=100, help="duplicate-check accounts")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--no-crypto", action="store_true", help="skip bench/crypto_bench.py")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    opts = parser.parse_args(argv)
    scales = QUICK_SCALES if opts.quick else FULL_SCALES
    opts.scales = [int(s) for s in opts.scales.split(",")] if opts.scales else list(scales)
    opts.backends = [b.strip() for b in opts.backends.split(",") if b.strip()]
    opts.seconds = opts.seconds or (5.0 if opts.quick else 15.0)
    opts.warmup = opts.warmup if opts.warmup is not None else (1.0 if opts.quick else 3.0)
    opts.profile_seconds = opts.profile_seconds or (5.0 if opts.quick else 10.0)
    return opts


def _unreachable(opts: argparse.Namespace) -> list[str]:
    """Drop PostgreSQL from the run, saying why, when its server does not answer."""
    if "postgresql" not in opts.backends:
        return []
    import psycopg

    from bench.standin import postgres_server

    try:
        psycopg.connect(postgres_server() + "/postgres", connect_timeout=5).close()
    except psycopg.Error as exc:
        opts.backends.remove("postgresql")
        why = f"PostgreSQL not run: {postgres_server()} did not answer ({type(exc).__name__})"
        print(f"bench: {why}", file=sys.stderr)
        return [why]
    return []


def main(argv: list[str] | None = None) -> None:
    """Every backend at every size, then RESULTS.md."""
    opts = options(argv)
    started = time.time()
    skipped = _unreachable(opts)
    context = report.machine(opts)
    steps: list[Step] = []
    for backend in opts.backends:
        first = None
        for cases in sorted(opts.scales):
            print(f"bench: {backend}, {cases:,} cases", file=sys.stderr, flush=True)
            step = run_step(backend, cases, opts, first)
            first = first or step
            steps.append(step)
            (DATA / "last-run.json").write_text(json.dumps([asdict(s) for s in steps], indent=1))
    context["argon2"] = argon2_cost()
    context["crypto"] = None if opts.no_crypto else report.crypto_run()
    # Audit verification (kept met, issue 15): a log as long as the run's largest dataset
    # has cases (its audit entries are ~7 a case; this one is built for the measure).
    context["audit_entries"] = max(opts.scales)
    context["audit"] = (
        None
        if opts.no_crypto
        else report.audit_run(
            max(opts.scales),
            postgres_server() + "/postgres" if "postgresql" in opts.backends else None,
        )
    )
    context["elapsed_s"] = time.time() - started
    context["load_end"] = os.getloadavg()
    context["skipped"] = skipped
    report.write(opts.out, context, [asdict(s) for s in steps], opts)
    print(f"bench: wrote {opts.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
