"""Declarative permissions for fields and mutations."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from api.context import Context


class IsAuthenticated(BasePermission):
    message = "missing or invalid API key: send 'Authorization: Bearer <api key>'"

    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        return info.context.viewer is not None


class CanWrite(BasePermission):
    message = "this API key's role cannot change data (editor or admin needed)"

    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        viewer = info.context.viewer
        return viewer is not None and viewer.can_write


class IsAdmin(BasePermission):
    message = "this API key's role cannot manage the organization (admin needed)"

    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        viewer = info.context.viewer
        return viewer is not None and viewer.is_admin
