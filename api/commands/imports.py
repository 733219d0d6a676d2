"""`crmkpi import spend|visitors|surveys --workspace ID FILE.csv`.

``import_app`` is the ``crmkpi import`` group; other kinds (``crmkpi import fx``) join it
with ``import_app.command("fx")(...)``.
"""

# No `from __future__ import annotations`: typer reads these signatures at every start-up
# (api.commands says why).

from pathlib import Path
from typing import Annotated

import typer

from api.commands.common import console, database, emit, run
from core.errors import ValidationError

import_app = typer.Typer(
    help="Import what CRMs do not hold (CSV files, see docs/imports.md).", no_args_is_help=True
)

WorkspaceOption = Annotated[str, typer.Option("--workspace", help="Workspace id.")]
FileArgument = Annotated[Path, typer.Argument(help="The CSV file (UTF-8, header line first).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None


def _import(kind_name: str, workspace: str, path: Path, as_json: bool) -> None:
    # The CSV imports only for these commands: not every crmkpi command's start-up.
    from core.imports import ImportRejected, import_csv, import_kind

    kind = import_kind(kind_name)
    text = _read(path)

    async def _run() -> dict[str, object]:
        async with database() as (_, sessions), sessions() as session:
            result = await import_csv(session, kind, workspace, text)
            await session.commit()
            return {"kind": result.kind, "workspace": result.workspace_id, "rows": result.rows}

    try:
        data = run(_run())
    except ImportRejected as exc:
        for error in exc.errors:
            console.print(f"{path}:{error.line}: {error.reason}", highlight=False, markup=False)
        if exc.total > len(exc.errors):
            console.print(f"... and {exc.total - len(exc.errors)} more bad lines", highlight=False)
        raise ValidationError(f"{exc.total} bad line(s) in {path}: nothing was imported") from None
    emit(data, as_json=as_json)


@import_app.command("spend")
def spend(workspace: WorkspaceOption, file: FileArgument, as_json: JsonOption = False) -> None:
    """Marketing and sales spend: day,kind,channel,campaign,amount,currency."""
    _import("spend", workspace, file, as_json)


@import_app.command("visitors")
def visitors(workspace: WorkspaceOption, file: FileArgument, as_json: JsonOption = False) -> None:
    """Website visitors: day,channel,visitors."""
    _import("visitors", workspace, file, as_json)


@import_app.command("surveys")
def surveys(workspace: WorkspaceOption, file: FileArgument, as_json: JsonOption = False) -> None:
    """NPS and CSAT responses: id,kind,responded_at,score,account_id,contact_email."""
    _import("surveys", workspace, file, as_json)
