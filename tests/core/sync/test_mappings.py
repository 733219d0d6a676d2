"""Field mappings: stage-kind guessing, validation, application to records."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import ValidationError
from core.models.enums import StageKind
from core.sync.connector import MappingError
from core.sync.mappings import FieldMappings, apply_mappings, guess_stage_kind
from core.sync.records import DealRecord, StageRecord


@pytest.mark.parametrize(
    ("name", "probability", "closed", "won", "kind"),
    [
        ("Whatever", None, True, True, StageKind.WON),
        ("Whatever", 0.0, True, False, StageKind.LOST),
        ("Closed Won", 1.0, False, False, StageKind.WON),
        ("Closed lost", 0.0, False, False, StageKind.LOST),
        ("Contract sent", 0.9, False, False, StageKind.NEGOTIATION),
        ("Proposal made", 0.6, False, False, StageKind.PROPOSAL),
        ("Qualified to buy", 0.2, False, False, StageKind.QUALIFIED),
        ("Stage 1", None, False, False, StageKind.LEAD_IN),
        ("Stage 2", 0.3, False, False, StageKind.QUALIFIED),
        ("Stage 3", 0.6, False, False, StageKind.PROPOSAL),
        ("Stage 4", 0.8, False, False, StageKind.NEGOTIATION),
    ],
)
def test_guess_stage_kind(
    name: str, probability: float | None, closed: bool, won: bool, kind: StageKind
) -> None:
    assert guess_stage_kind(name, probability, closed, won) is kind


def test_override_beats_crm_kind_beats_guess() -> None:
    mappings = FieldMappings.from_dict({"stage_kinds": {"s1": "proposal"}})
    overridden = StageRecord(remote_id="s1", name="Closed won", is_closed=True, is_won=True)
    given = StageRecord(remote_id="s2", name="Proposal", kind="NEGOTIATION")
    guessed = StageRecord(remote_id="s3", name="Proposal")
    for record in (overridden, given, guessed):
        apply_mappings(record, mappings)
    assert (overridden.kind, given.kind, guessed.kind) == ("PROPOSAL", "NEGOTIATION", "PROPOSAL")


def test_invalid_mappings_are_rejected_with_the_bad_entry() -> None:
    with pytest.raises(ValidationError, match="'WINNING'"):
        FieldMappings.from_dict({"stage_kinds": {"s1": "winning"}})
    with pytest.raises(ValidationError, match="lifecycle value"):
        FieldMappings.from_dict({"lifecycle": {"x": "prospect"}})
    with pytest.raises(ValidationError, match="margin"):
        FieldMappings.from_dict({"deal_attributes": {"margin": "f"}})
    with pytest.raises(ValidationError, match="unknown mapping section"):
        FieldMappings.from_dict({"stages": {}})


def test_lifecycle_defaults_and_overrides() -> None:
    mappings = FieldMappings.from_dict({"lifecycle": {"Hot Prospect": "sql"}})
    assert mappings.lifecycle_kind("marketingqualifiedlead") == "mql"
    assert mappings.lifecycle_kind("Closed - Converted") == "sql"
    assert mappings.lifecycle_kind("hot prospect") == "sql"
    assert mappings.lifecycle_kind("unheard of") is None


def test_merged_edits_and_removes_entries() -> None:
    mappings = FieldMappings.from_dict({"stage_kinds": {"s1": "WON", "s2": "LOST"}})
    edited = mappings.merged({"stage_kinds": {"s1": None, "s3": "PROPOSAL"}})
    assert edited.stage_kinds == {"s2": "LOST", "s3": "PROPOSAL"}
    assert FieldMappings.from_dict(edited.to_dict()) == edited


def test_deal_attributes_and_custom_dimensions() -> None:
    mappings = FieldMappings.from_dict(
        {
            "deal_attributes": {
                "deal_type": "kind",
                "cost": "cogs",
                "recurring_amount": "mrr",
                "source": "origin",
            },
            "custom_dimensions": {"rg": "region"},
        }
    )
    deal = DealRecord(
        remote_id="d1",
        custom={"kind": "Existing Business", "cogs": "12.5", "mrr": 99, "origin": "Web", "rg": 3},
    )
    apply_mappings(deal, mappings)
    assert deal.deal_type == "UPSELL"
    assert (deal.cost, deal.recurring_amount) == (Decimal("12.5"), Decimal("99"))
    assert deal.source == "Web"
    assert deal.custom is not None and deal.custom["region"] == 3 and "rg" not in deal.custom
    bad = DealRecord(remote_id="d2", custom={"cogs": "n/a"})
    with pytest.raises(MappingError, match="cost"):
        apply_mappings(bad, mappings)
