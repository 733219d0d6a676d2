"""Relay-style connections: ``edges { cursor node }``, ``pageInfo`` and ``totalCount``."""

from __future__ import annotations

from typing import Generic, TypeVar

import strawberry

NodeT = TypeVar("NodeT")


@strawberry.type(description="Where a page sits in its list (Relay cursor connections).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More records follow this page.")
    has_previous_page: bool = strawberry.field(description="Records precede this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge.")
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last edge: pass it as `after` for the next page."
    )


@strawberry.type(description="One record of a page and its cursor.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(description="Opaque position of this record.")
    node: NodeT = strawberry.field(description="The record.")


@strawberry.type(description="A page of records, with the number of records of the whole list.")
class Connection(Generic[NodeT]):
    total_count: int = strawberry.field(description="Records in the whole list, every page.")
    edges: list[Edge[NodeT]] = strawberry.field(description="The records of this page.")
    page_info: PageInfo = strawberry.field(description="How to get the next page.")
