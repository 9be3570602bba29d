"""The benchmark's server: exactly `haven serve`, plus one bare JSON route, the floor.

The floor (`GET /bench/floor`, answering `{"ok": true}`) shows what the server stack alone
costs: the same application factory (`app.main.create_app`), the same middleware (request
id, security headers, sealed gate, body limit) and the same uvicorn settings as `haven
serve`, because this module runs `haven serve` itself with the factory wrapped to add the
route. Every other figure of `make bench` is measured against this same process, so a
ratio compares like with like.

The route exists only here: nothing in `app/` imports `bench/`, and
`tests/bench/test_floor.py` checks that the production application has no such route.

Run: .venv/bin/python -m bench.floor --host 127.0.0.1 --port 8123 (HAVEN_* settings as
for `haven serve`).
"""

from __future__ import annotations

import sys
from typing import Any

from fastapi import FastAPI

FLOOR_PATH = "/bench/floor"


def add_floor(app: FastAPI) -> FastAPI:
    """Mount the bare JSON route on an application made by create_app."""

    async def floor() -> dict[str, bool]:
        return {"ok": True}

    app.add_api_route(FLOOR_PATH, floor, methods=["GET"], include_in_schema=False)
    return app


def main(argv: list[str] | None = None) -> None:
    """`haven serve` with the floor route added (same arguments)."""
    import app.main
    from app.cli import cli

    original = app.main.create_app

    def create_app_with_floor(*args: Any, **kwargs: Any) -> FastAPI:
        return add_floor(original(*args, **kwargs))

    # `haven serve` imports create_app from app.main when it runs: it finds this one.
    app.main.create_app = create_app_with_floor
    cli(["serve", *(sys.argv[1:] if argv is None else argv)], prog_name="haven")


if __name__ == "__main__":
    main()
