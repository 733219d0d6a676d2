"""Customer stretches carry the end of the customer's previous stretch (``prev_end_day``).

Retention counts a customer new in a period as retained when an earlier stretch held the
day before the period. Asked of every such customer, that was an index probe per row (about
2,500 per churn + retention request with comparison at 50k accounts, half the statement's
time). The stretches of a customer never overlap, so an earlier one can hold that day only
when the previous one ends after it: with this column the probe runs only for customers
lost and won back within the period (core.metrics.customers): 300 probes instead of 2,600.

The column is filled here in plain SQL from the stretches already stored (the sync keeps
it from then on, core.metrics.stretch_refresh); no application code is imported.

Revision ID: 0015_customer_paths
Revises: 0012_customer_stretches
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_customer_paths"
down_revision = "0012_customer_stretches"
branch_labels = None
depends_on = None

#: The previous stretch of a customer ends last among its earlier stretches.
_FILL = """
UPDATE customer_stretches SET prev_end_day = (
    SELECT max(earlier.end_day) FROM customer_stretches AS earlier
    WHERE earlier.connection_id = customer_stretches.connection_id
        AND earlier.customer = customer_stretches.customer
        AND earlier.start_day < customer_stretches.start_day
)
"""


def upgrade() -> None:
    op.add_column("customer_stretches", sa.Column("prev_end_day", sa.Integer(), nullable=True))
    op.execute(sa.text(_FILL))


def downgrade() -> None:
    with op.batch_alter_table("customer_stretches") as batch:
        batch.drop_column("prev_end_day")
