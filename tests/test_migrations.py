"""Upgrading a database made by an earlier release keeps every row, and ends at the models."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from werkzeug.security import generate_password_hash

import pp2eb
from pp2eb import create_app
from pp2eb.extensions import db
from pp2eb.models import OrderRecord
from pp2eb.setup import access, appstate, connections, links, shopsettings, users
from pp2eb.states import Role
from tests.conftest import AuthActions

SCRIPTS = ScriptDirectory(str(Path(pp2eb.__file__).parent / "migrations"))
HEAD = SCRIPTS.get_current_head()
EARLIER = [rev.revision for rev in SCRIPTS.walk_revisions() if rev.revision != HEAD]
WHEN = datetime(2026, 3, 1, 12, 30, 15)
ROWS = 3
# Columns a later migration drops on purpose; their values do not survive, so are not compared.
DROPPED = {"sync_run": {"seen"}}  # 0008_drop_run_seen


@pytest.fixture
def fresh(tmp_path, monkeypatch, databases):
    """An app on an empty database (no migration applied yet): SQLite or PostgreSQL."""
    monkeypatch.setenv("PP2EB_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": databases.empty("old"),
        }
    )
    with app.app_context():
        yield app


def snapshot() -> dict[str, list[dict]]:
    """Every row of every table, by table, in id order, as plain values (less ``DROPPED``)."""
    meta = sa.MetaData()
    meta.reflect(db.engine)
    out = {}
    with db.engine.connect() as conn:
        for table in meta.sorted_tables:
            if table.name == "alembic_version":
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            dropped = DROPPED.get(table.name, set())
            out[table.name] = [
                {key: value for key, value in r._mapping.items() if key not in dropped}
                for r in conn.execute(table.select().order_by(*order))
            ]
    return out


def before_columns(rows: list[dict]) -> list[str]:
    """The columns a table had before the upgrade (new columns are left out of comparisons)."""
    return list(rows[0]) if rows else []


def _value(column: sa.Column, n: int):
    """A value for row ``n`` that fits ``column`` and differs per row (for unique columns)."""
    kind = column.type
    if column.foreign_keys or column.primary_key and isinstance(kind, sa.Integer):
        return n
    if isinstance(kind, sa.Boolean):
        return n % 2 == 0
    if isinstance(kind, sa.Integer):
        return 1000 + n
    if isinstance(kind, sa.DateTime):
        return WHEN.replace(minute=n)
    if isinstance(kind, sa.LargeBinary):
        return bytes(range(256)) * 2 + bytes([n])
    text = f"{column.name} {n} — ünïcødé 🧾 שלום"
    if isinstance(kind, sa.String) and kind.length:
        return text[: kind.length - 2] + f"{n:02d}"[-2:]
    return text * 50  # Text: long


def fill_every_table() -> None:
    """``ROWS`` rows in each table the database has now, parents before children; a row a
    migration made (the first link) is kept as it is and counts as one of them."""
    meta = sa.MetaData()
    meta.reflect(db.engine)
    with db.engine.begin() as conn:
        for table in meta.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = [{c.name: _value(c, n) for c in table.columns} for n in range(1, ROWS + 1)]
            key = list(table.primary_key.columns)
            there = {tuple(r) for r in conn.execute(sa.select(*key))} if key else set()
            rows = [row for row in rows if tuple(row[c.name] for c in key) not in there]
            conn.execute(table.insert(), rows)


@pytest.mark.parametrize("revision", EARLIER)
def test_every_row_of_an_earlier_release_survives_the_upgrade(fresh, revision):
    upgrade(revision=revision)
    fill_every_table()
    before = snapshot()
    assert before and all(len(rows) == ROWS for rows in before.values())
    upgrade()
    after = snapshot()
    for table, rows in before.items():
        kept = [{key: row[key] for key in before_columns(rows)} for row in after[table]]
        assert kept == rows, f"{table} changed in the upgrade from {revision}"


def test_the_release_before_with_real_data_upgrades_and_works(fresh):
    """A 0002 database (orders, runs, attempts, a login) upgraded: rows, defaults, pages."""
    upgrade(revision="0002")
    statements = [
        (
            # "user" quoted: a reserved word in PostgreSQL.
            'INSERT INTO "user" (id, username, password_hash, created_at)'
            " VALUES (1, 'anna', :h, :t)",
            {"h": generate_password_hash("old release password")},
        ),
        (
            "INSERT INTO sync_run (id, kind, status, started_at, seen, booked, skipped, failed,"
            " waiting, already_booked) VALUES (1, 'sync', 'finished', :t, 3, 1, 1, 1, 0, 0)",
            {},
        ),
    ]
    orders = [
        (101, "booked", "Café Ødegård & Zn", "121.00", None),
        (102, "failed", "<b>Jansen</b>", "60.50", "VAT rate NL 13% is not mapped."),
        (103, "skipped", "فاطمة", "0.00", "Test-mode order; only live orders are booked."),
    ]
    for i, (order_id, state, customer, amount, reason) in enumerate(orders, start=1):
        statements.append(
            (
                "INSERT INTO order_record (id, order_id, state, invoice_number, invoice_date,"
                " customer, amount_with_tax, reason, attempts, write_uncertain, first_seen_at,"
                " updated_at) VALUES (:id, :oid, :state, :num, '2026-02-03', :customer, :amount,"
                " :reason, 1, :no, :t, :t)",
                {
                    "id": i,
                    "oid": order_id,
                    "state": state,
                    "num": f"2026-{order_id:05d}",
                    "customer": customer,
                    "amount": amount,
                    "reason": reason,
                    "no": False,  # 0 on SQLite, false on PostgreSQL
                },
            )
        )
        statements.append(
            (
                "INSERT INTO attempt (order_record_id, run_id, at, outcome, message)"
                " VALUES (:id, 1, :t, :state, :reason)",
                {"id": i, "state": state, "reason": reason},
            )
        )
    with db.engine.begin() as conn:
        for sql, params in statements:
            conn.execute(sa.text(sql), {"t": WHEN, **params})
    before = snapshot()

    upgrade()
    after = snapshot()
    for table, rows in before.items():
        assert [{key: row[key] for key in before_columns(rows)} for row in after[table]] == rows
    assert [r["skipped_by_hand"] for r in after["order_record"]] == [False, False, False]
    # Every order, run and attempt is the first link's (attempts through their order).
    assert [r["name"] for r in after["link"]] == ["Plug&Pay"]
    assert {r["link_id"] for r in after["order_record"] + after["sync_run"]} == {1}
    assert after["app_state"] == []
    # The models read the old rows, and the old login still works.
    assert db.session.get(OrderRecord, 2).reason == "VAT rate NL 13% is not mapped."
    client = fresh.test_client()
    assert AuthActions(client).login("anna", "old release password").status_code == 302
    page = client.get("/orders").get_data(as_text=True)
    assert "Café Ødegård &amp; Zn" in page and "&lt;b&gt;Jansen&lt;/b&gt;" in page


def test_head_matches_the_models(fresh):
    upgrade()
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert differences == []


def test_downgrade_to_the_release_before_and_up_again_keeps_rows(fresh):
    upgrade(revision="0002")
    fill_every_table()
    before = snapshot()
    upgrade()
    downgrade(revision="0002")
    assert snapshot() == before
    upgrade()
    assert set(snapshot()) >= set(before)


def test_an_install_before_links_becomes_its_first_link_named_after_its_tenant(fresh):
    """A 0008 database (both keys, settings, a paused schedule, log-in facts) upgraded: one
    link named after the Plug&Pay tenant, and every key, setting and link fact is its own."""
    upgrade(revision="0008_drop_run_seen")
    credential = (
        "INSERT INTO credential (id, service, secret_encrypted, base_url, account_name,"
        " connected_at, checked_at) VALUES (:id, :service, :secret, 'http://x', :account, :t, :t)"
    )
    fact = "INSERT INTO app_state (key, value, updated_at) VALUES (:key, :value, :t)"
    statements = [
        (credential, {"id": 1, "service": "plugandpay", "account": "Café Ødegård (tenant 7)"}),
        (credential, {"id": 2, "service": "eboekhouden", "account": '{"ledgers": 3}'}),
        (
            "INSERT INTO shop_settings (id, data, updated_at) VALUES (1, :data, :t)",
            {"data": json.dumps({"start_date": "2026-02-01", "debtor_ledger": "1300"})},
        ),
        (fact, {"key": "schedule_paused", "value": "true"}),
        (fact, {"key": "setup_steps_saved", "value": '["ledgers", "vat"]'}),
        (fact, {"key": "export", "value": '{"since": "2026-01-01"}'}),
        (fact, {"key": "webhook_secret", "value": '"sealed"'}),
        (fact, {"key": "login:name:0123456789abcdef:aa", "value": "1"}),
    ]
    with db.engine.begin() as conn:
        for sql, params in statements:
            conn.execute(sa.text(sql), {"t": WHEN, "secret": b"sealed", **params})
    before = snapshot()

    upgrade()
    after = snapshot()
    assert [(r["id"], r["name"], r["removed_at"]) for r in after["link"]] == [
        (1, "Café Ødegård", None)
    ]
    for table in ("credential", "shop_settings"):
        kept = [{key: row[key] for key in before_columns(before[table])} for row in after[table]]
        assert kept == before[table]
        assert {row["link_id"] for row in after[table]} == {1}
    assert [r["key"] for r in after["app_state"]] == ["login:name:0123456789abcdef:aa"]
    assert {(r["link_id"], r["key"], r["value"]) for r in after["link_state"]} == {
        (1, "export", '{"since": "2026-01-01"}'),
        (1, "schedule_paused", "true"),
        (1, "setup_steps_saved", '["ledgers", "vat"]'),
        (1, "webhook_secret", '"sealed"'),  # the same address: 0013_webhook_per_link
    }
    # The app reads them as the link's.
    link = links.only()
    assert appstate.get(link, appstate.SCHEDULE_PAUSED) is True
    assert shopsettings.load_draft(link)["debtor_ledger"] == "1300"
    assert connections.get_credential(link, "plugandpay").account_name.startswith("Café")
    # A new link gets the next id on both databases (the first was given its id).
    assert links.add("Second").id == 2


def test_the_downgrade_refuses_an_install_with_two_links(fresh):
    upgrade()
    links.add("Second")
    db.session.remove()
    with pytest.raises(SystemExit):  # Flask-Migrate logs the error ("2 links") and exits
        downgrade(revision="0008_drop_run_seen")
    assert [r["name"] for r in snapshot()["link"]] == [links.PLACEHOLDER, "Second"]
    # PostgreSQL rolls the whole downgrade back; on SQLite the steps above the refusing one
    # (0011's) stay done. Either way the database still has its links.
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    down_to_refusal = [
        r.revision for r in SCRIPTS.iterate_revisions(HEAD, "0011_alerts_sent_per_link")
    ]
    assert current in down_to_refusal


def test_the_users_of_a_release_before_roles_become_admins_who_see_every_link(fresh):
    """A 0011 database with two users upgraded: both admins, no grants, and they log in."""
    upgrade(revision="0011_alerts_sent_per_link")
    with db.engine.begin() as conn:
        for n, name in enumerate(("anna", "piet"), start=1):
            conn.execute(
                sa.text(
                    'INSERT INTO "user" (id, username, password_hash, created_at)'
                    " VALUES (:id, :name, :hash, :t)"
                ),
                {"id": n, "name": name, "hash": generate_password_hash(f"{name}'s pw"), "t": WHEN},
            )
    upgrade()
    after = snapshot()
    assert [(r["username"], r["role"]) for r in after["user"]] == [
        ("anna", Role.ADMIN),
        ("piet", Role.ADMIN),
    ]
    assert after["link_grant"] == []
    links.add("Second")
    piet = users.find("piet")
    assert access.is_admin(piet)
    assert [link.name for link in access.links_for(piet)] == [links.PLACEHOLDER, "Second"]
    assert all(access.may_see(piet, link) for link in links.live())
    client = fresh.test_client()
    assert AuthActions(client).login("piet", "piet's pw").status_code == 302


def test_the_downgrade_refuses_while_a_member_exists_and_drops_roles_after(fresh):
    upgrade()
    users.add("anna", "anna's pw", Role.ADMIN)
    bob = users.add("bob", "bob's pw", Role.MEMBER)
    access.grant(bob, links.only())
    bob_id = bob.id
    db.session.remove()
    with pytest.raises(SystemExit):  # Flask-Migrate logs the error ("1 member(s)") and exits
        downgrade(revision="0011_alerts_sent_per_link")
    with db.engine.connect() as conn:
        # The steps above 0012 went down (SQLite keeps them; PostgreSQL rolls all back).
        assert MigrationContext.configure(conn).get_current_revision() in (
            HEAD,
            "0012_user_roles",
        )
    assert [(r["user_id"], r["link_id"]) for r in snapshot()["link_grant"]] == [(bob_id, 1)]

    users.remove(users.find("bob"))
    db.session.remove()
    downgrade(revision="0011_alerts_sent_per_link")
    after = snapshot()
    assert "link_grant" not in after
    assert [(r["username"], "role" in r) for r in after["user"]] == [("anna", False)]
