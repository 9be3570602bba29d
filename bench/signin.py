"""Sign-in cost with the production Argon2id parameters, and whether an unknown account
answers in the same time as a wrong password (it must: otherwise timing tells who exists).

Run: .venv/bin/python bench/signin.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from app.security import passwords


def _time(fn: Callable[[], object], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    """Print a table of medians (ms) and the unknown/wrong ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    rounds = parser.parse_args().rounds
    passwords.use_params(passwords.DEFAULT_PARAMS)
    stored = passwords.hash_password("violet-harbour-quietly-7")
    rows = {
        "hash (new password)": _time(lambda: passwords.hash_password("x" * 20), rounds),
        "verify, right password": _time(
            lambda: passwords.verify_password(stored, "violet-harbour-quietly-7"), rounds
        ),
        "verify, wrong password": _time(
            lambda: passwords.verify_password(stored, "wrong-password-here"), rounds
        ),
        "unknown account (dummy)": _time(
            lambda: passwords.verify_password(None, "wrong-password-here"), rounds
        ),
    }
    p = passwords.DEFAULT_PARAMS
    print(f"Argon2id t={p.time_cost} m={p.memory_cost_kib} KiB p={p.parallelism}, {rounds} rounds")
    print(f"{'operation':<26}{'median ms':>10}{'p90 ms':>10}")
    for name, samples in rows.items():
        p90 = statistics.quantiles(samples, n=10)[-1]
        print(f"{name:<26}{statistics.median(samples):>10.1f}{p90:>10.1f}")
    ratio = statistics.median(rows["unknown account (dummy)"]) / statistics.median(
        rows["verify, wrong password"]
    )
    print(f"unknown / wrong-password time ratio: {ratio:.2f} (1.00 = indistinguishable)")


if __name__ == "__main__":
    main()
