"""HTTP load from a separate process: Debian's `wrk` driven by a generated Lua script, or,
where wrk is missing, an async httpx generator (`python -m bench.load SPEC_FILE`), each
printing one `BENCH` line that `run()` reads.

A scenario rotates through its paths, bodies and bearer tokens (one request each in turn,
each wrk thread starting at another offset), so reads do not hit one cached row and the
duplicate check spreads over an account pool.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import cast

CONNECTIONS = 16
WRK = shutil.which("wrk")

LUA = """
local method = %(method)s
local paths = {%(paths)s}
local bodies = {%(bodies)s}
local tokens = {%(tokens)s}
local n = 0
local made = 0
function setup(thread)
  made = made + 1
  thread:set("tid", made)
end
function init(args)
  n = (tid or 1) * 7919
end
function request()
  n = n + 1
  local headers = {}
  if #tokens > 0 then headers["Authorization"] = "Bearer " .. tokens[n %% #tokens + 1] end
  local body = nil
  if #bodies > 0 then
    body = bodies[n %% #bodies + 1]
    headers["Content-Type"] = "application/json"
  end
  return wrk.format(method, paths[n %% #paths + 1], headers, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %%d %%d %%d %%d %%d %%d\\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass(frozen=True)
class Scenario:
    """One kind of request, with what to rotate through."""

    key: str
    label: str
    method: str
    paths: list[str]
    tokens: list[str] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Measured:
    """What one load run gave (latencies in ms)."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    bad_status: int
    socket_errors: int
    tool: str


def _lua_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=True)  # a JSON string of ASCII is a Lua string


def lua_script(scenario: Scenario) -> str:
    """The wrk script of a scenario."""
    return LUA % {
        "method": _lua_str(scenario.method),
        "paths": ", ".join(_lua_str(p) for p in scenario.paths),
        "bodies": ", ".join(_lua_str(b) for b in scenario.bodies),
        "tokens": ", ".join(_lua_str(t) for t in scenario.tokens),
    }


def _parse(output: str, tool: str) -> Measured:
    line = next(x for x in output.splitlines() if x.startswith("BENCH "))
    requests, duration_us, p50_us, p99_us, bad, errors = (int(v) for v in line.split()[1:])
    seconds = duration_us / 1e6
    return Measured(
        requests=requests,
        seconds=seconds,
        rps=requests / seconds if seconds else 0.0,
        p50_ms=p50_us / 1000,
        p99_ms=p99_us / 1000,
        bad_status=bad,
        socket_errors=errors,
        tool=tool,
    )


def run(base: str, scenario: Scenario, seconds: float, workdir: Path) -> Measured:
    """Load `base` with the scenario for `seconds` from a separate process."""
    workdir.mkdir(parents=True, exist_ok=True)
    if WRK:
        script = workdir / f"{scenario.key}.lua"
        script.write_text(lua_script(scenario))
        duration = f"-d{max(1, round(seconds))}s"
        done = subprocess.run(
            [WRK, "-t2", f"-c{CONNECTIONS}", duration, "--timeout", "30s", "-s", str(script), base],
            capture_output=True,
            text=True,
            check=True,
        )
        return _parse(done.stdout, "wrk")
    spec = workdir / f"{scenario.key}.json"
    spec.write_text(json.dumps({"base": base, "seconds": seconds, **asdict(scenario)}))
    done = subprocess.run(
        [sys.executable, "-m", "bench.load", str(spec)],
        capture_output=True,
        text=True,
        check=True,
    )
    return _parse(done.stdout, "httpx")


async def _generate(spec: dict[str, object]) -> str:
    import httpx

    paths, bodies, tokens = (
        list(cast("list[str]", spec[k])) for k in ("paths", "bodies", "tokens")
    )
    latencies: list[float] = []
    bad = errors = 0
    stop = time.perf_counter() + float(str(spec["seconds"]))
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)

    async def worker(client: httpx.AsyncClient, n: int) -> None:
        nonlocal bad, errors
        while time.perf_counter() < stop:
            n += 1
            headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"} if tokens else {}
            body = bodies[n % len(bodies)] if bodies else None
            if body is not None:
                headers["Content-Type"] = "application/json"
            started = time.perf_counter()
            try:
                answer = await client.request(
                    str(spec["method"]), paths[n % len(paths)], headers=headers, content=body
                )
            except httpx.HTTPError:
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)
            bad += answer.status_code >= 400

    began = time.perf_counter()
    async with httpx.AsyncClient(base_url=str(spec["base"]), limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(client, i * 7919) for i in range(CONNECTIONS)))
    duration = time.perf_counter() - began
    latencies.sort()

    def pct(q: float) -> int:
        return int(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1e6)

    p50, p99 = (pct(0.5), pct(0.99)) if latencies else (0, 0)
    return f"BENCH {len(latencies)} {int(duration * 1e6)} {p50} {p99} {bad} {errors}"


if __name__ == "__main__":
    os.nice(0)
    print(asyncio.run(_generate(json.loads(Path(sys.argv[1]).read_text()))))
