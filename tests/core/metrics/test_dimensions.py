"""The one catalogue of segment dimensions: the API inputs, user KPIs, targets, metrics and
record lists all read it, so each dimension is declared (and validated) once."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import sqlite

from api.types.filters import RecordSegmentInput
from api.types.metrics import Dimension as GraphQLDimension
from api.types.metrics import SegmentInput
from core.errors import ValidationError
from core.metrics.dimensions import (
    CATALOGUE,
    METRIC_DIMENSIONS,
    Dimension,
    DimensionRef,
    ValueKind,
    parse_record_id,
)
from core.metrics.segments import MAX_SEGMENT_VALUES, Breakdown, Segment
from core.metrics.target_match import canonical_segment
from core.metrics.types import Entity
from core.metrics.user_kpis import SEGMENT_KEYS
from core.models import Account, Contact, Deal, Lead
from core.records import segment_conditions


def _input_fields(input_type: type) -> set[str]:
    definition = input_type.__strawberry_definition__  # type: ignore[attr-defined]
    return {f.python_name for f in definition.fields}


def test_graphql_inputs_have_exactly_the_catalogue_keys() -> None:
    metric_keys = {s.attr for s in CATALOGUE.values() if s.metrics}
    assert _input_fields(SegmentInput) == metric_keys
    record_keys = {s.attr for s in CATALOGUE.values() if s.records}
    assert _input_fields(RecordSegmentInput) == record_keys
    # The GraphQL Dimension enum lists the metric dimensions, in the catalogue's order.
    assert [d.value for d in GraphQLDimension] == [d.value for d in METRIC_DIMENSIONS]
    assert Dimension.STATUS not in METRIC_DIMENSIONS


def test_user_kpi_and_target_keys_come_from_the_catalogue() -> None:
    assert SEGMENT_KEYS["dealTypes"] is Dimension.DEAL_TYPE
    assert "statuses" not in SEGMENT_KEYS  # a record-list filter only
    assert set(SEGMENT_KEYS) == {
        s.key for s in CATALOGUE.values() if s.metrics and s.dimension is not Dimension.CUSTOM
    }
    assert canonical_segment({"deal_types": ["X"], "dealTypes": ["Y"]}) == {"DEAL_TYPE": ["X", "Y"]}
    with pytest.raises(ValidationError, match="unknown segment filter 'statuses'"):
        canonical_segment({"statuses": ["WON"]})


@pytest.mark.parametrize("bad", ["0", " 12", "+12", "1e3", str(2**63), "abc"])
def test_id_values_are_record_ids(bad: str) -> None:
    assert parse_record_id(bad) is None
    with pytest.raises(ValidationError, match="owner ids must be the numeric ids of the API"):
        Segment.of([(DimensionRef(Dimension.OWNER), [bad])])


def test_segment_is_canonical_and_bounded() -> None:
    owner, source = DimensionRef(Dimension.OWNER), DimensionRef(Dimension.SOURCE)
    segment = Segment.of([(source, ["web", "ads", "web"]), (owner, ["12"]), (owner, ["3"])])
    assert segment.filters == ((owner, ("12", "3")), (source, ("ads", "web")))
    assert CATALOGUE[Dimension.OWNER].kind is ValueKind.ID
    assert CATALOGUE[Dimension.CONNECTION].kind is ValueKind.VALUE
    # Counted as given: 101 copies of one value are still too many.
    with pytest.raises(ValidationError, match=r"segment\.sources has more than 100 values"):
        Segment.of([(source, ["x"] * (MAX_SEGMENT_VALUES + 1))])


def test_status_filters_record_lists_but_not_metrics() -> None:
    status = Segment.of([(DimensionRef(Dimension.STATUS), ["WON"])])
    assert status.unsupported(Entity.DEALS) == [DimensionRef(Dimension.STATUS)]
    assert not Breakdown(DimensionRef(Dimension.STATUS)).supported(Entity.DEALS)
    for model in (Deal, Lead):
        (condition,) = segment_conditions(model, status)
        assert _sql(condition) == f"{model.__tablename__}.status IN ('WON')"
    with pytest.raises(ValidationError) as error:
        segment_conditions(Contact, status)
    assert str(error.value) == (
        "segment.statuses does not apply to contacts; use one of connections, countries, "
        "industries, owners, regions, sources, teams"
    )


def _sql(condition: object) -> str:
    compiled = condition.compile(  # type: ignore[attr-defined]
        dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}
    )
    return " ".join(str(compiled).split())


def test_records_and_metrics_share_each_filter() -> None:
    """A record table gets the metrics' filter, on its own columns: an account's country is
    the account's own (its remote id is its account), a deal's is its live account's."""
    country = Segment.of([(DimensionRef(Dimension.COUNTRY), ["ES"])])
    (own,) = segment_conditions(Account, country)
    assert _sql(own).startswith("(accounts.connection_id, accounts.remote_id) IN (SELECT")
    (deal,) = segment_conditions(Deal, country)
    sql = _sql(deal)
    assert sql.startswith("(deals.connection_id, deals.account_remote_id) IN (SELECT")
    assert "accounts.country IN ('ES') AND accounts.deleted_at IS NULL" in sql
    owners = Segment.of([(DimensionRef(Dimension.OWNER), ["7"])])
    (owned,) = segment_conditions(Lead, owners)
    assert "users.id IN (7)" in _sql(owned)
