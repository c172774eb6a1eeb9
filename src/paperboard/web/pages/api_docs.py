"""The API's interactive documentation at /docs: Swagger UI, served by the site itself, reading /openapi.json.

FastAPI's own /docs loads Swagger UI from a CDN, which the site's Content-Security-Policy refuses; this page loads
the copy in static/vendor/swagger-ui (scripts/vendor-assets) and starts it from static/api-docs.js, since the policy
refuses inline scripts too. Swagger UI needs nothing else the policy forbids: React sets its inline styles through
the DOM, and its stylesheet's icons are `data:` images, which `img-src` allows.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from paperboard.web.templating import templates

router = APIRouter()


@router.get("/docs", name="api_docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "api_docs.html")
