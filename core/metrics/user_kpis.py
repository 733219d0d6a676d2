"""User-defined KPIs: a declaration (plain data, from JSON or YAML) -> measures and a KPI.

A declaration names one measure (``measure``) or a ratio of two (``numerator`` and
``denominator``). A measure is an entity, the time that places a record in the period, filters
written like a segment (``owners``, ``dealTypes``, ``custom``, ...) plus a few record fields
(a deal's ``status``, an activity's ``response``, ...), and an aggregate: ``count``, or
``sum`` / ``avg`` of a numeric field. Money fields are converted to the reporting currency like
the built-ins: at the close date's rate when the time is ``closed``, otherwise at the rate of
the period's last day. The result is the same :class:`Measure` and :class:`KpiDefinition`
objects built-ins are made of, so the same compiler, executor and cache answer them. User KPIs
are flow KPIs: every measure counts records whose time falls in the period.

Every mistake is a :class:`ValidationError` naming where it is (``numerator.filters.status``)
and what would be accepted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_
from sqlalchemy.sql import ColumnElement

from core.errors import ValidationError
from core.metrics.definitions import KpiDefinition
from core.metrics.dimensions import CATALOGUE, Dimension, DimensionRef
from core.metrics.formulas import Formula, Ratio, Single
from core.metrics.measures import Cols, Measure
from core.metrics.segments import Segment, applies
from core.metrics.types import Agg, Entity, Frame, FxDate, KpiKind, Unit
from core.models.enums import ActivityType, DealStatus, MeetingStatus, Response

#: GraphQL field names a user KPI may take (lowerCamelCase, as the built-ins).
NAME = re.compile(r"^[a-z][A-Za-z0-9]{0,79}$")
#: Names of ``Metrics`` fields that are not KPIs.
RESERVED = frozenset({"kpi"})
#: Segment keys (as in SegmentInput) and the dimension each filters by (the catalogue's).
SEGMENT_KEYS: dict[str, Dimension] = {
    spec.key: dim for dim, spec in CATALOGUE.items() if spec.metrics and dim is not Dimension.CUSTOM
}
AGGREGATES = ("count", "sum", "avg")


@dataclass(frozen=True)
class NumericField:
    column: str
    money: bool = False


@dataclass(frozen=True)
class EntitySpec:
    """What a declaration may say about one entity: its times, numbers and record fields."""

    entity: Entity
    times: Mapping[str, str]
    numbers: Mapping[str, NumericField] = field(default_factory=dict)
    #: Record fields a filter may name -> (column, allowed values or None for free text).
    fields: Mapping[str, tuple[str, frozenset[str] | None]] = field(default_factory=dict)
    #: For leads and contacts, which share one source: the ``origin`` value to keep.
    origin: str | None = None


def _values(enum: Any) -> frozenset[str]:
    return frozenset(v.value for v in enum)


_PROSPECT_TIMES = {
    "created": "created_at",
    "mql": "mql_at",
    "sql": "sql_at",
    "converted": "conv_at",
}
ENTITIES: dict[str, EntitySpec] = {
    "deals": EntitySpec(
        Entity.DEALS,
        {"created": "remote_created_at", "closed": "closed_at"},
        {
            "amount": NumericField("amount", money=True),
            "cost": NumericField("cost", money=True),
            "recurringAmount": NumericField("recurring_amount", money=True),
            "probability": NumericField("probability"),
        },
        {"status": ("status", _values(DealStatus))},
    ),
    "leads": EntitySpec(Entity.PROSPECTS, _PROSPECT_TIMES, origin="lead"),
    "contacts": EntitySpec(Entity.PROSPECTS, _PROSPECT_TIMES, origin="contact"),
    "accounts": EntitySpec(Entity.ACCOUNTS, {"created": "remote_created_at"}),
    "activities": EntitySpec(
        Entity.ACTIVITIES,
        {"created": "remote_created_at", "done": "done_at", "due": "due_at"},
        fields={
            "outcome": ("outcome", None),
            "direction": ("direction", None),
            "meetingStatus": ("meeting_status", _values(MeetingStatus)),
            "response": ("response", _values(Response)),
            "type": ("type", _values(ActivityType)),
        },
    ),
}


@dataclass(frozen=True)
class MeasureSpec:
    """One validated measure of a declaration."""

    entity: EntitySpec
    time: str
    segment: Segment
    fields: tuple[tuple[str, tuple[str, ...]], ...]
    aggregate: str
    number: NumericField | None

    @property
    def money(self) -> bool:
        return self.number is not None and self.number.money

    def where(self, c: Cols, f: Frame) -> ColumnElement[bool]:
        """The rows' condition besides the period: the measures declare their time column,
        whose frame range every measure adds itself (Measure.where)."""
        conditions = []
        if self.entity.origin is not None:
            conditions.append(c.origin == self.entity.origin)
        for column, values in self.fields:
            conditions.append(c[column].in_(list(values)))
        if self.number is not None:
            conditions.append(c[self.number.column].is_not(None))
        return and_(*conditions, self.segment.where(c))

    def measures(self, prefix: str) -> tuple[list[Measure], str, str | None]:
        """The measures, the name of the value's cell and, for an average, the count's."""
        time = self.entity.times[self.time]
        if self.number is None:
            return (
                [Measure(prefix, self.entity.entity, Agg.COUNT, self.where, time=time)],
                prefix,
                None,
            )
        column = self.number.column
        if self.money:
            fx = FxDate.CLOSE if self.time == "closed" else FxDate.FRAME_END
            total = Measure(
                prefix,
                self.entity.entity,
                Agg.MONEY,
                self.where,
                lambda c, f: c[column],
                fx,
                time=time,
            )
            return [total], prefix, f"{prefix}.converted"
        total = Measure(
            prefix, self.entity.entity, Agg.SUM, self.where, lambda c, f: c[column], time=time
        )
        if self.aggregate != "avg":
            return [total], prefix, None
        count = Measure(f"{prefix}_n", self.entity.entity, Agg.COUNT, self.where, time=time)
        return [total, count], prefix, count.name


@dataclass(frozen=True)
class UserKpi:
    """A compiled declaration: the KPI and the measures it reads (registered together)."""

    definition: KpiDefinition
    measures: tuple[Measure, ...]


def _fail(path: str, message: str) -> ValidationError:
    return ValidationError(f"{path}: {message}" if path else message)


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(path, f"must be an object, not {type(value).__name__}")
    return value


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, "must be a non-empty string")
    return value.strip()


def _strings(value: Any, path: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _fail(path, "must be a non-empty list of strings")
    if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
        raise _fail(path, "must be a list of strings")
    return tuple(str(v) for v in value)


def _unknown_keys(spec: Mapping[str, Any], allowed: Sequence[str], path: str) -> None:
    extra = sorted(str(k) for k in set(spec) - set(allowed))
    if extra:
        raise _fail(path, f"unknown key {extra[0]!r} (allowed: {', '.join(allowed)})")


def _filters(
    value: Any, entity: EntitySpec, name: str, path: str
) -> tuple[Segment, tuple[tuple[str, tuple[str, ...]], ...]]:
    spec = _mapping(value, path)
    pairs: list[tuple[DimensionRef, tuple[str, ...]]] = []
    fields: list[tuple[str, tuple[str, ...]]] = []
    for key, raw in spec.items():
        where = f"{path}.{key}"
        if key == "custom":
            if not isinstance(raw, list) or not raw:
                raise _fail(where, 'must be a list of {"field": ..., "values": [...]}')
            for i, item in enumerate(raw):
                item = _mapping(item, f"{where}[{i}]")
                _unknown_keys(item, ("field", "values"), f"{where}[{i}]")
                ref = DimensionRef(
                    Dimension.CUSTOM, _string(item.get("field"), f"{where}[{i}].field")
                )
                pairs.append((ref, _strings(item.get("values"), f"{where}[{i}].values")))
            if not applies(DimensionRef(Dimension.CUSTOM, "-"), entity.entity):
                raise _fail(where, f"{name} have no custom fields")
            continue
        if key in SEGMENT_KEYS:
            ref = DimensionRef(SEGMENT_KEYS[key])
            if not applies(ref, entity.entity):
                raise _fail(where, f"{name} cannot be filtered by {key}")
            pairs.append((ref, _strings(raw, where)))
            continue
        if key in entity.fields:
            column, allowed = entity.fields[key]
            values = _strings(raw, where)
            bad = [v for v in values if allowed is not None and v not in allowed]
            if bad:
                raise _fail(where, f"{bad[0]!r} is not one of {', '.join(sorted(allowed or ()))}")
            fields.append((column, tuple(sorted(set(values)))))
            continue
        known = sorted([*SEGMENT_KEYS, "custom", *entity.fields])
        raise _fail(where, f"unknown field {key!r} for {name} (known: {', '.join(known)})")
    try:
        segment = Segment.of(pairs)
    except ValidationError as exc:
        raise _fail(path, str(exc)) from None
    return segment, tuple(sorted(fields))


def parse_measure(value: Any, path: str) -> MeasureSpec:
    spec = _mapping(value, path)
    _unknown_keys(spec, ("entity", "time", "filters", "aggregate", "field"), path)
    name = _string(spec.get("entity"), f"{path}.entity")
    entity = ENTITIES.get(name)
    if entity is None:
        raise _fail(f"{path}.entity", f"unknown entity {name!r} (known: {', '.join(ENTITIES)})")
    time = spec.get("time", "created")
    if not isinstance(time, str) or time not in entity.times:
        raise _fail(
            f"{path}.time", f"{name} have no time {time!r} (known: {', '.join(entity.times)})"
        )
    segment, fields = _filters(spec.get("filters", {}), entity, name, f"{path}.filters")
    aggregate = spec.get("aggregate", "count")
    if not isinstance(aggregate, str) or aggregate not in AGGREGATES:
        raise _fail(f"{path}.aggregate", f"{aggregate!r} is not one of {', '.join(AGGREGATES)}")
    number = None
    if aggregate == "count":
        if "field" in spec:
            raise _fail(f"{path}.field", "count takes no field")
    else:
        field_name = _string(spec.get("field"), f"{path}.field")
        number = entity.numbers.get(field_name)
        if number is None:
            known = ", ".join(entity.numbers) or "none"
            raise _fail(
                f"{path}.field",
                f"{field_name!r} is not a numeric field of {name} (numeric fields: {known})",
            )
    return MeasureSpec(entity, time, segment, fields, aggregate, number)


def _check_unit(unit: str, numerator: MeasureSpec, denominator: MeasureSpec | None) -> Unit:
    if unit not in Unit.__members__:
        raise _fail("unit", f"unknown unit {unit!r} (known: {', '.join(Unit.__members__)})")
    chosen = Unit(unit)
    money = numerator.money and (denominator is None or not denominator.money)
    if chosen is Unit.MONEY and not money:
        raise _fail("unit", "MONEY needs a money sum or average (and no money denominator)")
    if money and chosen is not Unit.MONEY:
        raise _fail("unit", f"a money value needs the unit MONEY, not {unit}")
    if chosen is Unit.COUNT and (denominator is not None or numerator.aggregate != "count"):
        raise _fail("unit", "COUNT is the unit of a plain count")
    return chosen


def compile_user_kpi(spec: Any, builtin_names: frozenset[str] = frozenset()) -> UserKpi:
    """Validate a declaration and turn it into a KPI and its measures."""
    spec = _mapping(spec, "")
    _unknown_keys(
        spec, ("name", "description", "unit", "measure", "numerator", "denominator"), "definition"
    )
    name = _string(spec.get("name"), "name")
    if not NAME.match(name):
        raise _fail("name", f"{name!r} must be lowerCamelCase letters and digits (a GraphQL name)")
    if name in builtin_names or name in RESERVED:
        raise _fail("name", f"{name!r} is a built-in KPI or field; choose another name")
    description = _string(spec.get("description"), "description")
    single = "measure" in spec
    if single == ("numerator" in spec or "denominator" in spec):
        raise _fail("definition", "give either 'measure', or 'numerator' and 'denominator'")
    prefix = f"user_{name}"
    if single:
        numerator = parse_measure(spec["measure"], "measure")
        denominator = None
    else:
        numerator = parse_measure(spec.get("numerator"), "numerator")
        denominator = parse_measure(spec.get("denominator"), "denominator")
        for part, m in (("numerator", numerator), ("denominator", denominator)):
            if m.aggregate == "avg":
                raise _fail(f"{part}.aggregate", "a ratio's parts are counts or sums, not avg")
    unit = _check_unit(_string(spec.get("unit"), "unit"), numerator, denominator)
    measures, value, count = numerator.measures(f"{prefix}_num")
    formula: Formula
    if denominator is not None:
        more, den_value, _ = denominator.measures(f"{prefix}_den")
        measures += more
        formula = Ratio(value, den_value, "the denominator is zero in the period")
    elif numerator.aggregate == "avg":
        assert count is not None
        formula = Ratio(value, count, "no records to average in the period")
    else:
        formula = Single(value)
    definition = KpiDefinition(name, KpiKind.FLOW, unit, description, formula)
    return UserKpi(definition, tuple(measures))


__all__ = ["ENTITIES", "UserKpi", "compile_user_kpi", "parse_measure"]
