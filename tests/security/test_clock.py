"""The clock every expiry is judged by: the system's is UTC and aware (a naive time would
compare wrongly with every stored expiry, or not at all), and a route gets the app's own
clock (the one the tests freeze and a server keeps), never a fresh one."""

from __future__ import annotations

import time
from datetime import UTC, timedelta
from types import SimpleNamespace
from typing import Any, cast

from app.security.clock import FrozenClock, SystemClock, get_clock


def test_the_system_clock_is_utc_and_aware() -> None:
    before = time.time()
    now = SystemClock().now()
    after = time.time()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert now.tzinfo == UTC
    assert before - 1 <= now.timestamp() <= after + 1


def test_a_route_gets_the_apps_own_clock() -> None:
    clock = FrozenClock()
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(clock=clock)))
    assert get_clock(cast(Any, request)) is clock
