"""The API documentation page in a real browser: Swagger UI renders the OpenAPI document
under the same strict CSP as every page, and nothing is fetched from anywhere else."""

from __future__ import annotations

from collections.abc import Callable

from tests.browser.conftest import Tab

OpenTab = Callable[..., Tab]


def test_api_docs_render_under_the_strict_csp(open_tab: OpenTab) -> None:
    tab = open_tab()
    tab.go("/api/v1/docs")
    page = tab.page
    page.wait_for_selector(".opblock-tag", timeout=30_000)
    assert page.locator(".info .title").inner_text().startswith("Haven")
    assert page.locator(".opblock").count() > 20
    # No way to send requests from the page.
    assert page.locator("button.try-out__btn").count() == 0
    page.locator(".opblock-summary").first.click()
    page.wait_for_selector(".opblock-body", timeout=10_000)
    tab.shot("api-docs")
    assert not [m for m in tab.console if m.startswith(("error", "pageerror"))], (
        tab.console,
        tab.requests,
    )
    tab.assert_clean()


def test_api_docs_without_javascript_point_to_the_document(open_tab: OpenTab) -> None:
    tab = open_tab(javascript=False)
    tab.go("/api/v1/docs")
    link = tab.page.locator("noscript a, a[href='/api/v1/openapi.json']")
    assert "/api/v1/openapi.json" in tab.page.content()
    assert link.count() >= 1
