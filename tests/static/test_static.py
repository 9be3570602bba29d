"""The stylesheet is served by the app itself, cached by content hash, and is the only style."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from app.main import TEMPLATE_DIR
from app.static import FILES, static_url


def test_stylesheet_is_served_with_a_long_cache_and_its_hash(client: TestClient) -> None:
    url = static_url("haven.css")
    r = client.get(url)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/css")
    assert "immutable" in r.headers["cache-control"]
    assert "no-store" not in r.headers["cache-control"]
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert url.endswith("?v=" + FILES["haven.css"].digest)


def test_only_shipped_files_are_served(client: TestClient) -> None:
    for name in ("missing.css", "__init__.py", "..%2F__init__.py", "%2e%2e%2fconfig.py"):
        assert client.get(f"/static/{name}").status_code == 404, name


def test_pages_link_the_stylesheet(client: TestClient) -> None:
    r = client.get("/login")
    assert f'<link rel="stylesheet" href="{static_url("haven.css")}">' in r.text


def test_no_template_carries_inline_style_or_script() -> None:
    """The CSP refuses inline style and script: a template using them would break silently."""
    inline = re.compile(r"<style|<script(?![^>]*\bsrc=)|\sstyle=|\son[a-z]+=", re.IGNORECASE)
    offenders = [
        f"{path.relative_to(TEMPLATE_DIR)}: {m.group(0).strip()}"
        for path in sorted(Path(TEMPLATE_DIR).rglob("*.html"))
        for m in inline.finditer(path.read_text())
    ]
    assert not offenders, offenders
