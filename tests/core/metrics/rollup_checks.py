"""Helpers of the rollup tests: the maintained rollups compared with a rebuild, results
compared leaf by leaf (floats to rounding: a sum of day sums adds in another order)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from core.metrics.rollup_rules import (
    ACTIVITY_COLUMNS,
    ACTIVITY_KINDS,
    DEAL_COLUMNS,
    DEAL_KINDS,
    rollup_rows,
)
from core.models import ActivityDay, DealDay


def _normal(row: Any) -> tuple[Any, ...]:
    out = []
    for value in row:
        if isinstance(value, float):
            value = round(value, 3)
        elif value is not None and not isinstance(value, str | int):
            value = round(float(value), 3)  # Decimal sums
        out.append(value)
    return tuple(out)


async def assert_maintained(conn: AsyncConnection, workspace_id: str) -> None:
    """The rollup rows of the workspace equal those computed from the base tables."""
    for model, kinds, columns in (
        (DealDay, DEAL_KINDS, DEAL_COLUMNS),
        (ActivityDay, ACTIVITY_KINDS, ACTIVITY_COLUMNS),
    ):
        table = model.__table__.c
        stored = (
            await conn.execute(
                select(*(table[c] for c in columns)).where(table.workspace_id == workspace_id)
            )
        ).all()
        computed = []
        for kind in kinds:
            rows = rollup_rows(model, kind, [workspace_id]).subquery()
            computed += (await conn.execute(select(*(rows.c[c] for c in columns)))).all()
        assert sorted(map(_normal, stored), key=repr) == sorted(map(_normal, computed), key=repr)


def leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every scalar of a result (dataclasses, tuples, dicts), with its path."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [
            leaf
            for f in dataclasses.fields(value)
            for leaf in leaves(getattr(value, f.name), f"{path}.{f.name}")
        ]
    if isinstance(value, list | tuple):
        return [leaf for i, v in enumerate(value) for leaf in leaves(v, f"{path}[{i}]")]
    if isinstance(value, dict):
        return [leaf for k in sorted(value) for leaf in leaves(value[k], f"{path}.{k}")]
    return [(path, value)]


def assert_same(rolled: Any, base: Any) -> None:
    """Equal results: every leaf equal, floats to 1e-9 relative (sums in another order)."""
    a, b = leaves(rolled), leaves(base)
    only = sorted({p for p, _ in a} ^ {p for p, _ in b})
    assert not only, (getattr(rolled, "name", None), only[:5])
    for (path, x), (_, y) in zip(a, b, strict=True):
        if isinstance(x, float) and isinstance(y, float):
            assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9), (path, x, y)
        else:
            assert x == y, (path, x, y)
