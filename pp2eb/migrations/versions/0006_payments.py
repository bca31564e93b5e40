"""payments: the type-3 payment of a booked order, with its own intent and retry

Revision ID: 0006_payments
Revises: 0005_webhooks
Create Date: 2026-11-26 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006_payments"
down_revision = "0005_webhooks"
branch_labels = None
depends_on = None

# Ids from Plug&Pay and e-Boekhouden are 64-bit: BIGINT on PostgreSQL; on SQLite INTEGER, as
# this migration always made them there (64 bits already, and the row id as a key).
API_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table("order_record", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("payment_state", sa.String(length=10), server_default="none", nullable=False)
        )
        batch_op.add_column(sa.Column("payment_json", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("payment_mutation_id", API_ID, nullable=True))
        batch_op.add_column(sa.Column("payment_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("payment_error_code", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("payment_attempts", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("payment_next_attempt_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("payment_booked_at", sa.DateTime(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_order_record_payment_state"), ["payment_state"], unique=False
        )


def downgrade():
    with op.batch_alter_table("order_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_record_payment_state"))
        for column in (
            "payment_booked_at",
            "payment_next_attempt_at",
            "payment_attempts",
            "payment_error_code",
            "payment_reason",
            "payment_mutation_id",
            "payment_json",
            "payment_state",
        ):
            batch_op.drop_column(column)
