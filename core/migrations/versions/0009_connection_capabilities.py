"""What each connection's account offers, and its non-secret options.

``connections.capabilities`` (JSON list of core.sync.capabilities.Capability) with
``capabilities_checked_at`` (last discovery), and ``connections.options`` (JSON object of
the connector's option fields, stored unencrypted: they are settings, not secrets).

Revision ID: 0009_connection_capabilities
Revises: 0008_covering_metric_indexes
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import core.models.base

revision = "0009_connection_capabilities"
down_revision = "0008_covering_metric_indexes"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("capabilities", _json(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "capabilities_checked_at",
                core.models.base.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("options", _json(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.drop_column("options")
        batch_op.drop_column("capabilities_checked_at")
        batch_op.drop_column("capabilities")
