"""Marketing and sales spend: one amount per day, kind, channel and campaign."""

from __future__ import annotations

from typing import Any

from core.imports import _csv
from core.imports.kind import ImportKind
from core.models import Spend, Workspace


def _finish(values: dict[str, Any], workspace: Workspace) -> dict[str, Any]:
    return {**values, "currency": values["currency"] or workspace.currency}


SPEND = ImportKind(
    name="spend",
    model=Spend,
    columns=(
        _csv.Column("day", _csv.day),
        _csv.Column("kind", _csv.choice("MARKETING", "SALES"), required=False, default="MARKETING"),
        _csv.Column("channel", _csv.text(200), required=False),
        _csv.Column("campaign", _csv.text(200), required=False),
        _csv.Column("amount", _csv.amount),
        _csv.Column("currency", _csv.currency, required=False),
    ),
    key=("day", "kind", "channel", "campaign"),
    unique=("workspace_id", "day", "kind", "channel", "campaign"),
    finish=_finish,
    description="Spend per day (YYYY-MM-DD), kind (MARKETING or SALES), channel and campaign.",
)
