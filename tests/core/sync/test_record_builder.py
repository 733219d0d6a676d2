"""records.builder: the fast constructor builds exactly what the class itself builds."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from core.sync import records
from core.sync.records import DealRecord, DealStageHistoryRecord, Record, builder

RECORD_CLASSES = [
    cls
    for cls in vars(records).values()
    if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls is not Record
]


def _sample(field: dataclasses.Field[Any]) -> Any:
    """A non-default value of the field's declared type."""
    kind = str(field.type)
    if "datetime" in kind:
        return datetime(2024, 5, 1, 10, tzinfo=UTC)
    if "date" in kind:
        return date(2024, 5, 1)
    if "Decimal" in kind:
        return Decimal("12.50")
    if "bool" in kind:
        return not field.default
    if "int" in kind:
        return 7
    if "float" in kind:
        return 0.25
    if "dict" in kind:
        return {"k": [1, "v"]}
    return f"{field.name}-value"


@pytest.mark.parametrize("cls", RECORD_CLASSES, ids=lambda c: c.__name__)
def test_builder_matches_the_class_with_every_field_and_with_defaults(cls: type[Any]) -> None:
    build = builder(cls)
    fields = dataclasses.fields(cls)
    every = {f.name: _sample(f) for f in fields}
    assert build(**every) == cls(**every)
    assert type(build(**every)) is cls
    required = {f.name: every[f.name] for f in fields if f.default is dataclasses.MISSING}
    built, made = build(**required), cls(**required)
    assert built == made
    # Every slot is set (a default left unset would raise AttributeError on read).
    assert [getattr(built, f.name) for f in fields] == [getattr(made, f.name) for f in fields]


def test_builder_refuses_what_the_class_refuses_and_what_it_cannot_build() -> None:
    build = builder(DealRecord)
    with pytest.raises(TypeError, match="remote_id"):
        build()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword"):
        build(remote_id="1", colour="red")  # type: ignore[call-arg]

    @dataclasses.dataclass(slots=True, frozen=True)
    class Frozen:
        a: int

    @dataclasses.dataclass(slots=True)
    class Factory:
        a: list[int] = dataclasses.field(default_factory=list)

    class Plain:
        pass

    for cls in (Frozen, Factory, Plain):
        with pytest.raises(TypeError):
            builder(cls)


def test_records_by_type_keep_the_order_of_types_and_of_records() -> None:
    from core.sync.records import by_type

    deal_a, deal_b = DealRecord(remote_id="a"), DealRecord(remote_id="b")
    stay = DealStageHistoryRecord(
        remote_id="h", deal_remote_id="a", stage_remote_id="s", entered_at=datetime(2024, 1, 1)
    )
    page = [deal_a, stay, deal_b, stay]
    grouped = by_type(page)
    assert list(grouped) == [DealRecord, DealStageHistoryRecord]
    assert grouped[DealRecord] == [deal_a, deal_b] and grouped[DealStageHistoryRecord] == [stay] * 2
    one = [deal_b, deal_a]
    alone = by_type(one)
    assert alone == {DealRecord: [deal_b, deal_a]} and alone[DealRecord] is not one
    assert by_type([]) == {}
