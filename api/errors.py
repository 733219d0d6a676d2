"""Which errors a GraphQL caller may see; everything else is masked and logged with an id."""

from __future__ import annotations

import contextlib
import uuid

import structlog
from graphql import GraphQLError
from sqlalchemy.exc import StatementError

from core.errors import CrmkpiError

_log = structlog.get_logger(__name__)


class UserFacingError(CrmkpiError):
    """An error whose message is meant for the API caller."""


class AuthenticationError(UserFacingError):
    pass


class InvalidApiKey(AuthenticationError):
    """The request names a key that does not authenticate (HTTP 401, api.app)."""


class PermissionDeniedError(UserFacingError):
    pass


#: The id an exception was logged under, kept on the exception itself.
_ERROR_ID = "_crmkpi_error_id"


def should_mask_error(error: GraphQLError) -> bool:
    """Mask anything that is not ours to show: stack traces, SQL and driver errors stay here.

    Logged once per exception: the KPI fields of one metrics batch share their batch's
    exception (a DataLoader), and fifty copies of one traceback were hundreds of MB. A
    database error is logged as the driver's error, never with the SQL text or parameters
    (SQLAlchemy puts both in its message: a metrics statement is megabytes)."""
    original = error.original_error
    if original is None:  # validation and parsing errors of the query itself
        return False
    if isinstance(original, CrmkpiError | GraphQLError):  # ours, or a permission refusal
        return False
    error_id = getattr(original, _ERROR_ID, None)
    if error_id is None:
        error_id = uuid.uuid4().hex[:12]
        with contextlib.suppress(AttributeError):
            setattr(original, _ERROR_ID, error_id)
        if isinstance(original, StatementError):
            cause = original.orig
            _log.error(
                "graphql.database_error",
                error_id=error_id,
                path=error.path,
                error=f"{type(cause).__name__}: {str(cause)[:300]}",
            )
        else:
            _log.error(
                "graphql.internal_error", error_id=error_id, path=error.path, exc_info=original
            )
    error.extensions = {**(error.extensions or {}), "errorId": error_id}
    return True
