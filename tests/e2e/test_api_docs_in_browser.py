"""`/docs` in Chromium: Swagger UI, served by the site itself, lists every operation of the API under the site's
Content-Security-Policy, and "Try it out" sends requests to the same site."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.conftest import LiveServer

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Chromium reports each refusal of the policy as a `securitypolicyviolation` event, which only the page can see.
RECORD_VIOLATIONS = """
window.policyViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.policyViolations.push(`${event.violatedDirective} refused ${event.blockedURI || "inline code"}`);
});
"""


@dataclass
class Complaints:
    """What the browser objected to while the page ran; each list must stay empty."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)


@pytest.fixture
def complaints(live_server, page) -> Iterator[Complaints]:
    found = Complaints()
    page.add_init_script(RECORD_VIOLATIONS)
    page.on("console", lambda message: found.console_errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: found.page_errors.append(str(error)))
    page.on("request", lambda request: _note_if_outside(request.url, live_server.base_url, found.outside_requests))
    yield found
    assert found == Complaints(), f"the browser complained: {found}"


def _schema(live_server: LiveServer) -> dict[str, Any]:
    response = httpx.get(live_server.url("/openapi.json"))
    response.raise_for_status()
    schema: dict[str, Any] = response.json()
    return schema


def _operations(live_server: LiveServer) -> list[tuple[str, str]]:
    paths = _schema(live_server)["paths"]
    return [(method, path) for path, item in paths.items() for method in item if method in HTTP_METHODS]


def _note_if_outside(url: str, base_url: str, outside: list[str]) -> None:
    if not url.startswith(base_url):
        outside.append(url)


def _operation(page: Page, method: str, path: str) -> Locator:
    """Swagger UI's block for one operation of the schema."""
    return page.locator(f".opblock-{method}").filter(has=page.locator(f'.opblock-summary-path[data-path="{path}"]'))


def _policy_violations(page: Page) -> list[str]:
    return page.evaluate("window.policyViolations")


def test_swagger_ui_lists_every_operation_under_the_sites_policy(live_server, page, complaints):
    operations = _operations(live_server)
    assert ("get", "/healthz") in operations

    page.goto(live_server.url("/"))
    page.get_by_role("link", name="API", exact=True).click()

    expect(page).to_have_url(live_server.url("/docs"))
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Paperboard")
    # The schema's description is Markdown, rendered by Swagger UI.
    expect(page.locator(".swagger-ui .info .description code", has_text="Authorization: Bearer")).to_have_count(1)
    for method, path in operations:
        expect(_operation(page, method, path)).to_have_count(1)
    # The stylesheet applies: Swagger UI colours each GET operation.
    get_colour = page.locator(".opblock-get .opblock-summary-method").first.evaluate(
        "element => getComputedStyle(element).backgroundColor"
    )
    assert get_colour not in ("rgba(0, 0, 0, 0)", "transparent")
    assert _policy_violations(page) == []


def test_try_it_out_sends_the_request_to_the_same_site(live_server, page, complaints):
    page.goto(live_server.url("/docs"))
    operation = _operation(page, "get", "/healthz")
    operation.locator(".opblock-summary-control").click()
    operation.get_by_role("button", name="Try it out").click()

    with page.expect_response(live_server.url("/healthz")) as sent:
        operation.get_by_role("button", name="Execute").click()

    assert sent.value.status == 200
    shown = operation.locator(".live-responses-table tbody")
    expect(shown.locator(".response-col_status")).to_have_text("200")
    expect(shown.locator(".response-col_description")).to_contain_text('"status": "ok"')
    assert _policy_violations(page) == []


def test_swagger_ui_follows_a_dark_colour_scheme(live_server, page, complaints):
    page.emulate_media(color_scheme="dark")
    page.goto(live_server.url("/docs"))

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Paperboard")
    expect(page.locator("html")).to_have_class("dark-mode")
    page.emulate_media(color_scheme="light")
    expect(page.locator("html")).not_to_have_class("dark-mode")
    assert _policy_violations(page) == []


def test_the_token_given_to_authorize_survives_a_reload(live_server, page, complaints):
    schemes = _schema(live_server).get("components", {}).get("securitySchemes", {})
    bearer = [name for name, scheme in schemes.items() if scheme.get("scheme", "").lower() == "bearer"]
    assert bearer, "the API declares no Bearer scheme, so Swagger UI would offer no Authorize button"
    page.goto(live_server.url("/docs"))
    page.locator(".swagger-ui .auth-wrapper").get_by_role("button", name="Authorize").click()
    dialog = page.locator(".swagger-ui .dialog-ux")
    dialog.locator(".auth-container").filter(has_text=bearer[0]).locator("input").fill("pb_a-token-for-the-test")
    dialog.get_by_role("button", name="Apply credentials").click()
    dialog.get_by_role("button", name="Close").click()

    page.reload()

    expect(page.locator(".swagger-ui .auth-wrapper .authorize")).to_have_class(re.compile(r"\blocked\b"))
    assert "pb_a-token-for-the-test" in page.evaluate("window.localStorage.getItem('authorized')")
    assert _policy_violations(page) == []
