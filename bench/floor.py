"""The benchmark's server: exactly `haven serve`, plus one bare JSON route, the floor.

The floor (`GET /bench/floor`, answering `{"ok": true}`) shows what the server stack alone
costs: the same application factory (`app.main.create_app`), the same middleware (request
id, security headers, sealed gate, body limit) and the same uvicorn settings as `haven
serve`, because this module runs `haven serve` itself with the factory wrapped to add the
route. Every other figure of `make bench` is measured against this same process, so a
ratio compares like with like.

Two more routes make a ladder from the floor to an audited read, each adding one layer
that every signed-in API call pays: `GET /bench/floor/thread`, the same answer from a plain
`def` route (FastAPI runs it on the thread pool, as every Haven route); and
`GET /bench/floor/signed-in`, a `def` route behind `require()` (the unit of work, the session
and account lookup, the caller's teams, the permission check), answering before any case is
touched. The audited read adds the rest: the case and its scope, the data key, decryption,
redaction, the audit entry.

The routes exist only here: nothing in `app/` imports `bench/`, and
`tests/bench/test_floor.py` checks that the production application has no such route.

Run: .venv/bin/python -m bench.floor --host 127.0.0.1 --port 8123 (HAVEN_* settings as
for `haven serve`).
"""

from __future__ import annotations

import sys
from typing import Any

from fastapi import FastAPI

FLOOR_PATH = "/bench/floor"
THREAD_PATH = "/bench/floor/thread"
SIGNED_IN_PATH = "/bench/floor/signed-in"


def add_floor(app: FastAPI) -> FastAPI:
    """Mount the bare JSON route (and the ladder's two) on an application made by create_app."""
    from app.policy.deps import Actor, require
    from app.policy.permissions import Permission

    async def floor() -> dict[str, bool]:
        return {"ok": True}

    def thread() -> dict[str, bool]:
        return {"ok": True}

    def signed_in(actor: Actor = require(Permission.CASE_READ)) -> dict[str, bool]:
        return {"ok": True}

    for path, route in ((FLOOR_PATH, floor), (THREAD_PATH, thread), (SIGNED_IN_PATH, signed_in)):
        app.add_api_route(path, route, methods=["GET"], include_in_schema=False)
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
