"""HubSpot-shaped answers of the simulator: pages, errors, boolean parameters."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from connectors.hubspot.simulator.errors import error_body
from core.simulation.paging import page


def _limit(request: Request, *, default: int, maximum: int) -> int:
    raw = request.query_params.get("limit")
    return min(maximum, max(1, int(raw))) if raw and raw.isdigit() else default


def _offset_page(request: Request, items: list[bytes], *, default: int, maximum: int) -> Response:
    limit = _limit(request, default=default, maximum=maximum)
    after = request.query_params.get("after") or "0"
    if not after.isdigit():
        return JSONResponse(error_body(f"Invalid after: {after}", "VALIDATION_ERROR"), 400)
    found = page(items, int(after), limit)
    return _json(_page(list(found.items), None if found.next is None else str(found.next)))


def _page(chunk: list[bytes], after: str | None) -> bytes:
    body = b'{"results":[' + b",".join(chunk) + b"]"
    if after is not None:
        link = f'"paging":{{"next":{{"after":"{after}","link":"?after={after}"}}}}'
        body += b"," + link.encode()
    return body + b"}"


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _flag(value: str | None) -> bool:
    """A boolean query parameter: ``true`` as documented, ``True`` as the Python SDK sends."""
    return (value or "").lower() == "true"


def _missing_scopes(*scopes: str) -> Response:
    """HubSpot's 403 for a token without the scopes a call needs."""
    body = error_body(
        "This app hasn't been granted all required scopes to make this call. Read more "
        "about required scopes here: https://developers.hubspot.com/scopes.",
        "MISSING_SCOPES",
        errors=[
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": list(scopes)},
            }
        ],
        links={"scopes": "https://developers.hubspot.com/scopes"},
    )
    return JSONResponse(body, status_code=403)


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def _not_found(what: str) -> Response:
    body = error_body(f"Unable to infer object type from: {what}", "OBJECT_NOT_FOUND")
    return JSONResponse(body, status_code=404)


def _without_trailing_slash(app: Any) -> Any:
    async def strip(scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/"), "raw_path": path.rstrip("/").encode()}
        await app(scope, receive, send)

    return strip
