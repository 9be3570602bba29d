"""Logging that carries a request id and cannot carry bodies or credentials."""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

# Anything that looks like a credential is masked even if a careless message includes it.
_SECRET_PATTERNS = [
    re.compile(
        r"(?i)(authorization|cookie|set-cookie|password|token|secret|totp|key)"
        r"(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|\S+)"
    ),
    re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"__Host-haven_session=[^;\s]+"),
]


def scrub(text: str) -> str:
    """Mask credential-shaped substrings."""
    text = _SECRET_PATTERNS[1].sub("Bearer [redacted]", text)
    text = _SECRET_PATTERNS[0].sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)
    return _SECRET_PATTERNS[2].sub("__Host-haven_session=[redacted]", text)


class RequestContextFilter(logging.Filter):
    """Adds the request id to every record and scrubs credential-shaped text."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        message = record.getMessage()
        record.msg = scrub(message)
        record.args = None
        return True


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure_logging(level: str = "INFO") -> None:
    """Install Haven's format and filter on the root handler (idempotent)."""
    root = logging.getLogger()
    root.setLevel(level)
    handler = next((h for h in root.handlers if getattr(h, "_haven", False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler._haven = True  # type: ignore[attr-defined]
        handler.addFilter(RequestContextFilter())
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
    # uvicorn's access log would print query strings; Haven logs its own access lines instead.
    logging.getLogger("uvicorn.access").disabled = True
