"""rounding mode: how the e-Boekhouden administration rounds VAT, stored with its connection

Revision ID: 0007_rounding_mode
Revises: 0006_payments
Create Date: 2026-12-04 12:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007_rounding_mode"
down_revision = "0006_payments"
branch_labels = None
depends_on = None


def upgrade():
    # Empty on an existing connection: pp2eb learns the rounding from a booking it reads back,
    # an earlier one in the administration first (pp2eb/engine/vat_rounding.py).
    with op.batch_alter_table("credential", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vat_rounding", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("vat_rounding_by", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("vat_rounding_from", sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table("credential", schema=None) as batch_op:
        batch_op.drop_column("vat_rounding_from")
        batch_op.drop_column("vat_rounding_by")
        batch_op.drop_column("vat_rounding")
