"""`crmkpi target set --workspace ID --kpi NAME --start D --end D [--segment JSON] VALUE`."""

# No `from __future__ import annotations`: typer reads these signatures at every start-up
# (api.commands says why).

import json
from datetime import date
from typing import Annotated, Any

import typer

from api.commands.common import database, emit, run
from core.errors import ValidationError
from core.plugins import create_plugin_manager

target_app = typer.Typer(help="Targets per KPI, period and segment.", no_args_is_help=True)


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{option} {value!r} is not a date: use YYYY-MM-DD") from None


def _segment(value: str | None) -> dict[str, Any] | None:
    if not value:
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"--segment is not JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(parsed, dict):
        raise ValidationError('--segment must be a JSON object such as {"owners": ["usr_1"]}')
    return parsed


@target_app.command("set")
def target_set(
    value: Annotated[str, typer.Argument(help="The target value (a number).")],
    workspace: Annotated[str, typer.Option("--workspace", help="Workspace id.")],
    kpi: Annotated[str, typer.Option("--kpi", help="KPI name, e.g. salesRevenue.")],
    start: Annotated[str, typer.Option("--start", help="First local day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--end", help="Day after the last, YYYY-MM-DD.")],
    segment: Annotated[
        str | None,
        typer.Option("--segment", help='JSON, e.g. {"owners": ["usr_1"], "dealTypes": ["upsell"]}'),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Set (or replace) the target of a KPI for a period and optional segment."""
    first, after = _date(start, "--start"), _date(end, "--end")
    spec = _segment(segment)

    async def _set() -> dict[str, object]:
        # core.targets and the KPI registry (its definitions, YAML) only for this command:
        # not every crmkpi command's start-up.
        from core.metrics import build_registry
        from core.targets import set_target

        async with database() as (_, sessions), sessions() as session:
            target = await set_target(
                session,
                workspace_id=workspace,
                kpi=kpi,
                start=first,
                end=after,
                value=value,
                segment=spec,
                registry=build_registry(create_plugin_manager()),
            )
            await session.commit()
            return {
                "id": target.id,
                "kpi": target.kpi,
                "start": target.period_start,
                "end": target.period_end,
                "segment": target.segment or {},
                "value": target.value,
            }

    data = run(_set())
    emit(data, as_json=as_json, created_id=str(data["id"]))
