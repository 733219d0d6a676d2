"""Paging and request windows all CRM simulators share; each renders them in its CRM's shape.

A page is a slice of an ordered list and the offset its successor starts at (HubSpot sends
it as ``after``, Pipedrive v1 as ``next_start``, Pipedrive v2 inside an opaque cursor,
Salesforce inside a ``nextRecordsUrl`` locator). A fixed window counts requests the way
Pipedrive's burst limit and the ``rate=`` fault do. Parsing and bounding ``limit`` stays
with each simulator: HubSpot clamps it, Pipedrive refuses what is out of range.
"""

from __future__ import annotations

import base64
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    #: Where the next page starts; None on the last page.
    next: int | None


def page(items: Sequence[T], start: int, limit: int) -> Page[T]:
    """The ``limit`` items from offset ``start`` (ValueError for a negative start or a
    limit below 1: a simulator answers its CRM's 400 for those)."""
    if start < 0 or limit < 1:
        raise ValueError(f"no page starts at {start} with limit {limit}")
    end = start + limit
    return Page(items[start:end], end if end < len(items) else None)


def encode_cursor(offset: int) -> str:
    """An opaque cursor for ``offset`` (URL-safe base64 of ``{"offset": n}``, unpadded)."""
    raw = json.dumps({"offset": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The offset of a cursor :func:`encode_cursor` made; ValueError when it is not one."""
    padded = cursor + "=" * (-len(cursor) % 4)
    decoded = json.loads(base64.urlsafe_b64decode(padded))
    offset = decoded.get("offset") if isinstance(decoded, dict) else None
    if not isinstance(offset, int) or offset < 0:
        raise ValueError(f"bad cursor offset {offset!r}")
    return offset


@dataclass
class FixedWindow:
    """Requests counted in back-to-back windows of ``seconds``, from the first request."""

    seconds: float
    started: float = 0.0
    used: int = 0

    def hit(self, now: float | None = None) -> int:
        """Count one request; how many the current window has now."""
        now = time.monotonic() if now is None else now
        if now - self.started >= self.seconds:
            self.started, self.used = now, 0
        self.used += 1
        return self.used

    def reset_in(self, now: float | None = None) -> int:
        """Whole seconds (at least 1) until the current window ends: a Retry-After."""
        now = time.monotonic() if now is None else now
        return max(1, math.ceil(self.started + self.seconds - now))
