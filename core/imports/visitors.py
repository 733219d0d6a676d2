"""Website visitors: one count per day and channel."""

from __future__ import annotations

from typing import Any

from core.imports import _csv
from core.imports.kind import ImportKind
from core.models import Visitors, Workspace


def _finish(values: dict[str, Any], _workspace: Workspace) -> dict[str, Any]:
    return {"day": values["day"], "channel": values["channel"], "count": values["visitors"]}


VISITORS = ImportKind(
    name="visitors",
    model=Visitors,
    columns=(
        _csv.Column("day", _csv.day),
        _csv.Column("channel", _csv.text(200), required=False),
        _csv.Column("visitors", _csv.count),
    ),
    key=("day", "channel"),
    unique=("workspace_id", "day", "channel"),
    finish=_finish,
    description="Website visitors per day (YYYY-MM-DD) and channel.",
)
