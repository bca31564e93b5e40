"""user roles: an admin or a member, and the links granted to members

Every user gets a role. The users already there become admins: before roles every user could
see and change everything, and an upgrade takes nothing away from anyone. ``link_grant`` holds
the links a member may see, one row per user and link.

The downgrade refuses while a member exists: the release before would give them every link.

Revision ID: 0012_user_roles
Revises: 0011_alerts_sent_per_link
Create Date: 2026-12-04 17:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012_user_roles"
down_revision = "0011_alerts_sent_per_link"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=10), nullable=True))
    # "user" quoted: a reserved word in PostgreSQL.
    op.execute(sa.text("UPDATE \"user\" SET role = 'admin'"))
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.alter_column("role", existing_type=sa.String(length=10), nullable=False)

    op.create_table(
        "link_grant",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("granted_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["link_id"], ["link.id"], name=op.f("fk_link_grant_link_id_link")),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_link_grant_user_id_user")),
        sa.PrimaryKeyConstraint("user_id", "link_id", name=op.f("pk_link_grant")),
    )
    with op.batch_alter_table("link_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_grant_link_id"), ["link_id"], unique=False)


def downgrade():
    conn = op.get_bind()
    members = conn.execute(sa.text("SELECT count(*) FROM \"user\" WHERE role <> 'admin'")).scalar()
    if members:
        raise RuntimeError(
            f"This install has {members} member(s); the release before would show them every "
            "link. Remove them first (flask users remove NAME)."
        )
    with op.batch_alter_table("link_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_grant_link_id"))
    op.drop_table("link_grant")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("role")
