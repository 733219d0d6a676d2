"""What an import mutation answers: rows written, or every bad line with its reason."""

from __future__ import annotations

from typing import Annotated

import strawberry

from core.imports import ImportRejected, ImportResult


@strawberry.input(description="A CSV file's text (header line first), for one workspace.")
class ImportInput:
    workspace_id: strawberry.ID
    csv: str = strawberry.field(description="The file's content, UTF-8; see docs/imports.md.")


@strawberry.type(description="The file was imported; re-importing it changes nothing.")
class ImportSuccess:
    kind: str
    workspace_id: strawberry.ID
    rows: int = strawberry.field(description="Rows inserted or updated.")

    @classmethod
    def from_result(cls, result: ImportResult) -> ImportSuccess:
        return cls(
            kind=result.kind, workspace_id=strawberry.ID(result.workspace_id), rows=result.rows
        )


@strawberry.type(description="Why one line was refused; line 1 is the header.")
class ImportLineError:
    line: int
    reason: str


@strawberry.type(description="The file was refused as a whole: nothing of it was imported.")
class ImportFailed:
    message: str
    errors: list[ImportLineError] = strawberry.field(description="The first bad lines.")
    total_errors: int = strawberry.field(description="How many lines are bad in all.")

    @classmethod
    def from_error(cls, error: ImportRejected) -> ImportFailed:
        return cls(
            message=str(error),
            errors=[ImportLineError(line=e.line, reason=e.reason) for e in error.errors],
            total_errors=error.total,
        )


ImportPayload = Annotated[ImportSuccess | ImportFailed, strawberry.union("ImportPayload")]
