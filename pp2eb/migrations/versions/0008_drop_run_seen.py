"""drop sync_run.seen: no run ever counted into it, and nothing read it

Revision ID: 0008_drop_run_seen
Revises: 0007_rounding_mode
Create Date: 2026-12-04 14:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008_drop_run_seen"
down_revision = "0007_rounding_mode"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("sync_run", schema=None) as batch_op:
        batch_op.drop_column("seen")


def downgrade():
    # The column comes back as 0 on every run: its values are gone with the upgrade.
    with op.batch_alter_table("sync_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seen", sa.Integer(), server_default="0", nullable=False))
