"""Alembic environment: always driven through core.migrate with an open connection."""

from __future__ import annotations

from alembic import context

from core.migrate import include_name
from core.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by calling the alembic CLI directly
    raise RuntimeError("run migrations with `crmkpi db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
