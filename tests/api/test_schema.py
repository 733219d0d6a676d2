"""schema.graphql is exactly what `crmkpi schema` prints."""

from __future__ import annotations

from pathlib import Path

from api.schema import schema_sdl

SCHEMA_FILE = Path(__file__).parents[2] / "schema.graphql"


def test_committed_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text() == schema_sdl(), "run `make schema` and commit schema.graphql"
