"""Absolute addresses of this site's pages, for the API, feeds and anything else read away from the site.

They are made from `PAPERBOARD_BASE_URL`, never from the request: its Host header is whatever the client sent, and
a page kept by the page cache, a feed kept by a reader's proxy, would hand one client's Host to everyone after it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from paperboard.web.deps import app_settings


def site_url(request: Request) -> str:
    """The site's public address, without a trailing slash."""
    return app_settings(request).base_url.rstrip("/")


def absolute_url(request: Request, route: str, /, **path_params: Any) -> str:
    """The public address of a route's page; a path under the base URL (`https://example.org/papers`) is kept."""
    return str(request.app.url_path_for(route, **path_params).make_absolute_url(site_url(request)))
