"""A coarse name for the device a session was opened from, for "my sessions": a browser
family and a system from short fixed lists of proper names (the same in every language),
never the User-Agent string itself, which would be one more thing that tells one person's
devices apart."""

from __future__ import annotations

# Checked in order: the first that appears names it (Edge and Opera say "Chrome" too).
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("python-httpx/", "Python"),
    ("python-requests/", "Python"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def device_summary(user_agent: str | None) -> str | None:
    """ "Firefox, Linux", "Chrome, Android", or None when nothing is recognised."""
    if not user_agent:
        return None
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    parts = [p for p in (browser, system) if p]
    return ", ".join(parts) or None
