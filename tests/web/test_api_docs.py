"""`/docs`: the API's interactive documentation, with every file it loads served by the site itself, and the OpenAPI
schema it reads. tests/e2e/test_api_docs_in_browser.py runs the page in Chromium."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from paperboard.web.app import SECURITY_HEADERS
from tests.markup import elements

SWAGGER_UI = "/static/vendor/swagger-ui/"
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css"}


@pytest.fixture
def client(sqlite_database, client_for) -> TestClient:
    return client_for(sqlite_database)


def _assets(html: str) -> list[str]:
    """The scripts and stylesheets a page makes the browser fetch."""
    page = elements(html)
    scripts = [value for tag, name, value in page.attributes if tag == "script" and name == "src" and value]
    stylesheets = [value for tag, name, value in page.attributes if tag == "link" and name == "href" and value]
    return [path for path in scripts + stylesheets if not path.startswith("data:")]


def test_the_page_is_served_under_the_sites_own_policy(client):
    response = client.get("/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
    scripts = re.findall(r"<script\b[^>]*>", response.text)
    assert scripts and all(" src=" in script for script in scripts), "the policy refuses inline scripts"
    page = elements(response.text)
    assert "/openapi.json" in page.values_of("data-openapi-url")
    # Without JavaScript, the page still says where the schema is.
    assert "/openapi.json" in page.values_of("href")


def test_every_file_the_page_loads_comes_from_the_site(client):
    assets = _assets(client.get("/docs").text)

    assert {SWAGGER_UI + "swagger-ui-bundle.js", SWAGGER_UI + "swagger-ui.css", "/static/api-docs.js"} <= set(assets)
    for path in assets:
        assert path.startswith("/static/"), f"{path} is not served by the site"
        response = client.get(path)
        assert response.status_code == 200, path
        expected = CONTENT_TYPES[path[path.rindex(".") :]]
        assert response.headers["content-type"].startswith(expected), (path, response.headers["content-type"])
        assert response.content, path


def test_swagger_ui_goes_with_its_licences(client):
    for name in ("LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt"):
        response = client.get(SWAGGER_UI + name)
        assert response.status_code == 200, name
    assert "Apache License" in client.get(SWAGGER_UI + "LICENSE").text


def test_the_schema_is_openapi_3_and_introduces_the_api(client):
    response = client.get("/openapi.json")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Paperboard"
    description = schema["info"]["description"]
    assert "Hugging Face" in description
    assert '`{"error": message}`' in description
    assert "`Authorization: Bearer <token>`" in description


def test_the_schema_describes_the_api_not_the_pages(client):
    paths = client.get("/openapi.json").json()["paths"]

    assert "/healthz" in paths
    for page in ("/", "/docs", "/login", "/papers/{arxiv_id}", "/papers/{arxiv_id}/upvote"):
        assert page not in paths, page


def test_every_page_links_to_the_documentation(client):
    for path in ("/papers/recent", "/login", "/a/page/that/does/not/exist"):
        page = elements(client.get(path).text)
        assert "/docs" in page.values_of("href"), path
