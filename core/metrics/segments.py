"""Segments (filters that narrow the records read) and breakdowns (groupings).

One :class:`Segment` serves the metrics, user KPIs and the record lists (core.records): its
filters are dimensions of the catalogue (core.metrics.dimensions), validated here once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, true
from sqlalchemy.sql import ColumnElement, FromClause

from core.errors import ValidationError
from core.metrics.dimensions import CATALOGUE, Cols, DimensionRef, ValueKind, parse_record_id
from core.metrics.sources import has_column
from core.metrics.types import Entity

#: Largest ``top`` a breakdown accepts.
MAX_TOP = 200
#: Most values one segment filter accepts: a bigger list is a mistake or an abuse.
MAX_SEGMENT_VALUES = 100


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
            given = list(values)
            spec = CATALOGUE[ref.dimension]
            if len(given) > MAX_SEGMENT_VALUES:
                raise ValidationError(
                    f"segment.{spec.key} has more than {MAX_SEGMENT_VALUES} values"
                )
            vals = tuple(sorted(set(given)))
            if spec.kind is ValueKind.ID and any(parse_record_id(v) is None for v in vals):
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
        return [ref for ref, _ in self.filters if not applies(ref, entity)]

    def where(self, c: Cols) -> ColumnElement[bool]:
        """Rows of the column collection ``c`` (a source's or a record table's) in the
        segment."""
        if not self.filters:
            return true()
        return and_(*(CATALOGUE[ref.dimension].filter(c, ref, vals) for ref, vals in self.filters))

    def clause(self, src: FromClause) -> ColumnElement[bool]:
        return self.where(src.c)


def applies(ref: DimensionRef, entity: Entity) -> bool:
    """Whether metrics may filter or group ``entity``'s rows by ``ref``."""
    spec = CATALOGUE[ref.dimension]
    return spec.metrics and has_column(entity, spec.column)


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Group by one dimension; the ``top`` groups by value, the rest in an "other" bucket."""

    by: DimensionRef
    top: int = 10

    def __post_init__(self) -> None:
        if not 1 <= self.top <= MAX_TOP:
            raise ValidationError(f"breakdown top must be between 1 and {MAX_TOP}")

    def supported(self, entity: Entity) -> bool:
        return applies(self.by, entity)
