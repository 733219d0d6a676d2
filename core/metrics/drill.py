"""The records behind a KPI's numerator or denominator, derived from its measures.

A measure is a condition on one entity's row set (core.metrics.sources); the compiler counts
or sums the rows meeting it. The drill-down selects the *same* rows (same source, same
condition, same segment, same frame) and maps each back to the CRM record it stands for,
by ``(connection_id, remote_id)``: no filter is written twice, so the list cannot drift
from the number. Workspace scoping is the caller's (the source's workspace list, and
core.tenancy on the session), exactly as for the numbers.

Rows map to records per entity: deals and activities to themselves, prospects to leads or
contacts, stage stays, proposals and stage reach to their deal, customer stretches to the
account (or, for a customer known only by a contact, the contact). A record is listed once
even when several of its rows meet the condition (a deal leaving two stages in a period).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, tuple_

from core.errors import ValidationError
from core.metrics.compiler import measure_source, money_factor
from core.metrics.definitions import KpiDefinition
from core.metrics.formulas import Growth, Ratio, Single, Total
from core.metrics.fx import load_fx
from core.metrics.measures import Cols
from core.metrics.query import Reader
from core.metrics.registry import MetricRegistry
from core.metrics.segments import Segment
from core.metrics.types import Agg, Entity, Frame
from core.models import Account, Activity, Contact, Deal, Lead, SyncedMixin


class Side(StrEnum):
    NUMERATOR = "NUMERATOR"
    DENOMINATOR = "DENOMINATOR"


@dataclass(frozen=True)
class _Mapping:
    """Which source rows stand for records of ``model``, and their remote id."""

    model: type[SyncedMixin]
    remote_id: Callable[[Cols], ColumnElement[Any]]
    only: Callable[[Cols], ColumnElement[bool]] | None = None


def _column(name: str) -> Callable[[Cols], ColumnElement[Any]]:
    return lambda c: c[name]


def _customer(prefix: str) -> Callable[[Cols], ColumnElement[bool]]:
    return lambda c: func.substr(c.customer, 1, 2) == prefix


def _customer_id(c: Cols) -> ColumnElement[Any]:
    return func.substr(c.customer, 3)


_DEAL = (_Mapping(Deal, _column("deal_remote_id")),)
_MAPPINGS: dict[Entity, tuple[_Mapping, ...]] = {
    Entity.DEALS: (_Mapping(Deal, _column("remote_id")),),
    Entity.ACTIVITIES: (_Mapping(Activity, _column("remote_id")),),
    Entity.PROSPECTS: (
        _Mapping(Lead, _column("remote_id"), lambda c: c.origin == "lead"),
        _Mapping(Contact, _column("remote_id"), lambda c: c.origin == "contact"),
    ),
    Entity.STAGE_STAYS: _DEAL,
    Entity.PROPOSALS: _DEAL,
    Entity.STAGE_REACH: _DEAL,
    Entity.CUSTOMERS: (
        _Mapping(Account, _customer_id, _customer("a:")),
        _Mapping(Contact, _customer_id, _customer("c:")),
    ),
}


@dataclass(frozen=True)
class RecordPart:
    """The records of one model behind one cell: the rows of ``model`` meeting ``condition``."""

    model: type[SyncedMixin]
    condition: ColumnElement[bool]


def side_cells(kpi: KpiDefinition, frame: Frame, side: Side) -> list[tuple[str, Frame]]:
    """The cells whose rows make up one side of ``kpi`` over ``frame``.

    A single measure or a total is all numerator; a ratio's sides are its two measures; a
    growth rate's numerator is this period and its denominator the previous one. Other
    formulas (differences, lifetime value) have no side that is a set of records.
    """
    formula = kpi.formula
    if isinstance(formula, Single | Total):
        if side is Side.DENOMINATOR:
            raise ValidationError(
                f"{kpi.name} is not a ratio: it has no denominator (list the NUMERATOR records)"
            )
        return formula.cells(frame)
    if isinstance(formula, Ratio | Growth):
        numerator, denominator = formula.cells(frame)
        return [numerator if side is Side.NUMERATOR else denominator]
    raise ValidationError(f"the {side.value.lower()} of {kpi.name} is not a list of records")


async def record_parts(
    session: Reader,
    registry: MetricRegistry,
    kpi_name: str,
    side: Side,
    frame: Frame,
    *,
    segment: Segment,
    workspace_ids: Sequence[str],
    currency: str,
) -> list[RecordPart]:
    """The parts listing one side of a KPI, in a stable order (one per cell and model).

    A money measure lists every row meeting its condition, with or without an amount or a
    rate; its ``converted`` and ``missing`` cells (averageDealSize's denominator) add the
    FX condition of the compiler, so their lists match their counts.
    """
    kpi = registry.get(kpi_name)
    if kpi is None:
        raise ValidationError(f"unknown KPI {kpi_name!r}")
    parts: list[RecordPart] = []
    for cell_name, cell_frame in side_cells(kpi, frame, side):
        measure = registry.measure(cell_name)
        mappings = _MAPPINGS.get(measure.entity)
        if mappings is None:
            raise ValidationError(
                f"{kpi.name} is computed from imported figures, not CRM records: "
                "it has no records to list"
            )
        _, _, money_part = cell_name.partition(".")
        fx = None
        if money_part:
            fx = await load_fx(
                session,
                workspace_ids,
                currency,
                cell_frame.timezone,
                cell_frame.start_date,
                cell_frame.last_day,
            )
        src = measure_source(measure.entity, [measure] if money_part else [], workspace_ids, fx)
        c = src.c
        where = [segment.clause(src), measure.where(c, cell_frame)]
        if money_part:
            assert measure.agg is Agg.MONEY
            factor = money_factor(measure, cell_frame, c, fx)
            present = factor.is_not(None) if money_part == "converted" else factor.is_(None)
            where += [c.amount.is_not(None), present]
        for mapping in mappings:
            only = [mapping.only(c)] if mapping.only is not None else []
            rows = select(c.connection_id, mapping.remote_id(c)).where(*where, *only)
            model = mapping.model
            condition = and_(
                model.deleted_at.is_(None),
                tuple_(model.connection_id, model.remote_id).in_(rows),
            )
            parts.append(RecordPart(model, condition))
    return parts


__all__ = ["RecordPart", "Side", "record_parts", "side_cells"]
