"""`crmkpi import fx FILE.csv`: FX rates for currencies the CRMs do not convert."""

# No `from __future__ import annotations`: typer reads these signatures at every start-up
# (api.commands says why).

from pathlib import Path
from typing import Annotated

import typer

from api.commands.common import database, emit, run
from core.errors import ValidationError


def import_fx(
    file: Annotated[Path, typer.Argument(help="CSV with day,currency,rate[,base] rows.")],
    workspace: Annotated[
        str | None,
        typer.Option("--workspace", help="Workspace the rates belong to; default: global."),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(help="Base currency of rows without one; default: the workspace's."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Import FX rates: each row says 1 `currency` = `rate` `base` on `day`.

    Rates replace those of the same day, currency and base; global rates serve every
    workspace that has none of its own.
    """
    try:
        text = file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValidationError(f"cannot read {file}: {exc.strerror}") from None

    async def _import() -> dict[str, object]:
        # core.metrics.fx (with the KPI query compiler) only for this command: not every
        # crmkpi command's start-up.
        from core.metrics import fx as core_fx

        async with database() as (_, sessions), sessions() as session:
            count = await core_fx.import_fx(session, text, workspace_id=workspace, base=base)
            await session.commit()
            return {"imported": count, "workspace": workspace or "global"}

    emit(run(_import()), as_json=as_json)
