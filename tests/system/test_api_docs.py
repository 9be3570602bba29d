"""The API documentation page: served by Haven from pinned, vendored Swagger UI files with
their licence, public like the OpenAPI document, under the same strict CSP as every page."""

from __future__ import annotations

import hashlib
import re

from fastapi.testclient import TestClient

from app.security.headers import CSP
from app.static import HERE

VENDORED = HERE / "swagger-ui"


def test_docs_page_is_served_under_the_strict_csp(client: TestClient) -> None:
    r = client.get("/api/v1/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-security-policy"] == CSP
    assert "'unsafe-inline'" not in CSP
    assert "'unsafe-eval'" not in CSP
    assert "<style" not in r.text
    assert " style=" not in r.text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", r.text, re.S)
    assert scripts
    for attributes, body in scripts:
        assert body.strip() == "", "inline script"
        assert re.search(r'src="/static/[^"]+"', attributes), attributes
    assert not re.search(r"(src|href)=\"(https?:)?//", r.text), "a file from another host"
    for url in re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text):
        assert client.get(url).status_code == 200, url


def test_vendored_swagger_ui_is_the_pinned_release_with_its_licence() -> None:
    readme = (VENDORED / "README.txt").read_text()
    pinned = dict(
        re.findall(r"^\s+(swagger-ui[\w.-]*\.(?:js|css))\s+([0-9a-f]{64})$", readme, re.M)
    )
    assert set(pinned) == {"swagger-ui-bundle.js", "swagger-ui.css"}
    for name, digest in pinned.items():
        assert hashlib.sha256((VENDORED / name).read_bytes()).hexdigest() == digest, name
    assert "Apache License" in (VENDORED / "LICENSE").read_text()
    assert (VENDORED / "NOTICE").exists()
    assert (VENDORED / "swagger-ui-bundle.js.LICENSE.txt").exists()


def test_docs_script_reads_no_url_parameters_and_sends_nothing() -> None:
    init = (HERE / "api-docs.js").read_text()
    assert 'url: "/api/v1/openapi.json"' in init
    assert "queryConfigEnabled: false" in init
    assert "validatorUrl: null" in init
    assert "supportedSubmitMethods: []" in init
