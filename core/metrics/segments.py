"""Segments (filters that narrow the records a KPI reads) and breakdowns (groupings)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, true
from sqlalchemy.sql import ColumnElement, FromClause

from core.errors import ValidationError
from core.metrics.dimensions import REQUIRED_COLUMN, Dimension, DimensionRef, filter_clause
from core.metrics.sources import has_column
from core.metrics.types import Entity

#: Dimensions whose values are our numeric row ids.
_NUMERIC_IDS = frozenset({Dimension.OWNER, Dimension.TEAM, Dimension.PIPELINE, Dimension.STAGE})
#: Largest ``top`` a breakdown accepts.
MAX_TOP = 200


@dataclass(frozen=True, slots=True)
class Segment:
    """Filters combined with AND; the values of one filter combine with OR.

    Hashable, so requests sharing a segment are batched into the same SQL statements.
    """

    filters: tuple[tuple[DimensionRef, tuple[str, ...]], ...] = ()

    @classmethod
    def of(cls, filters: Iterable[tuple[DimensionRef, Iterable[str]]]) -> Segment:
        """A canonical segment: empty filters dropped, values de-duplicated and sorted."""
        kept: dict[DimensionRef, tuple[str, ...]] = {}
        for ref, values in filters:
            vals = tuple(sorted(set(values)))
            if ref.dimension in _NUMERIC_IDS and not all(v.isdigit() for v in vals):
                raise ValidationError(
                    f"{ref.dimension.value.lower()} ids must be the numeric ids of the API"
                )
            if vals:
                kept[ref] = tuple(sorted(set(kept.get(ref, ()) + vals)))
        return cls(
            tuple(sorted(kept.items(), key=lambda item: (item[0].dimension, item[0].field or "")))
        )

    def unsupported(self, entity: Entity) -> list[DimensionRef]:
        """Filters that ``entity``'s rows cannot be narrowed by (e.g. pipeline for leads)."""
        return [
            ref for ref, _ in self.filters if not has_column(entity, REQUIRED_COLUMN[ref.dimension])
        ]

    def clause(self, src: FromClause) -> ColumnElement[bool]:
        if not self.filters:
            return true()
        return and_(*(filter_clause(src, ref, values) for ref, values in self.filters))


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Group by one dimension; the ``top`` groups by value, the rest in an "other" bucket."""

    by: DimensionRef
    top: int = 10

    def __post_init__(self) -> None:
        if not 1 <= self.top <= MAX_TOP:
            raise ValidationError(f"breakdown top must be between 1 and {MAX_TOP}")

    def supported(self, entity: Entity) -> bool:
        return has_column(entity, REQUIRED_COLUMN[self.by.dimension])
