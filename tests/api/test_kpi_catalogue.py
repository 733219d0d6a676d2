"""docs/kpis.md is the registry's catalogue, current, and its examples are valid queries."""

from __future__ import annotations

import re
from pathlib import Path

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
