"""orders per link: orders, runs, customer links, the lease and the webhook queue get a link

Every row points at the install's first link (the one migration 0009 made); an order is unique
per link and Plug&Pay order id, a customer link per link and key, and the lease and the webhook
queue are keyed by link too, so that two links never share an order, a relation or a run.
Attempts belong to their order, and so to its link.

The downgrade refuses when an install has more than one link: their rows would collide.

Revision ID: 0010_orders_per_link
Revises: 0009_links
Create Date: 2026-12-04 16:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010_orders_per_link"
down_revision = "0009_links"
branch_labels = None
depends_on = None

API_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLES = ("order_record", "sync_run", "customer_link", "lease", "webhook_queue")


def _add_link_column(table: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.add_column(sa.Column("link_id", sa.Integer(), nullable=True))
    op.execute(sa.text(f"UPDATE {table} SET link_id = (SELECT min(id) FROM link)"))


def upgrade():
    for table in TABLES:
        _add_link_column(table)
    with op.batch_alter_table("order_record", schema=None) as batch_op:
        batch_op.alter_column("link_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint("uq_order_record_order_id", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_order_record_link_id"), ["link_id", "order_id"]
        )
        batch_op.create_index(batch_op.f("ix_order_record_link_id"), ["link_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_order_record_link_id_link"), "link", ["link_id"], ["id"]
        )
    with op.batch_alter_table("sync_run", schema=None) as batch_op:
        batch_op.alter_column("link_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f("ix_sync_run_link_id"), ["link_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_sync_run_link_id_link"), "link", ["link_id"], ["id"]
        )
    with op.batch_alter_table("customer_link", schema=None) as batch_op:
        batch_op.alter_column("link_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint("uq_customer_link_key", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_customer_link_link_id"), ["link_id", "key"]
        )
        batch_op.create_index(batch_op.f("ix_customer_link_link_id"), ["link_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_customer_link_link_id_link"), "link", ["link_id"], ["id"]
        )
    for table, key in (("lease", "name"), ("webhook_queue", "order_id")):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("link_id", existing_type=sa.Integer(), nullable=False)
            batch_op.drop_constraint(f"pk_{table}", type_="primary")
            batch_op.create_primary_key(f"pk_{table}", ["link_id", key])
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_link_id_link"), "link", ["link_id"], ["id"]
            )


def downgrade():
    conn = op.get_bind()
    links = conn.execute(sa.text("SELECT count(*) FROM link")).scalar()
    if links > 1:
        raise RuntimeError(
            f"This install has {links} links; the release before kept one link's orders. "
            "Restore a backup made before the upgrade instead."
        )
    for table, key in (("webhook_queue", "order_id"), ("lease", "name")):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_link_id_link"), type_="foreignkey")
            batch_op.drop_constraint(f"pk_{table}", type_="primary")
            batch_op.create_primary_key(f"pk_{table}", [key])
            batch_op.drop_column("link_id")
    with op.batch_alter_table("customer_link", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_customer_link_link_id_link"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_customer_link_link_id"))
        batch_op.drop_constraint(batch_op.f("uq_customer_link_link_id"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_customer_link_key"), ["key"])
        batch_op.drop_column("link_id")
    with op.batch_alter_table("sync_run", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_sync_run_link_id_link"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_sync_run_link_id"))
        batch_op.drop_column("link_id")
    with op.batch_alter_table("order_record", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_order_record_link_id_link"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_order_record_link_id"))
        batch_op.drop_constraint(batch_op.f("uq_order_record_link_id"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_order_record_order_id"), ["order_id"])
        batch_op.drop_column("link_id")
