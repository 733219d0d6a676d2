"""The ways in: the FastAPI app, the GraphQL schema, webhooks, the dashboard and the CLI.

``create_app`` is imported on first use, not here: every ``crmkpi`` command imports this
package, and most of them (org, key, connection, sync) need neither FastAPI nor the schema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from api.app import create_app

        return create_app
    raise AttributeError(f"module 'api' has no attribute {name!r}")
