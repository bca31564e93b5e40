"""webhook queue

Revision ID: 0005_webhooks
Revises: 0004_alerts
Create Date: 2026-11-26 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005_webhooks"
down_revision = "0004_alerts"
branch_labels = None
depends_on = None

# Ids from Plug&Pay and e-Boekhouden are 64-bit: BIGINT on PostgreSQL; on SQLite INTEGER, as
# this migration always made them there (64 bits already, and the row id as a key).
API_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "webhook_queue",
        sa.Column("order_id", API_ID, autoincrement=False, nullable=False),
        sa.Column("trigger_type", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_webhook_queue")),
    )
    with op.batch_alter_table("webhook_queue", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_queue_received_at"), ["received_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("webhook_queue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_queue_received_at"))

    op.drop_table("webhook_queue")
