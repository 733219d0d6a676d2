"""Mapping of deals and of their stage stays (from the deal itself or its flow)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from connectors.pipedrive._map_setup import closed_stage_id
from connectors.pipedrive.custom_fields import FieldCatalog, picks
from connectors.pipedrive.settings import DEAL_TYPE_LABELS
from connectors.pipedrive.values import (
    foreign_id,
    named_custom,
    parse_date,
    parse_money,
    parse_time,
    remote_id_of,
)
from core.sync.connector import MappingError
from core.sync.records import (
    DealRecord,
    DealStageHistoryRecord,
    Record,
    builder,
    stage_history_id,
)

_DEAL_STATUSES = {"open": "OPEN", "won": "WON", "lost": "LOST"}


def _status(raw: Mapping[str, Any]) -> str | None:
    """OPEN, WON or LOST; a deal listed by ``status=deleted`` is an open one deleted."""
    raw_status = raw.get("status")
    return _DEAL_STATUSES.get("open" if raw_status == "deleted" else str(raw_status))


def _closed_at(raw: Mapping[str, Any], remote_id: str, status: str) -> datetime | None:
    """When a won / lost deal closed (``won_time`` / ``lost_time``, else ``close_time``)."""
    if status == "OPEN":
        return None
    own = "won_time" if status == "WON" else "lost_time"
    closed_at = parse_time(raw.get(own) or raw.get("close_time"), f"deal.{own}")
    if closed_at is None:
        raise MappingError(f"deal {remote_id}: status {status.lower()} without {own}/close_time")
    return closed_at


def _labels(catalog: FieldCatalog, field_key: str, ids: Any) -> list[str]:
    names = []
    for label_id in ids or ():
        name = catalog.option_label(field_key, label_id)
        names.append(name if name is not None else str(label_id))
    return names


def _deal_type(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return DEAL_TYPE_LABELS.get(text.lower()) or (
        text.upper() if text.upper() in DEAL_TYPE_LABELS.values() else None
    )


def map_deal(
    raw: Mapping[str, Any], catalog: FieldCatalog, *, with_stays: bool = True
) -> list[Record]:
    """``GET /api/v2/deals`` item -> the deal, plus its stays when it never moved stage
    (``stage_change_time`` null): the one in its stage, and if it closed, the one in its
    pipeline's won / lost stage (``with_stays``). Moved deals get their stays from the
    deal flow."""
    remote_id = remote_id_of(raw, "deal")
    deleted = raw.get("status") == "deleted"
    deleted = deleted or bool(raw.get("is_deleted")) or bool(raw.get("is_archived"))
    status = _status(raw)
    if status is None:
        raise MappingError(f"deal {remote_id}: unknown status {raw.get('status')!r}")
    closed_at = _closed_at(raw, remote_id, status)
    decoded = catalog.decode(raw.get("custom_fields"))
    labels = _labels(catalog, "label", raw.get("label_ids"))
    attributes = picks(decoded, "deal")
    source = (
        attributes.get("source")
        or catalog.option_label("channel", raw.get("channel"))
        or raw.get("origin")
    )
    probability = raw.get("probability")
    created = parse_time(raw.get("add_time"), "deal.add_time")
    mrr = attributes.get("recurring_amount")
    deal = _new_deal(
        remote_id=remote_id,
        remote_created_at=created,
        remote_updated_at=parse_time(raw.get("update_time"), "deal.update_time"),
        name=raw.get("title"),
        amount=parse_money(raw.get("value"), f"deal {remote_id} value"),
        currency=(str(raw["currency"]).upper() if raw.get("currency") else None),
        pipeline_remote_id=foreign_id(raw.get("pipeline_id")),
        stage_remote_id=foreign_id(raw.get("stage_id")),
        status=status,
        owner_remote_id=foreign_id(raw.get("owner_id")),
        account_remote_id=foreign_id(raw.get("org_id")),
        contact_remote_id=foreign_id(raw.get("person_id")),
        lead_remote_id=foreign_id(raw.get("source_lead_id")),
        closed_at=closed_at,
        expected_close_date=parse_date(raw.get("expected_close_date"), "deal.expected_close"),
        lost_reason=raw.get("lost_reason") if status == "LOST" else None,
        source=None if source is None else str(source),
        deal_type=_deal_type(attributes.get("deal_type")),
        probability=None if probability is None else float(probability) / 100,
        recurring_amount=parse_money(mrr if mrr is not None else raw.get("mrr"), "deal mrr"),
        cost=parse_money(attributes.get("cost"), "deal cost"),
        contract_start=parse_date(attributes.get("contract_start"), "deal contract start"),
        contract_end=parse_date(attributes.get("contract_end"), "deal contract end"),
        deleted=deleted,
        custom=named_custom(decoded, labels),
        remote_data=dict(raw),
    )
    records: list[Record] = [deal]
    stage = deal.stage_remote_id
    unmoved = raw.get("stage_change_time") is None
    if with_stays and unmoved and stage is not None and created is not None:
        closure = None if closed_at is None else (status, closed_at)
        records += _stay_records(
            remote_id, [(stage, created)], closure, deal.pipeline_remote_id, {}, deleted
        )
    return records


def map_stage_history(
    deal: Mapping[str, Any],
    changes: Sequence[Mapping[str, Any]],
    pipeline_of_stage: Mapping[str, str],
) -> list[DealStageHistoryRecord]:
    """The stays of one deal, rebuilt from its ``stage_id`` changes (deal flow
    ``dealChange`` data: ``old_value``, ``new_value``, ``log_time``).

    ``deal`` is the deal as listed (``id``, ``add_time``, ``stage_id``, ``pipeline_id``,
    ``status``, ``won_time`` / ``lost_time`` / ``close_time``). The first stay starts at
    ``add_time`` in the first change's old stage; each change closes the running stay and
    opens the next; a won or lost deal's last one ends at its close, where its stay in
    the pipeline's won / lost stage begins (see :func:`_stay_records`).
    """
    deal_id = remote_id_of(deal, "deal")
    created = parse_time(deal.get("add_time"), "deal.add_time")
    if created is None:
        raise MappingError(f"deal {deal_id}: no add_time to start its stage history")
    start = created
    ordered = sorted(
        (c for c in changes if c.get("field_key") == "stage_id"),
        key=lambda c: (parse_time(c.get("log_time"), "flow.log_time") or start, c.get("id", 0)),
    )
    stays: list[tuple[str, datetime]] = []
    if ordered:
        first_old = foreign_id(ordered[0].get("old_value"))
        if first_old is not None:
            stays.append((first_old, created))
        for change in ordered:
            new_stage = foreign_id(change.get("new_value"))
            at = parse_time(change.get("log_time"), "flow.log_time")
            if new_stage is None or at is None:
                raise MappingError(f"deal {deal_id}: stage change without new stage or time")
            stays.append((new_stage, at))
    else:
        current = foreign_id(deal.get("stage_id"))
        if current is None:
            return []
        stays.append((current, created))
    status = _status(deal) or "OPEN"
    closed_at = _closed_at(deal, deal_id, status)
    return _stay_records(
        deal_id,
        stays,
        None if closed_at is None else (status, closed_at),
        foreign_id(deal.get("pipeline_id")),
        pipeline_of_stage,
        bool(deal.get("is_deleted")) or bool(deal.get("is_archived")),
    )


def _stay_records(
    deal_id: str,
    stays: Sequence[tuple[str, datetime]],
    closure: tuple[str, datetime] | None,
    pipeline: str | None,
    pipeline_of_stage: Mapping[str, str],
    deleted: bool,
) -> list[DealStageHistoryRecord]:
    """One record per stay (stage, entered at), each ending where the next begins.

    Pipedrive has no won / lost stage: a closed deal stays in its last open stage with
    its ``status`` set. KPIS.md's stage KPIs read the close as a stage entry (the last
    open stay ends there; a won deal reached a stage beyond it), so ``closure`` (status,
    closed at) adds a last stay in the pipeline's won / lost stage
    (:func:`~connectors.pipedrive._map_setup.closed_stage_id`), never earlier than the
    stay before it, and open-ended.
    """
    timeline = list(stays)
    if closure is not None and pipeline is not None:
        status, closed_at = closure
        if timeline:
            closed_at = max(closed_at, timeline[-1][1])
        timeline.append((closed_stage_id(pipeline, status), closed_at))
    records = []
    for index, (stage, entered) in enumerate(timeline):
        exited = timeline[index + 1][1] if index + 1 < len(timeline) else None
        records.append(
            _new_stay(
                remote_id=stage_history_id(deal_id, stage, entered),
                deal_remote_id=deal_id,
                stage_remote_id=stage,
                pipeline_remote_id=pipeline_of_stage.get(stage) or pipeline,
                entered_at=entered,
                exited_at=exited,
                deleted=deleted,
            )
        )
    return records


_new_deal = builder(DealRecord)
_new_stay = builder(DealStageHistoryRecord)
