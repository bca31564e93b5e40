"""eu sale per order: what an order adds to the OSS threshold, kept with its record

Two columns on ``order_record``: the buyer's EU country and the net amount when the order counts
towards the OSS threshold ("" when it does not). They stay empty (NULL) for the records made
before: ``pp2eb.reports.oss_watch`` works each of those out once, from its JSON, and keeps it.

Revision ID: 0014_eu_sale_per_order
Revises: 0013_webhook_per_link
Create Date: 2026-12-04 18:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014_eu_sale_per_order"
down_revision = "0013_webhook_per_link"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("order_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("eu_sale_country", sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column("eu_sale_net", sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table("order_record", schema=None) as batch_op:
        batch_op.drop_column("eu_sale_net")
        batch_op.drop_column("eu_sale_country")
