"""The simulated dataset rendered once into Pipedrive JSON, as the tables the simulator's
endpoints slice pages from (each record's bytes are kept until it changes)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from connectors.pipedrive.simulator import render
from connectors.pipedrive.simulator import render_setup as setup
from connectors.pipedrive.simulator.pages import Table, as_json, as_json_items, dump
from connectors.pipedrive.values import parse_time
from core.simulation.dataset import Dataset

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RenderedDataset:
    """``dataset`` as tables of rendered records; :meth:`refresh` after changing it."""

    dataset: Dataset
    #: False (the full account): leads converted to deals leave the ``/v1/leads`` lists
    #: (Pipedrive marks a converted lead as deleted); True: they stay listed.
    converted_leads_listed: bool
    #: False: converted leads are gone by id too (``GET /v1/leads/{id}`` answers 404).
    converted_leads_readable: bool
    _cache: dict[tuple[str, Any], tuple[Any, Any]]

    def _memo(self, kind: str, obj: Any, make: Callable[..., Any], *args: Any) -> Any:
        """``make(*args)`` for ``obj``, rendered again only when it was updated or deleted."""
        version = (obj.updated_at, obj.deleted_at)
        hit = self._cache.get((kind, obj.id))
        if hit is not None and hit[0] == version:
            return hit[1]
        value = make(*args)
        self._cache[(kind, obj.id)] = (version, value)
        return value

    def refresh(self) -> None:
        """Render the dataset again after ``edit_deals`` / ``delete`` (changed objects only)."""
        ds = self.dataset
        memo = self._memo
        deals_live: list[tuple[datetime, Any, bytes]] = []
        deals_deleted: list[tuple[datetime, Any, bytes]] = []
        flows: dict[str, list[bytes]] = {}
        for d in ds.deals:
            stays = render.open_stays(ds, d)
            body = memo("deal", d, as_json, render.deal, ds, d, stays)
            (deals_deleted if d.deleted_at else deals_live).append(
                (_second(d.updated_at), d.id, body)
            )
            if len(stays) > 1:
                flows[str(d.id)] = memo(
                    "flow",
                    d,
                    as_json_items,
                    render.deal_flow,
                    d,
                    stays,
                )
        self.deals = Table.of(deals_live)
        self.deleted_deals = Table.of(deals_deleted)
        self.archived_deals = Table()
        self.flows = flows
        self.deal_ids = {str(d.id) for d in ds.deals}
        self.organizations = Table.of(
            (_second(a.updated_at), a.id, memo("org", a, as_json, render.organization, a))
            for a in ds.accounts
            if a.deleted_at is None
        )
        self.persons = Table.of(
            (_second(c.updated_at), c.id, memo("person", c, as_json, render.person, c))
            for c in ds.contacts
            if c.deleted_at is None
        )
        self.activities = Table.of(
            (_second(a.updated_at), a.id, memo("act", a, as_json, render.activity, ds, a))
            for a in ds.activities
            if a.type != "NOTE" and a.deleted_at is None
        )
        self.notes = Table.of(
            (_second(a.updated_at), a.id, memo("note", a, as_json, render.note, ds, a))
            for a in ds.activities
            if a.type == "NOTE" and a.deleted_at is None
        )
        self.leads = Table.of(
            (
                _milli(x.updated_at),
                setup.lead_uuid(ds.seed, x.id),
                memo("lead", x, as_json, render.lead, ds, x),
            )
            for x in ds.leads
            if x.deleted_at is None and (self.converted_leads_listed or x.converted_deal_id is None)
        )
        #: Every lead not deleted (converted ones included), by id: ``GET /v1/leads/{id}``.
        self.lead_by_id: dict[str, bytes] = {
            setup.lead_uuid(ds.seed, x.id): memo("lead", x, as_json, render.lead, ds, x)
            for x in ds.leads
            if x.deleted_at is None
            and (self.converted_leads_readable or x.converted_deal_id is None)
        }
        self.archived_leads = Table()
        deleted: list[tuple[datetime, Any, bytes]] = []
        for kind, objects in (
            ("deal", ds.deals),
            ("person", ds.contacts),
            ("organization", ds.accounts),
            ("activity", [a for a in ds.activities if a.type != "NOTE"]),
            ("note", [a for a in ds.activities if a.type == "NOTE"]),
        ):
            for obj in objects:
                if obj.deleted_at is not None:
                    at = _second(obj.deleted_at)
                    log = dump(render.delete_log(kind, obj.id, at))
                    deleted.append((at, (kind, obj.id), log))
        self.delete_log = Table.of(deleted)
        self.pipelines = _by_update_time(setup.pipelines(ds))
        self.stages = _by_update_time(setup.stages(ds))
        self.small = {
            "users": [dump(u) for u in setup.users(ds)],
            "teams": [dump(t) for t in setup.teams(ds)],
            "dealFields": [dump(f) for f in setup.deal_fields()],
            "personFields": [dump(f) for f in setup.person_fields()],
            "organizationFields": [dump(f) for f in setup.organization_fields()],
            "activityTypes": [dump(t) for t in setup.activity_types()],
            "leadLabels": [dump(x) for x in setup.lead_labels()],
            "currencies": [dump(c) for c in setup.currencies(ds)],
        }


def _by_update_time(rows: list[dict[str, Any]]) -> Table:
    return Table.of((parse_time(r["update_time"]) or _EPOCH, r["id"], dump(r)) for r in rows)


def _second(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def _milli(value: datetime) -> datetime:
    return value.replace(microsecond=(value.microsecond // 1000) * 1000)
