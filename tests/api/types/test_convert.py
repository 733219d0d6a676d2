"""from_attributes: GraphQL objects filled from same-named attributes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import strawberry

from api.types._convert import from_attributes


@strawberry.type
class Sample:
    name: str
    size: int
    hidden: strawberry.Private[str | None] = None

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


def test_fields_private_ones_too_come_from_the_source_and_overrides_win() -> None:
    source = SimpleNamespace(name="ana", size=3, hidden="h", shout="not a field to copy")
    made = from_attributes(Sample, source, size=7)
    assert (made.name, made.size, made.hidden) == ("ana", 7, "h")
    assert made.shout() == "ANA"


def test_a_source_without_a_field_fails_loudly() -> None:
    with pytest.raises(AttributeError, match="hidden"):
        from_attributes(Sample, SimpleNamespace(name="ana", size=3))
