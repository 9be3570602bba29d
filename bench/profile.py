"""A sampling profile of the running server (py-spy, from the dev extra) while a scenario
loads it: the functions that hold the most samples, by own time and with what they call."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
# `haven serve` itself: the frame under the event loop, so under every request.
EVENT_LOOP = {"serve (app/cli.py)"}
FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


@dataclass(frozen=True)
class Profile:
    """Top lines of one profile: (share of samples, frame) by own time (any code, waits
    included), and by inclusive time in Haven's own code (app/)."""

    samples: int
    own: list[tuple[float, str]]
    inclusive: list[tuple[float, str]]
    error: str | None = None


def _short(frame: str) -> str:
    found = FRAME.match(frame)
    if not found:
        return frame
    path = found["file"]
    for marker in ("/site-packages/", "/lib/python3.11/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        if "/app/" in path:
            path = "app/" + path.split("/app/", 1)[1]
    return f"{found['func']} ({path})"


def summarise(collapsed: str, top: int = 12) -> Profile:
    """Own and inclusive shares from py-spy's raw (collapsed stack) output."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_short(f) for f in stack.split(";")]
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            if " (app/" in frame and frame not in EVENT_LOOP:
                inclusive[frame] += n
    if not total:
        return Profile(samples=0, own=[], inclusive=[], error="no samples")

    def shares(counter: Counter[str]) -> list[tuple[float, str]]:
        return [(n / total, f) for f, n in counter.most_common(top)]

    return Profile(samples=total, own=shares(own), inclusive=shares(inclusive))


def record(pid: int, seconds: float, out: Path, load: Callable[[], object]) -> Profile:
    """Profile process `pid` for `seconds` while `load()` runs in another thread."""
    if not Path(PY_SPY).exists():
        return Profile(0, [], [], error="py-spy is not installed (make install)")
    worker = threading.Thread(target=load)
    command = [PY_SPY, "record", "--pid", str(pid), "--duration", str(int(seconds))]
    command += ["--rate", "100", "--format", "raw", "--nonblocking", "--output", str(out)]
    worker.start()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    worker.join()
    if done.returncode != 0 or not out.exists():
        return Profile(0, [], [], error=(done.stderr.strip().splitlines() or ["py-spy failed"])[-1])
    return summarise(out.read_text())
