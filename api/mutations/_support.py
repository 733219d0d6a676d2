"""What every mutation shares: the error interface of its result union, and running it.

Each mutation (one file each) returns ``XxxSuccess | XxxError``; expected refusals (not
found, invalid input, forbidden) are data in the union, with a code a client can switch
on. Unexpected failures stay GraphQL errors, masked by api.errors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any, Self, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from api.context import Context
from api.errors import PermissionDeniedError
from core.egress import AddressNotAllowed
from core.errors import CrmkpiError, NotFoundError, ValidationError

T = TypeVar("T")


@strawberry.enum(description="Why a mutation changed nothing.")
class ErrorCode(Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"
    FORBIDDEN = "FORBIDDEN"
    FAILED = "FAILED"
    ADDRESS_NOT_ALLOWED = "ADDRESS_NOT_ALLOWED"


def error_code(exc: CrmkpiError) -> ErrorCode:
    if isinstance(exc, AddressNotAllowed):
        return ErrorCode.ADDRESS_NOT_ALLOWED
    if isinstance(exc, NotFoundError):
        return ErrorCode.NOT_FOUND
    if isinstance(exc, ValidationError):
        return ErrorCode.INVALID
    if isinstance(exc, PermissionDeniedError):
        return ErrorCode.FORBIDDEN
    return ErrorCode.FAILED


@strawberry.interface(description="A mutation's refusal: nothing was changed.")
class MutationError:
    message: str = strawberry.field(description="What was wrong, for a person to read.")
    code: ErrorCode = strawberry.field(description="What was wrong, for a program.")

    @classmethod
    def from_error(cls, exc: CrmkpiError) -> Self:
        return cls(message=str(exc), code=error_code(exc))


async def apply(
    context: Context, change: Callable[[AsyncSession], Awaitable[T]]
) -> T | CrmkpiError:
    """Run one change in its own transaction; a refusal comes back as the error itself."""
    try:
        return await context.session.write(change)
    except CrmkpiError as exc:
        return exc


def require_unrestricted(context: Context, action: str) -> None:
    """Organization-wide actions need a key that is not limited to some workspaces."""
    if context.require_viewer().restricted:
        raise PermissionDeniedError(f"an API key limited to some workspaces cannot {action}")


def present(changes: dict[str, Any]) -> dict[str, Any]:
    """The input fields the caller set (unset optional fields are None)."""
    return {k: v for k, v in changes.items() if v is not None}
