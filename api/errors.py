"""Which errors a GraphQL caller may see; everything else is masked and logged with an id."""

from __future__ import annotations

import uuid

import structlog
from graphql import GraphQLError

from core.errors import CrmkpiError

_log = structlog.get_logger(__name__)


class UserFacingError(CrmkpiError):
    """An error whose message is meant for the API caller."""


class AuthenticationError(UserFacingError):
    pass


class PermissionDeniedError(UserFacingError):
    pass


def should_mask_error(error: GraphQLError) -> bool:
    """Mask anything that is not ours to show: stack traces, SQL and driver errors stay here."""
    original = error.original_error
    if original is None:  # validation and parsing errors of the query itself
        return False
    if isinstance(original, CrmkpiError | GraphQLError):  # ours, or a permission refusal
        return False
    error_id = uuid.uuid4().hex[:12]
    _log.error("graphql.internal_error", error_id=error_id, path=error.path, exc_info=original)
    error.extensions = {**(error.extensions or {}), "errorId": error_id}
    return True
