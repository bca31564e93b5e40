"""links: the keys, settings and wizard progress of an install become its first link's

A link ("koppeling") is one Plug&Pay account booked into one e-Boekhouden administration. This
migration makes the ``link`` table and always its first link, so that an install has one link
from the start, as before:

* named after the Plug&Pay tenant when a Plug&Pay key is stored (the connection check stored
  the tenant as ``"NAME (tenant ID)"`` in ``credential.account_name``);
* else named ``Plug&Pay``, a placeholder that the next successful Plug&Pay connection check
  renames to the tenant's name (``pp2eb.setup.links.name_after_tenant``).

Every credential and the shop settings point at it (``link_id``, not null); a credential is
unique per link and service. The facts of ``app_state`` that belong to a link (the schedule's
pause, the last export, the wizard's saved steps) move to ``link_state``; the install-wide ones
(failed log-ins, ended sessions, the webhook's secret and last call) stay.

The downgrade refuses when an install has more than one link: their rows would collide.

Revision ID: 0009_links
Revises: 0008_drop_run_seen
Create Date: 2026-12-04 15:30:00.000000

"""

import re
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009_links"
down_revision = "0008_drop_run_seen"
branch_labels = None
depends_on = None

PLACEHOLDER = "Plug&Pay"
LINK_KEYS = ("schedule_paused", "export", "setup_steps_saved")
_TENANT = re.compile(r"^(?P<name>.+) \(tenant [^()]*\)$")

link = sa.table(
    "link",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("created_at", sa.DateTime),
)


def _first_name(conn) -> str:
    """The Plug&Pay tenant's name when a Plug&Pay key is stored, else the placeholder."""
    stored = conn.execute(
        sa.text("SELECT account_name FROM credential WHERE service = 'plugandpay'")
    ).scalar()
    found = _TENANT.match(stored or "")
    name = found["name"].strip()[:120] if found else ""
    return name or PLACEHOLDER


def upgrade():
    op.create_table(
        "link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link")),
        sa.UniqueConstraint("name", name=op.f("uq_link_name")),
    )
    conn = op.get_bind()
    now = datetime.now(UTC).replace(tzinfo=None)
    conn.execute(link.insert().values(id=1, name=_first_name(conn), created_at=now))
    if conn.dialect.name == "postgresql":
        # The row was given its id: the sequence must go on after it.
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('link', 'id'), 1)"))

    for table in ("credential", "shop_settings"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("link_id", sa.Integer(), nullable=True))
        conn.execute(sa.text(f"UPDATE {table} SET link_id = 1"))
    with op.batch_alter_table("credential", schema=None) as batch_op:
        batch_op.alter_column("link_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint("uq_credential_service", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_credential_link_id"), ["link_id", "service"]
        )
        batch_op.create_index(batch_op.f("ix_credential_link_id"), ["link_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_credential_link_id_link"), "link", ["link_id"], ["id"]
        )
    with op.batch_alter_table("shop_settings", schema=None) as batch_op:
        batch_op.alter_column("link_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f("ix_shop_settings_link_id"), ["link_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_shop_settings_link_id_link"), "link", ["link_id"], ["id"]
        )

    op.create_table(
        "link_state",
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["link_id"], ["link.id"], name=op.f("fk_link_state_link_id_link")),
        sa.PrimaryKeyConstraint("link_id", "key", name=op.f("pk_link_state")),
    )
    keys = sa.bindparam("keys", expanding=True)
    conn.execute(
        sa.text(
            "INSERT INTO link_state (link_id, key, value, updated_at)"
            " SELECT 1, key, value, updated_at FROM app_state WHERE key IN :keys"
        ).bindparams(keys),
        {"keys": list(LINK_KEYS)},
    )
    conn.execute(
        sa.text("DELETE FROM app_state WHERE key IN :keys").bindparams(keys),
        {"keys": list(LINK_KEYS)},
    )


def downgrade():
    conn = op.get_bind()
    links = conn.execute(sa.text("SELECT count(*) FROM link")).scalar()
    if links > 1:
        raise RuntimeError(
            f"This install has {links} links; the release before kept one. Remove the others' "
            "rows first (or restore a backup made before the upgrade)."
        )
    conn.execute(
        sa.text(
            "INSERT INTO app_state (key, value, updated_at)"
            " SELECT key, value, updated_at FROM link_state"
        )
    )
    op.drop_table("link_state")
    with op.batch_alter_table("shop_settings", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_shop_settings_link_id_link"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_shop_settings_link_id"))
        batch_op.drop_column("link_id")
    with op.batch_alter_table("credential", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_credential_link_id_link"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_credential_link_id"))
        batch_op.drop_constraint(batch_op.f("uq_credential_link_id"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_credential_service"), ["service"])
        batch_op.drop_column("link_id")
    op.drop_table("link")
