"""docs/kpis.md is the registry's catalogue, current, and its examples are valid queries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import parse, validate

from api.kpi_catalogue import render_catalogue
from api.schema import create_schema
from core.metrics.registry import build_registry

CATALOGUE = Path(__file__).resolve().parents[2] / "docs" / "kpis.md"


def test_the_committed_catalogue_is_current() -> None:
    rendered = render_catalogue(create_schema()._schema)
    assert CATALOGUE.read_text() == rendered, "run: make schema (crmkpi catalogue > docs/kpis.md)"


def test_every_kpi_is_described_with_its_registry_definition() -> None:
    text = CATALOGUE.read_text()
    for kpi in build_registry().kpis.values():
        section = text.split(f"### `{kpi.name}`\n", 1)
        assert len(section) == 2, f"{kpi.name} is missing"
        assert section[1].lstrip().startswith(kpi.description)


def test_every_example_query_validates_against_the_schema() -> None:
    schema = create_schema()._schema
    examples = re.findall(r"```graphql\n(.*?)\n```", CATALOGUE.read_text(), flags=re.S)
    assert len(examples) == len(build_registry().kpis)
    for example in examples:
        errors = validate(schema, parse(example))
        assert errors == [], (example, errors)


def test_every_kpi_says_where_each_crm_feeds_it() -> None:
    """Issue #24: per KPI and CRM, which fields give its timestamps and links."""
    text = CATALOGUE.read_text()
    for kpi in build_registry().kpis.values():
        assert kpi.facts, f"{kpi.name} declares no CRM facts (core.metrics.crm_sources)"
        section = text.split(f"### `{kpi.name}`\n", 1)[1].split("\n### ", 1)[0]
        assert "| CRM | where the facts come from |" in section, kpi.name
        for crm in ("HubSpot", "Pipedrive", "Salesforce"):
            assert f"\n| {crm} | " in section, (kpi.name, crm)
    closed = text.split("### `dealsWon`\n", 1)[1].split("\n### ", 1)[0]
    assert "`won_time`" in closed and "OpportunityHistory" in closed and "`closedate`" in closed


def test_an_unknown_fact_is_refused() -> None:
    from dataclasses import replace

    from core.metrics.registry import MetricRegistry

    registry = build_registry()
    kpi = replace(registry.kpis["dealsWon"], name="dealsWonAgain", facts=("nonsense",))
    fresh = MetricRegistry()
    fresh.measures = dict(registry.measures)
    with pytest.raises(ValueError, match="unknown CRM facts"):
        fresh.register(kpi)
