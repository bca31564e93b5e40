"""alerts sent per link: an alert is claimed once per link, problem and day

The alerts already sent become the first link's. The alert settings (the SMTP server, the
recipients) stay the install's for now.

The downgrade refuses when an install has more than one link: their rows would collide.

Revision ID: 0011_alerts_sent_per_link
Revises: 0010_orders_per_link
Create Date: 2026-12-04 16:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011_alerts_sent_per_link"
down_revision = "0010_orders_per_link"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("alert_sent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("link_id", sa.Integer(), nullable=True))
    op.execute(sa.text("UPDATE alert_sent SET link_id = (SELECT min(id) FROM link)"))
    with op.batch_alter_table("alert_sent", schema=None) as batch_op:
        batch_op.alter_column("link_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint("uq_alert_sent_problem", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_alert_sent_link_id"), ["link_id", "problem", "day"]
        )
        batch_op.create_index(batch_op.f("ix_alert_sent_link_id"), ["link_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_alert_sent_link_id_link"), "link", ["link_id"], ["id"]
        )


def downgrade():
    conn = op.get_bind()
    links = conn.execute(sa.text("SELECT count(*) FROM link")).scalar()
    if links > 1:
        raise RuntimeError(
            f"This install has {links} links; the release before kept one link's alerts. "
            "Restore a backup made before the upgrade instead."
        )
    with op.batch_alter_table("alert_sent", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_alert_sent_link_id_link"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_alert_sent_link_id"))
        batch_op.drop_constraint(batch_op.f("uq_alert_sent_link_id"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_alert_sent_problem"), ["problem", "day"])
        batch_op.drop_column("link_id")
