"""Field mappings of one connection: stage kinds, lifecycle values, custom fields.

Stored as JSON in ``connections.mappings`` and editable (GraphQL, CLI); the engine reads
them once per run, hands them to streams as ``StreamContext.mappings`` and applies the
parts that need no CRM knowledge itself (:func:`apply_mappings`):

- ``stage_kinds``: stage remote id -> StageKind, overriding :func:`guess_stage_kind`;
- ``lifecycle``: a CRM lifecycle stage or lead status value -> lead | mql | sql | customer
  (connectors call :meth:`FieldMappings.lifecycle_kind`; defaults cover the usual values);
- ``custom_dimensions``: CRM custom field -> dimension name (the key it gets in ``custom``);
- ``deal_attributes``: deal attribute (deal_type, source, cost, recurring_amount) -> the
  CRM custom field it is read from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from core.errors import ValidationError
from core.models.enums import DealType, StageKind
from core.sync.errors import MappingError
from core.sync.records import AnyRecord, DealRecord, StageRecord

LIFECYCLE_KINDS = ("lead", "mql", "sql", "customer")
DEAL_ATTRIBUTES = ("deal_type", "source", "cost", "recurring_amount")

#: Usual lifecycle and lead-status values of the three CRMs, normalised (see _norm).
DEFAULT_LIFECYCLE: dict[str, str] = {
    "subscriber": "lead",
    "lead": "lead",
    "new": "lead",
    "open": "lead",
    "opennotcontacted": "lead",
    "workingcontacted": "lead",
    "marketingqualifiedlead": "mql",
    "mql": "mql",
    "salesqualifiedlead": "sql",
    "sql": "sql",
    "qualified": "sql",
    "closedconverted": "sql",
    "opportunity": "sql",
    "customer": "customer",
    "evangelist": "customer",
}

_NEGOTIATION = ("negotiat", "contract", "commit", "closing", "verbal")
_PROPOSAL = ("proposal", "quote", "pricing", "offer", "presentation", "demo")
_QUALIFIED = ("qualif", "discovery", "meeting", "needs", "analysis", "contacted", "scheduled")
_LOST = ("lost", "dead", "disqualif", "rejected")


def _norm(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", value.lower())


def guess_stage_kind(
    name: str | None, probability: float | None, is_closed: bool, is_won: bool
) -> StageKind:
    """The kind of a stage from the CRM's flags first, then its name, then its probability.

    Flags are authoritative (a closed stage is WON or LOST). An open stage is classified by
    words in its name ("proposal", "negotiation"...); failing that by its win probability,
    whose usual bands are < 20% lead-in, < 50% qualified, < 75% proposal, else negotiation.
    """
    lowered = (name or "").lower()
    if is_closed or is_won:
        return StageKind.WON if is_won else StageKind.LOST
    if probability is not None and probability >= 1.0 and "won" in lowered:
        return StageKind.WON
    if "won" in lowered.split() or "closed won" in lowered:
        return StageKind.WON
    if any(word in lowered for word in _LOST):
        return StageKind.LOST
    for words, kind in (
        (_NEGOTIATION, StageKind.NEGOTIATION),
        (_PROPOSAL, StageKind.PROPOSAL),
        (_QUALIFIED, StageKind.QUALIFIED),
    ):
        if any(word in lowered for word in words):
            return kind
    if probability is None:
        return StageKind.LEAD_IN
    if probability < 0.2:
        return StageKind.LEAD_IN
    if probability < 0.5:
        return StageKind.QUALIFIED
    if probability < 0.75:
        return StageKind.PROPOSAL
    return StageKind.NEGOTIATION


@dataclass(slots=True)
class FieldMappings:
    stage_kinds: dict[str, str] = field(default_factory=dict)
    lifecycle: dict[str, str] = field(default_factory=dict)
    custom_dimensions: dict[str, str] = field(default_factory=dict)
    deal_attributes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> FieldMappings:
        """Parse and validate; ValidationError names the first bad entry."""
        data = data or {}
        unknown = set(data) - {"stage_kinds", "lifecycle", "custom_dimensions", "deal_attributes"}
        if unknown:
            raise ValidationError(f"unknown mapping section(s): {', '.join(sorted(unknown))}")
        mappings = cls(
            stage_kinds={str(k): str(v).upper() for k, v in data.get("stage_kinds", {}).items()},
            lifecycle={_norm(str(k)): str(v).lower() for k, v in data.get("lifecycle", {}).items()},
            custom_dimensions={
                str(k): str(v) for k, v in data.get("custom_dimensions", {}).items()
            },
            deal_attributes={str(k): str(v) for k, v in data.get("deal_attributes", {}).items()},
        )
        mappings.validate()
        return mappings

    def validate(self) -> None:
        kinds = {k.value for k in StageKind}
        for stage, kind in self.stage_kinds.items():
            if kind not in kinds:
                raise ValidationError(
                    f"stage {stage!r}: kind {kind!r} is not one of {', '.join(sorted(kinds))}"
                )
        for value, kind in self.lifecycle.items():
            if kind not in LIFECYCLE_KINDS:
                allowed = ", ".join(LIFECYCLE_KINDS)
                raise ValidationError(f"lifecycle value {value!r}: {kind!r} not in {allowed}")
        for attribute in self.deal_attributes:
            if attribute not in DEAL_ATTRIBUTES:
                raise ValidationError(
                    f"deal attribute {attribute!r} is not one of {', '.join(DEAL_ATTRIBUTES)}"
                )

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage_kinds": dict(self.stage_kinds),
            "lifecycle": dict(self.lifecycle),
            "custom_dimensions": dict(self.custom_dimensions),
            "deal_attributes": dict(self.deal_attributes),
        }

    def merged(self, changes: Mapping[str, Any]) -> FieldMappings:
        """These mappings with ``changes`` applied per section; a None value removes a key."""
        current = self.to_dict()
        for section, entries in changes.items():
            target = current.setdefault(section, {})
            for key, value in (entries or {}).items():
                if value is None:
                    target.pop(key, None)
                    target.pop(_norm(key), None)
                else:
                    target[key] = value
        return FieldMappings.from_dict(current)

    def lifecycle_kind(self, value: str | None) -> str | None:
        """lead | mql | sql | customer for a CRM lifecycle/status value, or None."""
        if not value:
            return None
        key = _norm(value)
        return self.lifecycle.get(key) or DEFAULT_LIFECYCLE.get(key)

    def stage_kind(self, record: StageRecord) -> str:
        override = self.stage_kinds.get(record.remote_id)
        if override:
            return override
        if record.kind:
            return record.kind
        return guess_stage_kind(
            record.name, record.probability, record.is_closed, record.is_won
        ).value


def _decimal(value: Any, attribute: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise MappingError(f"{attribute}: {value!r} is not a number") from None


def _deal_type(value: Any) -> str | None:
    if value is None or value == "":
        return None
    key = _norm(str(value))
    for kind in DealType:
        if _norm(kind.value) == key or key.startswith(_norm(kind.value)):
            return kind.value
    if key in ("new", "newcustomer", "newlogo", "newbiz"):
        return DealType.NEW_BUSINESS.value
    if key in ("existingbusiness", "expansion"):
        return DealType.UPSELL.value
    return None


def apply_mappings(record: AnyRecord, mappings: FieldMappings) -> None:
    """Apply the CRM-independent parts of ``mappings`` to ``record`` in place."""
    if isinstance(record, StageRecord):
        record.kind = mappings.stage_kind(record)
        return
    custom = getattr(record, "custom", None)
    if isinstance(record, DealRecord) and mappings.deal_attributes and custom:
        for attribute, source in mappings.deal_attributes.items():
            if source not in custom:
                continue
            value = custom[source]
            if attribute in ("cost", "recurring_amount"):
                setattr(record, attribute, _decimal(value, attribute))
            elif attribute == "deal_type":
                record.deal_type = _deal_type(value)
            else:
                record.source = None if value in (None, "") else str(value)
    if custom and mappings.custom_dimensions:
        record.custom = {mappings.custom_dimensions.get(k, k): v for k, v in custom.items()}  # type: ignore[union-attr]
