"""Generic paginators; the loop invariant (no repeated token) lives in the base class."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from core.sync.connector import Request

TToken = TypeVar("TToken")


class BasePaginator(ABC, Generic[TToken]):
    """Turns a page into the request of the next one. Stateless: tokens come from the page."""

    @abstractmethod
    def next_token(self, page: Any) -> TToken | None:
        """The token of the next page, or None when this was the last page."""

    @abstractmethod
    def apply(self, request: Request, token: TToken) -> Request:
        """``request`` changed to ask for the page of ``token``."""

    def next_request(self, page: Any, request: Request) -> Request | None:
        token = self.next_token(page)
        if token is None:
            return None
        nxt = self.apply(request, token)
        if nxt == request:
            raise RuntimeError(f"paginator returned the same request twice: {request!r}")
        return nxt


def _dig(page: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(page, Mapping):
            return None
        page = page.get(key)
    return page


class CursorPaginator(BasePaginator[str]):
    """An opaque cursor found at ``token_path`` and sent as query param (or JSON body key)."""

    def __init__(self, token_path: tuple[str, ...], param: str, *, in_body: bool = False):
        self.token_path = token_path
        self.param = param
        self.in_body = in_body

    def next_token(self, page: Any) -> str | None:
        token = _dig(page, self.token_path)
        return None if token in (None, "") else str(token)

    def apply(self, request: Request, token: str) -> Request:
        if self.in_body:
            return replace(request, json={**(request.json or {}), self.param: token})
        return replace(request, params={**(request.params or {}), self.param: token})


class OffsetPaginator(BasePaginator[int]):
    """Offset pages: the next start at ``next_path``, stop when ``more_path`` is false."""

    def __init__(self, next_path: tuple[str, ...], more_path: tuple[str, ...], param: str):
        self.next_path = next_path
        self.more_path = more_path
        self.param = param

    def next_token(self, page: Any) -> int | None:
        if not _dig(page, self.more_path):
            return None
        token = _dig(page, self.next_path)
        return None if token is None else int(token)

    def apply(self, request: Request, token: int) -> Request:
        return replace(request, params={**(request.params or {}), self.param: token})


class NextUrlPaginator(BasePaginator[str]):
    """The next page's URL (relative or absolute) at ``url_path``; Salesforce nextRecordsUrl."""

    def __init__(self, url_path: tuple[str, ...]):
        self.url_path = url_path

    def next_token(self, page: Any) -> str | None:
        url = _dig(page, self.url_path)
        return None if not url else str(url)

    def apply(self, request: Request, token: str) -> Request:
        return replace(request, method="GET", path=token, params=None, json=None)
