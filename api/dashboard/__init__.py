"""The dashboard page: static files served at ``/dashboard``, with no build step.

The page talks to the server only through the public GraphQL API with an API key, so it is
also the worked example for frontend teams. Only the files listed in :data:`ASSETS` are
served (never the Python files beside them), with a strict Content-Security-Policy: the
page loads nothing from elsewhere and runs no inline script.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

DASHBOARD_DIR = Path(__file__).parent
#: The page's files and their media types; anything else under /dashboard/ is a 404.
ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "graphql.js": "text/javascript; charset=utf-8",
    "queries.js": "text/javascript; charset=utf-8",
    "charts.js": "text/javascript; charset=utf-8",
    "drill.js": "text/javascript; charset=utf-8",
    "format.js": "text/javascript; charset=utf-8",
    "widgets.js": "text/javascript; charset=utf-8",
    "funnel.js": "text/javascript; charset=utf-8",
    "clients.js": "text/javascript; charset=utf-8",
    "csv.js": "text/javascript; charset=utf-8",
    "events.js": "text/javascript; charset=utf-8",
    "key.js": "text/javascript; charset=utf-8",
    "menus.js": "text/javascript; charset=utf-8",
    "view.js": "text/javascript; charset=utf-8",
}
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The page is small and changes with the server: always revalidate (ETag does the rest).
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@router.get("/dashboard")
async def dashboard_redirect(request: Request) -> Response:
    """``/dashboard`` -> ``/dashboard/`` (query kept), so the page's relative URLs resolve."""
    query = request.url.query
    return RedirectResponse(f"{request.url.path}/" + (f"?{query}" if query else ""), 307)


@router.get("/dashboard/")
async def dashboard_index() -> Response:
    return _asset("index.html")


@router.get("/dashboard/{name}")
async def dashboard_asset(name: str) -> Response:
    return _asset(name)


def _asset(name: str) -> Response:
    if name not in ASSETS:
        raise HTTPException(status_code=404)
    return FileResponse(DASHBOARD_DIR / name, media_type=ASSETS[name], headers=_HEADERS)
