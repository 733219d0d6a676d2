"""Stage history indexed by (connection, deal, entered_at).

The weighted pipeline as of a past instant looks up, per open deal, the last stage entered
before that instant. With only (connection, deal) indexed SQLite's planner preferred the
(workspace, entered_at) index and scanned the workspace's history once per deal: minutes
for 20k deals. With entered_at in the index the look-up is one seek on both databases.

Revision ID: 0007_stage_history_entered_index
Revises: 0003_platform
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0007_stage_history_entered_index"
down_revision = "0003_platform"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_stage_history_conn_deal_entered",
        "deal_stage_history",
        ["connection_id", "deal_remote_id", "entered_at"],
    )
    op.drop_index("ix_stage_history_conn_deal", table_name="deal_stage_history")


def downgrade() -> None:
    op.create_index(
        "ix_stage_history_conn_deal", "deal_stage_history", ["connection_id", "deal_remote_id"]
    )
    op.drop_index("ix_stage_history_conn_deal_entered", table_name="deal_stage_history")
