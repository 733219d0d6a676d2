"""NPS (0-10) and CSAT (1-5) survey responses, one per line, identified by their id."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.imports import _csv
from core.imports.kind import ImportKind
from core.models import SurveyResponse, Workspace

#: The scale of each survey kind, inclusive.
SCALES = {"NPS": (0, 10), "CSAT": (1, 5)}


def _score(value: str) -> int:
    number = _csv.count(value)
    if number > 10:
        raise ValueError(f"{value!r} is above 10")
    return number


def _check(values: dict[str, Any]) -> None:
    low, high = SCALES[values["kind"]]
    if not low <= values["score"] <= high:
        raise ValueError(
            f"score: {values['score']} is outside the {values['kind']} scale {low}-{high}"
        )


def _finish(values: dict[str, Any], workspace: Workspace) -> dict[str, Any]:
    """A time without an offset is in the workspace's timezone."""
    responded: datetime = values["responded_at"]
    if responded.tzinfo is None:
        responded = responded.replace(tzinfo=ZoneInfo(workspace.timezone))
    return {
        "kind": values["kind"],
        "external_id": values["id"],
        "responded_at": responded,
        "score": values["score"],
        "account_remote_id": values["account_id"],
        "contact_email": values["contact_email"],
    }


SURVEYS = ImportKind(
    name="surveys",
    model=SurveyResponse,
    columns=(
        _csv.Column("id", _csv.text(255)),
        _csv.Column("kind", _csv.choice(*SCALES)),
        _csv.Column("responded_at", _csv.timestamp),
        _csv.Column("score", _score),
        _csv.Column("account_id", _csv.optional_text(255), required=False),
        _csv.Column("contact_email", _csv.email, required=False),
    ),
    key=("kind", "id"),
    unique=("workspace_id", "kind", "external_id"),
    finish=_finish,
    check=_check,
    description="NPS (score 0-10) and CSAT (score 1-5) responses with their id and time.",
)
