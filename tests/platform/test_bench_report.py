"""`make bench`'s bookkeeping: RESULTS.md keeps its hand-written sections, wrk's line and
py-spy's stacks are read as they are written, and request bodies survive the Lua script."""

import json
from pathlib import Path
from typing import Any

import pytest

from bench import load, profile, report

HAND = "## Audit\n\nVerification: 680,776 entries/s (2026-11-26).\n\n## Encryption at rest\n\nraw\n"


def _fake_render(text: str) -> Any:
    def render(*_args: object) -> str:
        return f"{report.START}\n\n{text}\n\n{report.END}\n"

    return render


def test_results_keep_the_hand_written_sections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n" + HAND)
    monkeypatch.setattr(report, "render", _fake_render("first run: 437 req/s"))
    report.write(results, {}, [], None)
    monkeypatch.setattr(report, "render", _fake_render("second run: 512 req/s"))
    report.write(results, {}, [], None)
    text = results.read_text()
    assert text.startswith("# Benchmark results\n\n" + report.START)
    assert "second run: 512 req/s" in text
    assert "first run" not in text
    assert text.count(report.START) == 1
    assert text.count(report.END) == 1
    assert text.endswith(HAND)


def test_wrk_line_is_read_in_microseconds() -> None:
    output = (
        "Running 5s test\n  2 threads and 16 connections\nBENCH 2207 5012345 38100 145000 3 1\n"
    )
    got = load._parse(output, "wrk")
    assert got.requests == 2207
    assert got.rps == pytest.approx(2207 / 5.012345)
    assert (got.p50_ms, got.p99_ms) == (38.1, 145.0)
    assert (got.bad_status, got.socket_errors) == (3, 1)


def test_lua_script_carries_bodies_and_tokens_intact() -> None:
    body = json.dumps({"name": 'Ол"ег \\ Примеров'}, ensure_ascii=False)
    script = load.lua_script(
        load.Scenario("search", "search", "POST", ["/api/v1/cases/search"], ["hvn_t"], [body])
    )
    line = next(x for x in script.splitlines() if x.startswith("local bodies"))
    literal = line.split("{", 1)[1].rsplit("}", 1)[0]
    assert literal.isascii()
    assert json.loads(json.loads(literal)) == json.loads(body)
    assert 'local tokens = {"hvn_t"}' in script


def test_profile_shares_own_and_inclusive_time() -> None:
    collapsed = "\n".join(
        [
            "run (uvicorn/server.py:1);serve (app/cli.py:117);select (selectors.py:9) 6",
            "work (anyio/x.py:1);read_case (app/cases/api.py:5);view (app/cases/service.py:9) 3",
            "work (anyio/x.py:1);read_case (app/cases/api.py:5);do_commit (sqlalchemy/e.py:2) 1",
        ]
    )
    found = profile.summarise(collapsed, top=3)
    assert found.samples == 10
    assert found.own[0] == (0.6, "select (selectors.py)")
    assert {f: s for s, f in found.inclusive} == {
        "read_case (app/cases/api.py)": 0.4,
        "view (app/cases/service.py)": 0.3,
    }


def test_ladder_gives_cpu_per_request_and_its_ratio_to_the_floor() -> None:
    def fig(rps: float, cpu: float) -> dict[str, Any]:
        return {"rps": rps, "server_cpu": cpu}

    figures = {
        "floor": fig(2000, 1.0),  # 0.50 ms a request
        "thread": fig(1000, 0.8),  # 0.80
        "signed_in": fig(400, 1.0),  # 2.50
        "read": fig(200, 0.9),  # 4.50
        "list": fig(100, 0.6),  # 6.00
    }
    partial = {"backend": "postgresql", "cases": 10, "figures": {"floor": fig(1, 1)}}
    rows = report._ladder([{"backend": "sqlite", "cases": 1000, "figures": figures}, partial])
    assert rows[2:] == [
        "| sqlite | 1,000 | 0.50 | 0.80 | 1.6 | 2.50 | 5.0 | 4.50 | 9.0 | 6.00 | 12.0 |"
    ]  # a step measured before the ladder existed has no row


def test_the_run_measures_audit_verification_on_a_log_of_its_own() -> None:
    """`make bench` keeps the audit verification figure current: the verifier is run on a
    log it builds, and its rows (intact, entries/s) come back for RESULTS.md."""
    lines = report.audit_run(300, None)
    rows = [line.split(" | ") for line in lines if line.startswith("| sqlite")]
    assert [r[1] for r in rows] == ["as shipped (2 workers)", "one process"], lines
    assert all(r[-1].rstrip(" |") == "True" for r in rows), lines
    assert all(float(r[3].replace(",", "")) > 0 for r in rows), lines
