"""The lists read as they are and mapped one item to one record: one table, one class.

Teams, pipelines, organizations and persons differ only in their path, record class,
mapping function, page shape and whether they are read incrementally (:class:`Plain`);
:func:`plain_stream` makes each one's stream class from its row.
Streams with more to them (users, stages, currencies, deals, leads, activities, notes,
stage history) are classes of their own in ``streams`` and ``stage_history``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from connectors.pipedrive import mapping, settings
from connectors.pipedrive._base import (
    V1_PAGINATOR,
    V2_PAGINATOR,
    PipedriveStream,
    catalog_of,
    field_catalog,
)
from connectors.pipedrive._capabilities import CAP_TEAMS
from connectors.pipedrive.custom_fields import FieldCatalog
from core.sync.connector import HttpClient, StreamContext
from core.sync.records import (
    AccountRecord,
    AnyRecord,
    ContactRecord,
    PipelineRecord,
    Record,
    TeamRecord,
)

#: Maps one raw item; the catalog is the field catalog read for ``Plain.catalog`` (or None).
Mapper = Callable[[Mapping[str, Any], FieldCatalog | None], AnyRecord]


@dataclass(frozen=True, slots=True)
class Plain:
    """What sets apart the lists read as they are and mapped one item to one record."""

    name: str
    path: str
    record: type[Record]
    mapper: Mapper
    doc: str
    #: Paged by offset (v1) rather than by cursor (v2).
    v1: bool = False
    #: One unpaged list (the endpoint takes no ``limit``).
    unpaged: bool = False
    #: The optional capability the list is (the stream is skipped without it).
    capability: str | None = None
    #: Read incrementally (``updated_since``); unset, it is re-read whole every run.
    #: Neither kind lists deletions: the full sync's reconciliation sweep finds them.
    incremental: bool = False
    #: The field catalog (``settings.FIELD_ENDPOINTS`` key) the mapper needs, read once a run.
    catalog: str | None = None


class PlainStream(PipedriveStream):
    """A stream made from a :class:`Plain` row by :func:`plain_stream`."""

    plain: ClassVar[Plain]

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:
        if self.plain.catalog is not None:
            await field_catalog(http, ctx, self.plain.catalog)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        catalog = None
        if self.plain.catalog is not None:
            catalog = catalog_of(ctx, self.plain.catalog)
        return [self.plain.mapper(raw, catalog)]


def plain_stream(plain: Plain) -> type[PlainStream]:
    """The stream class of one :class:`Plain` row."""
    attributes = {
        "__doc__": plain.doc,
        "plain": plain,
        "name": plain.name,
        "produces": (plain.record,),
        "path": plain.path,
        "paginator": V1_PAGINATOR if plain.v1 else V2_PAGINATOR,
        "incremental": plain.incremental,
        "unpaged": plain.unpaged,
        "capability": plain.capability,
        "requires": () if plain.capability is None else (plain.capability,),
    }
    class_name = f"{plain.name.title()}Stream"
    return cast(type[PlainStream], type(class_name, (PlainStream,), attributes))


def _catalog(catalog: FieldCatalog | None) -> FieldCatalog:
    if catalog is None:
        raise TypeError("this mapper needs the field catalog its Plain row names")
    return catalog


PLAIN = {
    plain.name: plain_stream(plain)
    for plain in (
        Plain(
            "teams",
            settings.V1_TEAMS,
            TeamRecord,
            lambda raw, _: mapping.map_team(raw),
            "Teams (``/v1/legacyTeams``): admins only, on plans with teams; otherwise the "
            "stream is skipped (capability ``teams``).",
            v1=True,
            unpaged=True,
            capability=CAP_TEAMS,
        ),
        Plain(
            "pipelines",
            settings.V2_PIPELINES,
            PipelineRecord,
            lambda raw, _: mapping.map_pipeline(raw),
            "Pipelines.",
        ),
        Plain(
            "accounts",
            settings.V2_ORGANIZATIONS,
            AccountRecord,
            lambda raw, catalog: mapping.map_organization(raw, _catalog(catalog)),
            "Organizations, incremental; deleted ones vanish from the list (no documented "
            "listing of them): the full sync's sweep removes them.",
            incremental=True,
            catalog="organization",
        ),
        Plain(
            "contacts",
            settings.V2_PERSONS,
            ContactRecord,
            lambda raw, catalog: mapping.map_person(raw, _catalog(catalog)),
            "Persons, incremental; deleted ones vanish from the list (no documented "
            "listing of them): the full sync's sweep removes them.",
            incremental=True,
            catalog="person",
        ),
    )
}
TeamsStream = PLAIN["teams"]
PipelinesStream = PLAIN["pipelines"]
OrganizationsStream = PLAIN["accounts"]
PersonsStream = PLAIN["contacts"]
