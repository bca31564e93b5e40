"""webhook per link: the webhook's secret and its last call become the first link's

Each link has its own webhook address: its secret (and the moment of the last webhook) moves
from the install's ``app_state`` to the link's ``link_state``. The stored value is the same
encrypted text, so the address Plug&Pay calls keeps working.

The downgrade moves them back, and refuses when an install has more than one link.

Revision ID: 0013_webhook_per_link
Revises: 0012_user_roles
Create Date: 2026-12-04 18:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013_webhook_per_link"
down_revision = "0012_user_roles"
branch_labels = None
depends_on = None

KEYS = ("webhook_secret", "webhook_last")


def upgrade():
    conn = op.get_bind()
    first = conn.execute(sa.text("SELECT min(id) FROM link")).scalar()
    for key in KEYS:
        row = conn.execute(
            sa.text("SELECT value, updated_at FROM app_state WHERE key = :key"), {"key": key}
        ).first()
        if row is None:
            continue
        if first is not None:
            conn.execute(
                sa.text(
                    "INSERT INTO link_state (link_id, key, value, updated_at) "
                    "VALUES (:link, :key, :value, :at)"
                ),
                {"link": first, "key": key, "value": row.value, "at": row.updated_at},
            )
        conn.execute(sa.text("DELETE FROM app_state WHERE key = :key"), {"key": key})


def downgrade():
    conn = op.get_bind()
    links = conn.execute(sa.text("SELECT count(*) FROM link")).scalar()
    if links > 1:
        raise RuntimeError(
            f"This install has {links} links; the release before had one webhook address. "
            "Restore a backup made before the upgrade instead."
        )
    for key in KEYS:
        row = conn.execute(
            sa.text("SELECT value, updated_at FROM link_state WHERE key = :key"), {"key": key}
        ).first()
        if row is None:
            continue
        conn.execute(
            sa.text("INSERT INTO app_state (key, value, updated_at) VALUES (:key, :value, :at)"),
            {"key": key, "value": row.value, "at": row.updated_at},
        )
        conn.execute(sa.text("DELETE FROM link_state WHERE key = :key"), {"key": key})
