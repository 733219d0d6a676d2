"""Mapping of the company's setup: users, teams, pipelines, stages, currencies."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from connectors.pipedrive.values import (
    foreign_id,
    parse_time,
    remote_id_of,
)
from core.sync.connector import MappingError
from core.sync.records import (
    CurrencyRecord,
    PipelineRecord,
    StageRecord,
    TeamRecord,
    UserRecord,
)


def map_user(raw: Mapping[str, Any], team_of_user: Mapping[str, str]) -> UserRecord:
    """``GET /api/v1/users`` item; the team comes from the teams read earlier in the run."""
    remote_id = remote_id_of(raw, "user")
    return UserRecord(
        remote_id=remote_id,
        remote_created_at=parse_time(raw.get("created"), "user.created"),
        remote_updated_at=parse_time(raw.get("modified"), "user.modified"),
        name=raw.get("name"),
        email=raw.get("email"),
        team_remote_id=team_of_user.get(remote_id),
        active=bool(raw.get("active_flag", True)) and not raw.get("is_deleted", False),
        remote_data=dict(raw),
    )


def map_team(raw: Mapping[str, Any]) -> TeamRecord:
    """``GET /api/v1/legacyTeams`` item."""
    return TeamRecord(
        remote_id=remote_id_of(raw, "team"),
        remote_created_at=parse_time(raw.get("add_time"), "team.add_time"),
        name=raw.get("name"),
        deleted=_team_gone(raw),
        remote_data=dict(raw),
    )


def _team_gone(team: Mapping[str, Any]) -> bool:
    """Deleted or inactive: the model gives the flags as 0/1, older answers as booleans."""
    active = team.get("active_flag")
    return bool(team.get("deleted_flag")) or (active is not None and not active)


def team_members(teams: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """user id -> team id (a user in several teams keeps the first active one)."""
    members: dict[str, str] = {}
    for team in teams:
        if _team_gone(team):
            continue
        for user_id in team.get("users") or ():
            members.setdefault(str(user_id), str(team["id"]))
    return members


def map_pipeline(raw: Mapping[str, Any]) -> PipelineRecord:
    """``GET /api/v2/pipelines`` item."""
    return PipelineRecord(
        remote_id=remote_id_of(raw, "pipeline"),
        remote_created_at=parse_time(raw.get("add_time"), "pipeline.add_time"),
        remote_updated_at=parse_time(raw.get("update_time"), "pipeline.update_time"),
        name=raw.get("name"),
        display_order=int(raw.get("order_nr") or 0),
        deleted=bool(raw.get("is_deleted")),
        remote_data=dict(raw),
    )


def map_stage(raw: Mapping[str, Any]) -> StageRecord:
    """``GET /api/v2/stages`` item. Pipedrive stages carry no kind and are never won/lost
    (the deal status is), so ``kind`` stays None: the engine applies the connection's
    ``stage_kinds`` mapping or guesses it from the name and probability. Rotting settings
    go to ``custom``."""
    remote_id = remote_id_of(raw, "stage")
    probability = raw.get("deal_probability")
    rotten = raw.get("days_to_rotten") if raw.get("is_deal_rot_enabled") else None
    return StageRecord(
        remote_id=remote_id,
        remote_created_at=parse_time(raw.get("add_time"), "stage.add_time"),
        remote_updated_at=parse_time(raw.get("update_time"), "stage.update_time"),
        pipeline_remote_id=foreign_id(raw.get("pipeline_id")),
        name=raw.get("name"),
        display_order=int(raw.get("order_nr") or 0),
        probability=None if probability is None else float(probability) / 100,
        deleted=bool(raw.get("is_deleted")),
        custom={"rotten_days": rotten} if rotten is not None else None,
        remote_data=dict(raw),
    )


#: Pipedrive has no won / lost stage (a deal's ``status`` is independent of its stage), but
#: the stage KPIs read a close as entering one (KPIS.md): each pipeline gets one of each,
#: after its open stages. Their ids, ``<pipeline>:won`` / ``<pipeline>:lost``, never clash
#: with Pipedrive's numeric stage ids. status -> (id suffix, name, probability).
CLOSED_STAGES = {"WON": ("won", "Won", 1.0), "LOST": ("lost", "Lost", 0.0)}


def closed_stage_id(pipeline_id: str, status: str) -> str:
    """The id of ``pipeline_id``'s stage for deals of ``status`` (WON or LOST)."""
    return f"{pipeline_id}:{CLOSED_STAGES[status][0]}"


def closed_stages(pipeline_id: str, after_order: int) -> list[StageRecord]:
    """The won and lost stages of one pipeline, ordered after ``after_order`` (its last
    open stage's ``order_nr``)."""
    return [
        StageRecord(
            remote_id=closed_stage_id(pipeline_id, status),
            pipeline_remote_id=pipeline_id,
            name=name,
            display_order=after_order + offset,
            probability=probability,
            kind=status,
            is_closed=True,
            is_won=status == "WON",
        )
        for offset, (status, (_, name, probability)) in enumerate(CLOSED_STAGES.items(), 1)
    ]


def map_currency(raw: Mapping[str, Any]) -> CurrencyRecord:
    """``GET /api/v1/currencies`` item. The code is the id deals reference (their
    ``currency``), so it is the remote id; Pipedrive's numeric id stays in ``remote_data``."""
    code = str(raw.get("code") or "").strip().upper()
    if not code:
        raise MappingError(f"currency {raw.get('id')!r} without a code")
    decimals = raw.get("decimal_points")
    return CurrencyRecord(
        remote_id=code,
        code=code,
        name=raw.get("name"),
        decimals=None if decimals is None else int(decimals),
        symbol=raw.get("symbol"),
        active=raw.get("active_flag") is not False,
        is_custom=bool(raw.get("is_custom_flag")),
        remote_data=dict(raw),
    )
