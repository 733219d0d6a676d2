"""Keyset pagination by integer id, shared by every record list and drill-down.

Pages are ordered by id and continue *after* the last id seen, so a page costs one indexed
range scan however deep it is (no OFFSET), and rows inserted by a running sync never shift
the pages a dashboard is walking through. The cursor is the id, base64-encoded with the
list's kind so a cursor of one list is refused by another.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, select

from api.session import SerialSession
from api.types.pagination import Connection, Edge, PageInfo
from core.errors import ValidationError

RowT = TypeVar("RowT")
NodeT = TypeVar("NodeT")

DEFAULT_PAGE_SIZE = 50


def encode_cursor(kind: str, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{row_id}".encode()).decode()


def decode_cursor(kind: str, cursor: str) -> int:
    """The id a cursor points after; a malformed or foreign cursor is a clear error."""
    try:
        decoded = base64.urlsafe_b64decode(cursor.encode()).decode()
        prefix, _, raw = decoded.partition(":")
        if prefix != kind or not 0 <= int(raw) < 2**63:
            raise ValueError(prefix)
        return int(raw)
    except (ValueError, binascii.Error, UnicodeError):
        raise ValidationError(
            f"invalid cursor {cursor[:40]!r}: pass an endCursor of this list"
        ) from None


def check_page_size(first: int, maximum: int, argument: str = "first") -> int:
    """``first`` if within 1..maximum; the error names the caller's ``argument``."""
    if not 1 <= first <= maximum:
        raise ValidationError(f"{argument} must be between 1 and {maximum}, not {first}")
    return first


async def paginate(
    session: SerialSession,
    model: type[Any],
    conditions: Sequence[ColumnElement[bool]],
    *,
    kind: str,
    first: int,
    after: str | None,
    to_node: Callable[[Any], NodeT],
) -> Connection[NodeT]:
    """One page of ``model`` rows matching ``conditions``, plus the total count (2 queries)."""
    after_id = decode_cursor(kind, after) if after else None
    page_stmt = select(model).where(*conditions)
    if after_id is not None:
        page_stmt = page_stmt.where(model.id > after_id)
    rows = list((await session.scalars(page_stmt.order_by(model.id).limit(first + 1))).all())
    total = await session.scalar(select(func.count()).select_from(model).where(*conditions))
    has_next = len(rows) > first
    rows = rows[:first]
    edges = [Edge(cursor=encode_cursor(kind, r.id), node=to_node(r)) for r in rows]
    return _connection(edges, int(total or 0), has_next=has_next, has_previous=after_id is not None)


def _connection(
    edges: list[Edge[NodeT]], total: int, *, has_next: bool, has_previous: bool
) -> Connection[NodeT]:
    return Connection(
        total_count=total,
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


def encode_part_cursor(kind: str, part: int, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{part}:{row_id}".encode()).decode()


def decode_part_cursor(kind: str, cursor: str, parts: int) -> tuple[int, int]:
    """The (part, id) a cursor of a multi-part list points after; foreign ones refused."""
    try:
        decoded = base64.urlsafe_b64decode(cursor.encode()).decode()
        prefix, part, raw = decoded.rsplit(":", 2)
        if prefix != kind or not 0 <= int(part) < parts or not 0 <= int(raw) < 2**63:
            raise ValueError(prefix)
        return int(part), int(raw)
    except (ValueError, binascii.Error, UnicodeError):
        raise ValidationError(
            f"invalid cursor {cursor[:40]!r}: pass an endCursor of this list"
        ) from None


async def paginate_parts(
    session: SerialSession,
    parts: Sequence[tuple[type[Any], ColumnElement[bool]]],
    *,
    kind: str,
    first: int,
    after: str | None,
    to_node: Callable[[Any], NodeT],
) -> Connection[NodeT]:
    """One page of a list made of several parts (a model and a condition each), walked part
    after part and by id within a part (keyset, as :func:`paginate`).

    Costs one count statement plus one statement per part the page touches: at most the
    number of parts, however large the page.
    """
    part, after_id = decode_part_cursor(kind, after, len(parts)) if after else (0, None)
    rows: list[tuple[int, Any]] = []
    for index in range(part, len(parts)):
        model, condition = parts[index]
        stmt = select(model).where(condition)
        if index == part and after_id is not None:
            stmt = stmt.where(model.id > after_id)
        limit = first + 1 - len(rows)
        found = (await session.scalars(stmt.order_by(model.id).limit(limit))).all()
        rows += [(index, r) for r in found]
        if len(rows) > first:
            break
    counts = [
        select(func.count()).select_from(model).where(condition).scalar_subquery()
        for model, condition in parts
    ]
    total = sum(int(n or 0) for n in (await session.execute(select(*counts))).one())
    has_next = len(rows) > first
    edges = [
        Edge(cursor=encode_part_cursor(kind, index, r.id), node=to_node(r))
        for index, r in rows[:first]
    ]
    return _connection(edges, total, has_next=has_next, has_previous=after is not None)
