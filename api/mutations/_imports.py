"""The resolver the three import mutations share: check the workspace, import, commit."""

from __future__ import annotations

from typing import Any

from strawberry.types import Info

from api.context import Context
from api.types.imports import ImportFailed, ImportInput, ImportPayload, ImportSuccess
from core.imports import ImportRejected, import_csv, import_kind


async def run_import(info: Info[Context, Any], kind: str, data: ImportInput) -> ImportPayload:
    """Imports in a session of its own, so the file is committed or refused as a whole."""
    workspace_id = info.context.require_viewer().require_workspace(str(data.workspace_id))
    async with info.context.sessionmaker() as session:
        try:
            result = await import_csv(session, import_kind(kind), workspace_id, data.csv)
        except ImportRejected as exc:
            await session.rollback()
            return ImportFailed.from_error(exc)
        await session.commit()
    return ImportSuccess.from_result(result)
